//! The registry of evidence areas, and the evidence document they make
//! together. Adding an area is one folder under `src/area/`, one line in
//! [`AREAS`] and one field of [`Evidence`]: the line binds the area to its
//! field, which gives the walk its kinds, the scan its collector and
//! assembly, the probe runner its probes, and the policy its checks.

use std::sync::{LazyLock, Mutex};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::check::{self, Context, Outcome, Params, ParamsError, SectionCheck};
use crate::contract::{Area, Assembly};
use crate::document::{DocKind, Document, KindSpec, Sink};
#[allow(unused_imports)] // named by a doc comment that is also the schema text
use crate::evidence::EVIDENCE_VERSION;
use crate::evidence::{FileStats, Problem};
use crate::probe::{ProbeError, Probes};

pub mod alerts;
pub mod ci;
pub mod flags;
pub mod iac;
pub mod rollout;
pub mod service;
pub mod tests;
pub mod tls;

// The evidence document: everything the collectors found, each fact with
// its location. It is the only thing rules read, it is serializable
// (`readygate evidence`) and its JSON Schema is generated from these types
// (so no doc comment here: it would become the schema's description).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    /// Version of this document's shape ([`EVIDENCE_VERSION`]).
    pub evidence_version: u32,
    /// The readygate version that produced it.
    pub generator: String,
    pub files: FileStats,
    /// Which files are production, tests, examples or vendored code: all
    /// are collected; the built-in rules judge production.
    pub scopes: crate::evidence::scope::Scopes,
    pub service: service::ServiceFacts,
    pub iac: iac::Iac,
    pub ci: ci::Ci,
    pub alerts: alerts::Alerts,
    pub flags: flags::Flags,
    pub rollout: rollout::Rollout,
    pub tests: tests::Tests,
    pub tls: tls::Tls,
    /// Files that look like evidence but could not be used: unparseable,
    /// over the size cap, unreadable, not UTF-8, symlinks out of the tree.
    pub problems: Vec<Problem>,
}

/// Every area, each bound to its section of [`Evidence`]. The order is the
/// order checks are listed in the docs.
pub static AREAS: &[&dyn Registered] = &[
    &Bound {
        area: ci::CiArea,
        section: |ev| &ev.ci,
        section_mut: |ev| &mut ev.ci,
    },
    &Bound {
        area: service::ServiceArea,
        section: |ev| &ev.service,
        section_mut: |ev| &mut ev.service,
    },
    &Bound {
        area: iac::IacArea,
        section: |ev| &ev.iac,
        section_mut: |ev| &mut ev.iac,
    },
    &Bound {
        area: alerts::AlertsArea,
        section: |ev| &ev.alerts,
        section_mut: |ev| &mut ev.alerts,
    },
    &Bound {
        area: flags::FlagsArea,
        section: |ev| &ev.flags,
        section_mut: |ev| &mut ev.flags,
    },
    &Bound {
        area: rollout::RolloutArea,
        section: |ev| &ev.rollout,
        section_mut: |ev| &mut ev.rollout,
    },
    &Bound {
        area: tests::TestsArea,
        section: |ev| &ev.tests,
        section_mut: |ev| &mut ev.tests,
    },
    &Bound {
        area: tls::TlsArea,
        section: |ev| &ev.tls,
        section_mut: |ev| &mut ev.tls,
    },
];

impl Evidence {
    /// The named top-level fields as JSON, each serialized on its own (an
    /// expression that reads `evidence.service` does not pay for 10 000
    /// workloads); unknown names are left out.
    pub fn fields_json(&self, names: &std::collections::BTreeSet<String>) -> Json {
        let mut out = serde_json::Map::new();
        for name in names {
            let value = match name.as_str() {
                "evidence_version" => serde_json::to_value(self.evidence_version).ok(),
                "generator" => serde_json::to_value(&self.generator).ok(),
                "files" => serde_json::to_value(&self.files).ok(),
                "scopes" => serde_json::to_value(&self.scopes).ok(),
                "problems" => serde_json::to_value(&self.problems).ok(),
                area => AREAS
                    .iter()
                    .find(|a| a.name() == area)
                    .map(|a| a.section_json(self)),
            };
            if let Some(v) = value {
                out.insert(name.clone(), v);
            }
        }
        Json::Object(out)
    }
}

