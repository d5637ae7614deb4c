//! Feature flags: launch decoupled from deploy. Flag definitions (flagd /
//! OpenFeature, OpenFeature CLI manifests, go-feature-flag) validated the
//! way their own tools would, flag SDKs in dependency manifests, and flag
//! providers in Kubernetes.

use std::collections::BTreeMap;

use crate::check::SectionCheck;
use crate::contract::{Area, Assembly};
use crate::document::shared::KUBERNETES_MANIFEST;
use crate::document::{DocKind, Document, Head, KindSpec, Sink};

mod checks;
mod flagd;
mod formats;
mod sdk;
pub mod section;

pub use section::Flags;
use section::{FlagViolation, ViolationKind};

const FLAGD: DocKind = DocKind("flagd");
const OPENFEATURE_MANIFEST: DocKind = DocKind("openfeature-manifest");
const GO_FEATURE_FLAG: DocKind = DocKind("go-feature-flag");
const DEPENDENCY_MANIFEST: DocKind = DocKind("dependency-manifest");

const YAML_OR_JSON: &[&str] = &["**/*.yaml", "**/*.yml", "**/*.json"];

static KINDS: &[KindSpec] = &[
    KindSpec {
        kind: DEPENDENCY_MANIFEST,
        globs: &[
            "**/Cargo.toml",
            "**/package.json",
            "**/go.mod",
            "**/requirements*.txt",
            "**/pyproject.toml",
            "**/pom.xml",
            "**/build.gradle",
            "**/build.gradle.kts",
            "**/*.csproj",
            "**/Gemfile",
        ],
        sniff: Some(sdk::names_an_sdk),
        order: 102,
    },
    // Named as flagd's documentation names them: yields flags or a
    // finding, whatever is inside.
    KindSpec {
        kind: FLAGD,
        globs: &["**/*.flagd.json", "**/*.flagd.yaml", "**/*.flagd.yml"],
        sniff: None,
        order: 153,
    },
    KindSpec {
        kind: FLAGD,
        globs: YAML_OR_JSON,
        sniff: Some(is_flagd),
        order: 154,
    },
    KindSpec {
        kind: OPENFEATURE_MANIFEST,
        globs: YAML_OR_JSON,
        sniff: Some(is_openfeature_manifest),
        order: 155,
    },
    KindSpec {
        kind: GO_FEATURE_FLAG,
        globs: YAML_OR_JSON,
        sniff: Some(is_go_feature_flag),
        order: 156,
    },
];

/// flagd: its schema named, or `flags` whose entries have `state` and
/// `variants` (a map, or the daemon's array of `{key, ...}`).
fn is_flagd(head: &Head) -> bool {
    head.value("$schema")
        .is_some_and(|s| s.contains("flagd.dev/schema"))
        || (head.value("apiVersion").is_none()
            && head.value("flags").is_some()
            && head.mentions_key("state")
            && head.mentions_key("variants"))
}

fn is_openfeature_manifest(head: &Head) -> bool {
    head.value("flags").is_some()
        && head.mentions_key("flagType")
        && head.mentions_key("defaultValue")
}

/// go-feature-flag: flags at the top level, each with `variations` and a
/// `defaultRule`; no `flags` key (that would be flagd's).
fn is_go_feature_flag(head: &Head) -> bool {
    head.value("flags").is_none()
        && head.value("apiVersion").is_none()
        && head.mentions_key("variations")
        && head.mentions_key("defaultRule")
}

pub enum Fact {
    Source(section::FlagSource),
    Flag(section::Flag),
    Violation(FlagViolation),
    Sdk(section::SdkUse),
    Provider(section::FlagProvider),
}

pub struct FlagsArea;

impl Area for FlagsArea {
    type Fact = Fact;
    type Section = Flags;

    fn name(&self) -> &'static str {
        "flags"
    }
    fn kinds(&self) -> &'static [KindSpec] {
        KINDS
    }
    fn reads(&self) -> &'static [DocKind] {
        &[
            FLAGD,
            OPENFEATURE_MANIFEST,
            GO_FEATURE_FLAG,
            DEPENDENCY_MANIFEST,
            KUBERNETES_MANIFEST,
        ]
    }
    fn collect(&self, doc: &Document, out: &mut Sink<Fact>) {
        match doc.kind {
            FLAGD => flagd::file(doc, out),
            OPENFEATURE_MANIFEST => {
                doc.each_yaml(out, |n, out| formats::openfeature_manifest(doc, n, out))
            }
            GO_FEATURE_FLAG => doc.each_yaml(out, |n, out| formats::go_feature_flag(doc, n, out)),
            DEPENDENCY_MANIFEST => sdk::dependencies(doc, out),
            KUBERNETES_MANIFEST => formats::kubernetes(doc, out),
            _ => {}
        }
    }
    fn assemble(&self, facts: Vec<Fact>, _: &Assembly) -> Flags {
        let mut flags = Flags::default();
        for fact in facts {
            match fact {
                Fact::Source(s) => flags.sources.push(s),
                Fact::Flag(f) => flags.flags.push(f),
                Fact::Violation(v) => flags.violations.push(v),
                Fact::Sdk(s) => flags.sdks.push(s),
                Fact::Provider(p) => flags.providers.push(p),
            }
        }
        // The walk is parallel; sort so output never depends on thread timing.
        flags.sources.sort_by(|a, b| a.location.cmp(&b.location));
        flags.flags.sort_by(|a, b| a.location.cmp(&b.location));
        flags.sdks.sort_by(|a, b| a.location.cmp(&b.location));
        flags.providers.sort_by(|a, b| a.location.cmp(&b.location));
        flags.violations.extend(conflicts(&flags.flags));
        flags
            .violations
            .sort_by(|a, b| a.location.cmp(&b.location).then(a.kind.cmp(&b.kind)));
        flags
    }
    fn checks(&self) -> Vec<&'static dyn SectionCheck<Flags>> {
        vec![
            &checks::FlagsMechanism,
            &checks::FlagsValid,
            &checks::FlagsConsistent,
            &checks::FlagsTemporaryLaunched,
        ]
    }
}

/// The same key defined in two files with a different default or variant
/// type: which one a service gets depends on which file its provider loads.
fn conflicts(flags: &[section::Flag]) -> Vec<FlagViolation> {
    let mut first: BTreeMap<&str, &section::Flag> = BTreeMap::new();
    let mut out = Vec::new();
    for f in flags {
        match first.get(f.key.as_str()) {
            None => {
                first.insert(&f.key, f);
            }
            Some(g) if g.location.path != f.location.path => {
                let what = if g.default != f.default {
                    Some(format!(
                        "default `{}` there, `{}` here",
                        g.default.as_deref().unwrap_or("none"),
                        f.default.as_deref().unwrap_or("none")
                    ))
                } else if g.variant_type != f.variant_type {
                    Some(format!(
                        "{} variants there, {} here",
                        g.variant_type.as_deref().unwrap_or("no"),
                        f.variant_type.as_deref().unwrap_or("no")
                    ))
                } else {
                    None
                };
                if let Some(what) = what {
                    out.push(FlagViolation {
                        kind: ViolationKind::Conflict,
                        location: f.location.clone(),
                        flag: Some(f.key.clone()),
                        message: format!(
                            "flag `{}` is also defined at {} with a different definition: {what}",
                            f.key, g.location
                        ),
                    });
                }
            }
            Some(_) => {}
        }
    }
    out
}
