//! Service facts: what the service says about itself (the manifest, given
//! by the scan), Backstage catalog entities, CODEOWNERS and SLOs.

use crate::check::SectionCheck;
use crate::contract::{Area, Assembly};
use crate::document::{DocKind, Document, Head, KindSpec, Sink, YAML};
use crate::evidence::Location;
use crate::evidence::Problem;

mod checks;
mod collect;
pub mod section;
mod slo;

pub use section::ServiceFacts;
use section::{Slo, SloSource};

const CODEOWNERS: DocKind = DocKind("codeowners");
const BACKSTAGE_CATALOG: DocKind = DocKind("backstage-catalog");
const OPENSLO: DocKind = DocKind("openslo");
const SLOTH: DocKind = DocKind("sloth");
const PYRRA: DocKind = DocKind("pyrra");

static KINDS: &[KindSpec] = &[
    KindSpec {
        kind: CODEOWNERS,
        globs: &["CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS"],
        sniff: None,
        order: 20,
    },
    KindSpec {
        kind: BACKSTAGE_CATALOG,
        globs: &["**/catalog-info.yaml", "**/catalog-info.yml"],
        sniff: Some(|head| head.text.contains("backstage.io/")),
        order: 160,
    },
    KindSpec {
        kind: OPENSLO,
        globs: YAML,
        sniff: Some(|head| head.api_version_starts("openslo/")),
        order: 210,
    },
    KindSpec {
        kind: SLOTH,
        globs: YAML,
        sniff: Some(is_sloth),
        order: 220,
    },
    KindSpec {
        kind: PYRRA,
        globs: YAML,
        sniff: Some(|head| head.api_version_starts("pyrra.dev/")),
        order: 230,
    },
];

fn is_sloth(head: &Head) -> bool {
    head.api_version_starts("sloth.slok.dev/")
        || (head.value("version") == Some("prometheus/v1") && head.value("slos").is_some())
}

pub enum Fact {
    Catalog(section::CatalogEntity),
    Codeowners(section::Codeowners),
    Slo(Slo),
}

pub struct ServiceArea;

impl Area for ServiceArea {
    type Fact = Fact;
    type Section = ServiceFacts;

    fn name(&self) -> &'static str {
        "service"
    }
    fn kinds(&self) -> &'static [KindSpec] {
        KINDS
    }
    fn reads(&self) -> &'static [DocKind] {
        &[CODEOWNERS, BACKSTAGE_CATALOG, OPENSLO, SLOTH, PYRRA]
    }
    fn collect(&self, doc: &Document, out: &mut Sink<Fact>) {
        match doc.kind {
            CODEOWNERS => out.push(Fact::Codeowners(collect::codeowners(doc))),
            BACKSTAGE_CATALOG => doc.each_yaml(out, |n, out| collect::catalog(doc, n, out)),
            OPENSLO => doc.each_yaml(out, |n, out| slo::openslo(doc, n, out)),
            SLOTH => doc.each_yaml(out, |n, out| slo::sloth(doc, n, out)),
            PYRRA => doc.each_yaml(out, |n, out| slo::pyrra(doc, n, out)),
            _ => {}
        }
    }
    fn assemble(&self, facts: Vec<Fact>, ctx: &Assembly, _: &mut Vec<Problem>) -> ServiceFacts {
        let mut service = ServiceFacts {
            manifest: ctx.manifest.cloned(),
            ..ServiceFacts::default()
        };
        // The manifest's SLOs join the others (every manifest file's).
        for m in ctx.manifests {
            for (slo, location) in m.manifest.slos.iter().zip(&m.slo_locations) {
                service.slos.push(Slo {
                    location: location.clone(),
                    source: SloSource::Manifest,
                    name: slo.name.clone(),
                    service: Some(m.manifest.service.clone()),
                    objective: Some(slo.objective),
                    window: slo.window.clone(),
                });
            }
        }
        for fact in facts {
            match fact {
                Fact::Catalog(c) => service.catalog.push(c),
                Fact::Codeowners(c) => {
                    // GitHub reads .github/ first, then the root, then docs/.
                    let rank = |p: &str| {
                        let dir = p.strip_suffix("CODEOWNERS").unwrap_or(p);
                        [".github/", "", "docs/"].iter().position(|d| *d == dir)
                    };
                    let better = service
                        .codeowners
                        .as_ref()
                        .is_none_or(|cur| rank(&c.location.path) < rank(&cur.location.path));
                    if better {
                        service.codeowners = Some(c);
                    }
                }
                Fact::Slo(s) => service.slos.push(s),
            }
        }
        // The walk is parallel; sort so output never depends on thread timing.
        service.catalog.sort_by(|a, b| a.location.cmp(&b.location));
        service
            .slos
            .sort_by(|a, b| a.location.cmp(&b.location).then(a.name.cmp(&b.name)));
        service
    }
    fn checks(&self) -> Vec<&'static dyn SectionCheck<ServiceFacts>> {
        vec![
            &checks::ServiceDescribed,
            &checks::OwnersDefined,
            &checks::CodeownersPresent,
            &checks::OncallDefined,
            &checks::SloDefined,
            &checks::TierDeclared,
        ]
    }
}

/// The manifest's location, for outcomes about what it should say.
fn manifest_location(service: &ServiceFacts) -> Option<Location> {
    service.manifest.as_ref().map(|m| m.location.clone())
}