/// An area bound to its field of the evidence document.
pub struct Bound<A: Area> {
    pub area: A,
    pub section: fn(&Evidence) -> &A::Section,
    pub section_mut: fn(&mut Evidence) -> &mut A::Section,
}

/// An area as the scan drives it, its types erased.
pub trait Registered: Sync {
    fn name(&self) -> &'static str;
    fn kinds(&self) -> &'static [KindSpec];
    /// The kinds it reads (its own and shared ones).
    fn reading(&self) -> &'static [DocKind];
    fn reads(&self, kind: DocKind) -> bool {
        self.reading().contains(&kind)
    }
    /// A collector for one scan.
    fn start(&'static self) -> Box<dyn Collecting>;
    fn probe(&self, ev: &mut Evidence, probes: &Probes) -> Result<(), ProbeError>;
    fn checks(&'static self) -> Vec<Box<dyn AnyCheck>>;
    /// Its section of `ev` as JSON (for expressions that read it).
    fn section_json(&self, ev: &Evidence) -> Json;
}

/// One area's collection during one scan: documents in (from any thread),
/// then its section out.
pub trait Collecting: Sync {
    fn collect(&self, doc: &Document);
    /// The files the documents collected so far name as evidence; each
    /// call hands over the new ones.
    fn take_named(&self) -> Vec<crate::document::Named>;
    /// Assemble the section into `ev`; the documents' problems join
    /// `ev.problems`.
    fn finish(self: Box<Self>, ctx: &Assembly, ev: &mut Evidence);
}

struct Collector<A: Area> {
    bound: &'static Bound<A>,
    sink: Mutex<Sink<A::Fact>>,
}

/// Most facts (alerts, objects, resources) one document may give an area.
pub const MAX_FACTS_PER_DOCUMENT: usize = 10_000;
/// Most facts one area may collect in a run.
pub const MAX_FACTS_PER_RUN: usize = 50_000;
/// Most problems one document may report to an area; the rest are counted.
pub const MAX_PROBLEMS_PER_DOCUMENT: usize = 100;

fn over_budget(doc: &Document, area: &str, what: String) -> Problem {
    Problem {
        kind: crate::evidence::ProblemKind::OverBudget,
        document_kind: Some(doc.kind.name().into()),
        location: crate::evidence::Location::file(&doc.path),
        message: format!("{what}; the {area} area did not read the rest"),
    }
}

impl<A: Area> Registered for Bound<A>
where
    A::Section: Serialize,
{
    fn name(&self) -> &'static str {
        self.area.name()
    }
    fn section_json(&self, ev: &Evidence) -> Json {
        serde_json::to_value((self.section)(ev)).unwrap_or_default()
    }
    fn kinds(&self) -> &'static [KindSpec] {
        self.area.kinds()
    }
    fn reading(&self) -> &'static [DocKind] {
        self.area.reads()
    }
    fn start(&'static self) -> Box<dyn Collecting> {
        Box::new(Collector {
            bound: self,
            sink: Mutex::new(Sink::default()),
        })
    }
    fn probe(&self, ev: &mut Evidence, probes: &Probes) -> Result<(), ProbeError> {
        self.area.probe((self.section_mut)(ev), probes)
    }
    fn checks(&'static self) -> Vec<Box<dyn AnyCheck>> {
        self.area
            .checks()
            .into_iter()
            .map(|check| {
                Box::new(BoundCheck {
                    check,
                    section: self.section,
                }) as Box<dyn AnyCheck>
            })
            .collect()
    }
}

