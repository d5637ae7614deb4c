//! Checks about what the service says of itself: description, owners,
//! on-call, SLOs.

use schemars::JsonSchema;
use serde::Deserialize;

use super::manifest_location;
use super::section::ServiceFacts;
use crate::check::{Check, Context, NoParams, Outcome, ParamsError, Status};

/// Catalog annotations that name an on-call/paging integration.
const ONCALL_ANNOTATIONS: &[&str] = &[
    "pagerduty.com/service-id",
    "pagerduty.com/integration-key",
    "opsgenie.com/component-selector",
    "opsgenie.com/team",
    "splunk.com/on-call-routing-key",
    "incident.io/service",
    "grafana.com/oncall-team",
];

pub struct ServiceDescribed;

impl Check for ServiceDescribed {
    type Section = ServiceFacts;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "service-described"
    }
    fn summary(&self) -> &'static str {
        "The service describes itself: a readygate.yaml manifest or a Backstage catalog Component."
    }
    fn run(&self, service: &ServiceFacts, _: &NoParams, _: &Context) -> Vec<Outcome> {
        if let Some(m) = &service.manifest {
            return vec![
                Outcome::pass(format!("manifest for `{}`", m.manifest.service))
                    .at(m.location.clone()),
            ];
        }
        if let Some(c) = service.catalog.iter().find(|c| c.kind == "Component") {
            return vec![Outcome::pass("Backstage catalog Component").at(c.location.clone())];
        }
        vec![Outcome::fail(
            "no readygate.yaml and no Backstage catalog-info.yaml Component",
        )]
    }
}

pub struct OwnersDefined;

impl Check for OwnersDefined {
    type Section = ServiceFacts;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "owners-defined"
    }
    fn summary(&self) -> &'static str {
        "Someone owns the service: manifest `owners`, a catalog `spec.owner`, or a CODEOWNERS default owner."
    }
    fn run(&self, service: &ServiceFacts, _: &NoParams, _: &Context) -> Vec<Outcome> {
        if let Some(m) = service
            .manifest
            .as_ref()
            .filter(|m| !m.manifest.owners.is_empty())
        {
            return vec![
                Outcome::pass(format!("owners: {}", m.manifest.owners.join(", ")))
                    .at(m.location.clone()),
            ];
        }
        if let Some(c) = service.catalog.iter().find(|c| c.owner.is_some()) {
            let owner = c.owner.as_deref().unwrap_or_default();
            return vec![Outcome::pass(format!("catalog owner: {owner}")).at(c.location.clone())];
        }
        if let Some(c) = service.codeowners.as_ref().filter(|c| c.has_default_owner) {
            return vec![
                Outcome::pass("CODEOWNERS gives every file an owner").at(c.location.clone()),
            ];
        }
        let out = Outcome::fail(
            "no owner: manifest `owners` is empty, no catalog owner, no CODEOWNERS `*` rule",
        );
        vec![match manifest_location(service) {
            Some(loc) => out.at(loc),
            None => out,
        }]
    }
}

pub struct CodeownersPresent;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeownersParams {
    /// Require a `*` rule with owners, so every file has a reviewer.
    #[serde(default = "yes")]
    require_default_owner: bool,
}

fn yes() -> bool {
    true
}

impl Default for CodeownersParams {
    fn default() -> Self {
        Self {
            require_default_owner: true,
        }
    }
}

impl Check for CodeownersPresent {
    type Section = ServiceFacts;
    type Params = CodeownersParams;

    fn id(&self) -> &'static str {
        "codeowners-present"
    }
    fn summary(&self) -> &'static str {
        "A CODEOWNERS file routes reviews (in .github/, the root or docs/), by default with a `*` rule."
    }
    fn run(&self, service: &ServiceFacts, p: &CodeownersParams, _: &Context) -> Vec<Outcome> {
        let Some(c) = &service.codeowners else {
            return vec![Outcome::fail(
                "no CODEOWNERS in .github/, the root or docs/",
            )];
        };
        let ok = c.has_default_owner || !p.require_default_owner;
        vec![
            Outcome::when(
                ok,
                format!("{} ownership rule(s)", c.rules.len()),
                "CODEOWNERS has no `*` rule, so some files have no reviewer",
            )
            .at(c.location.clone()),
        ]
    }
}