impl<A: Area> Collecting for Collector<A> {
    fn collect(&self, doc: &Document) {
        let mut found = Sink::default();
        self.bound.area.collect(doc, &mut found);
        if found.facts.is_empty() && found.problems.is_empty() && found.named.is_empty() {
            return;
        }
        let name = self.bound.area.name();
        if found.problems.len() > MAX_PROBLEMS_PER_DOCUMENT {
            let n = found.problems.len();
            found.problems.truncate(MAX_PROBLEMS_PER_DOCUMENT);
            found.problem(over_budget(
                doc,
                name,
                format!(
                    "{n} problems in one file; the first {MAX_PROBLEMS_PER_DOCUMENT} are listed"
                ),
            ));
        }
        if found.facts.len() > MAX_FACTS_PER_DOCUMENT {
            let n = found.facts.len();
            found.facts.truncate(MAX_FACTS_PER_DOCUMENT);
            found.problem(over_budget(
                doc,
                name,
                format!("{n} facts in one file, over the limit of {MAX_FACTS_PER_DOCUMENT}"),
            ));
        }
        found.named.truncate(MAX_FACTS_PER_DOCUMENT);
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        let room = MAX_FACTS_PER_RUN.saturating_sub(sink.facts.len());
        if found.facts.len() > room {
            found.facts.truncate(room);
            found.problem(over_budget(
                doc,
                name,
                format!("the run's limit of {MAX_FACTS_PER_RUN} facts was reached in this file"),
            ));
        }
        sink.extend(found);
    }
    fn take_named(&self) -> Vec<crate::document::Named> {
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut sink.named)
    }
    fn finish(self: Box<Self>, ctx: &Assembly, ev: &mut Evidence) {
        let sink = self.sink.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut problems = sink.problems;
        let section = self.bound.area.assemble(sink.facts, ctx, &mut problems);
        *(self.bound.section_mut)(ev) = section;
        ev.problems.extend(problems);
    }
}

/// A check over the whole evidence document: an area's check bound to its
/// section, its params type erased.
pub trait AnyCheck: Sync + Send {
    fn id(&self) -> &'static str;
    fn summary(&self) -> &'static str;
    /// The JSON Schema of its `params`.
    fn params_schema(&self) -> schemars::Schema;
    /// Parse and validate `params` (null: the defaults), once, at load.
    fn parse(&self, params: &Json) -> Result<Params, ParamsError>;
    fn run(&self, ev: &Evidence, params: &Params, ctx: &Context) -> Vec<Outcome>;
}

struct BoundCheck<S: 'static> {
    check: &'static dyn SectionCheck<S>,
    section: fn(&Evidence) -> &S,
}

impl<S: 'static> AnyCheck for BoundCheck<S> {
    fn id(&self) -> &'static str {
        self.check.id()
    }
    fn summary(&self) -> &'static str {
        self.check.summary()
    }
    fn params_schema(&self) -> schemars::Schema {
        self.check.params_schema()
    }
    fn parse(&self, params: &Json) -> Result<Params, ParamsError> {
        self.check.parse(params)
    }
    fn run(&self, ev: &Evidence, params: &Params, ctx: &Context) -> Vec<Outcome> {
        self.check.run((self.section)(ev), params, ctx)
    }
}

/// Every built-in check: the walk's own, then each area's in registry order.
pub static CHECKS: LazyLock<Vec<Box<dyn AnyCheck>>> = LazyLock::new(|| {
    let mut all: Vec<Box<dyn AnyCheck>> = vec![Box::new(BoundCheck::<()> {
        check: &check::readable::EvidenceReadable,
        section: |_| &(),
    })];
    for area in AREAS {
        all.extend(area.checks());
    }
    all
});

pub fn find_check(id: &str) -> Option<&'static dyn AnyCheck> {
    CHECKS.iter().find(|c| c.id() == id).map(|c| c.as_ref())
}

/// The evidence schema (`schemas/evidence.schema.json`).
pub fn schema() -> Json {
    crate::schema::generate::<Evidence>("evidence.schema.json")
}

/// Every document kind the areas define.
pub fn kinds() -> impl Iterator<Item = &'static KindSpec> {
    AREAS.iter().flat_map(|a| a.kinds())
}

#[cfg(test)]
mod unit {
    use super::*;

    /// Each field serialized on its own is what the whole document holds
    /// under that name: no area's name drifts from its field's.
    #[test]
    fn fields_one_by_one_are_the_document() {
        let mut ev = Evidence {
            generator: "readygate test".into(),
            ..Evidence::default()
        };
        ev.tests.set_aside_total = 3;
        let whole = serde_json::to_value(&ev).unwrap();
        let names: std::collections::BTreeSet<String> =
            whole.as_object().unwrap().keys().cloned().collect();
        assert_eq!(ev.fields_json(&names), whole);
    }
}