pub struct OncallDefined;

impl Check for OncallDefined {
    type Section = ServiceFacts;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "oncall-defined"
    }
    fn summary(&self) -> &'static str {
        "Someone is paged: manifest `oncall`, or a PagerDuty/Opsgenie/incident.io annotation in the catalog."
    }
    fn run(&self, service: &ServiceFacts, _: &NoParams, _: &Context) -> Vec<Outcome> {
        if let Some(m) = &service.manifest
            && let Some(oncall) = &m.manifest.oncall
        {
            return vec![
                Outcome::pass(format!("on-call via {}", oncall.provider)).at(m.location.clone()),
            ];
        }
        for c in &service.catalog {
            if let Some(a) = ONCALL_ANNOTATIONS
                .iter()
                .find(|a| c.annotations.contains_key(**a))
            {
                return vec![
                    Outcome::pass(format!("catalog annotation {a}")).at(c.location.clone()),
                ];
            }
        }
        let out = Outcome::fail(
            "no on-call: no manifest `oncall` and no paging annotation in catalog-info.yaml",
        );
        vec![match manifest_location(service) {
            Some(loc) => out.at(loc),
            None => out,
        }]
    }
}

pub struct SloDefined;

#[derive(Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SloParams {
    /// Each SLO's stated objective must reach this fraction (e.g. 0.99).
    min_objective: Option<f64>,
}

impl Check for SloDefined {
    type Section = ServiceFacts;
    type Params = SloParams;

    fn id(&self) -> &'static str {
        "slo-defined"
    }
    fn summary(&self) -> &'static str {
        "At least one SLO is defined (manifest, OpenSLO, Sloth or Pyrra), optionally with a minimum objective."
    }
    fn validate(&self, p: &SloParams) -> Result<(), ParamsError> {
        match p.min_objective {
            Some(m) if !(0.0..=1.0).contains(&m) => Err(ParamsError(
                "`min_objective` is a fraction between 0 and 1".into(),
            )),
            _ => Ok(()),
        }
    }
    fn run(&self, service: &ServiceFacts, p: &SloParams, _: &Context) -> Vec<Outcome> {
        if service.slos.is_empty() {
            return vec![Outcome::fail("no SLO defined")];
        }
        let Some(min) = p.min_objective else {
            let first = &service.slos[0];
            return vec![
                Outcome::pass(format!("{} SLO(s)", service.slos.len())).at(first.location.clone()),
            ];
        };
        service
            .slos
            .iter()
            .map(|slo| {
                let out = match slo.objective {
                    Some(o) => Outcome::when(
                        o >= min,
                        format!("objective {o} ≥ {min}"),
                        format!("objective {o} is below the required {min}"),
                    ),
                    None => Outcome::new(Status::Unknown, "the SLO states no objective"),
                };
                out.target(&slo.name).at(slo.location.clone())
            })
            .collect()
    }
}

pub struct TierDeclared;

impl Check for TierDeclared {
    type Section = ServiceFacts;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "tier-declared"
    }
    fn summary(&self) -> &'static str {
        "readygate.yaml declares the service's tier, which decides the level a release needs."
    }
    fn run(&self, service: &ServiceFacts, _: &NoParams, ctx: &Context) -> Vec<Outcome> {
        // What the missing tier means for this run: `--tier` may set it.
        let effect = match ctx.tier {
            Some(t) => {
                format!("this run uses tier {t} from --tier, the repository does not say it")
            }
            None => "the lowest requirement applies".to_string(),
        };
        match &service.manifest {
            // One missing file is one finding: service.described says it.
            None => vec![Outcome::skip(format!(
                "no readygate.yaml (see service.described): {effect}"
            ))],
            Some(m) => match m.manifest.tier {
                Some(tier) => vec![Outcome::pass(format!("tier {tier}")).at(m.location.clone())],
                None => vec![
                    Outcome::fail(format!("readygate.yaml declares no `tier`: {effect}"))
                        .at(m.location.clone()),
                ],
            },
        }
    }
}
