//! Feature flags: launch decoupled from deploy. Flag definitions (flagd /
//! OpenFeature, OpenFeature CLI manifests, go-feature-flag) validated the
//! way their own tools would, flag SDKs in dependency manifests, and flag
//! providers in Kubernetes.

use std::collections::BTreeMap;

use crate::check::SectionCheck;
use crate::contract::{Area, Assembly};
use crate::document::shared::{KUBERNETES_MANIFEST, TERRAFORM};
use crate::document::{DocKind, Document, Head, KindSpec, Sink};
use crate::evidence::Problem;

mod checks;
mod flagd;
mod flipt;
mod formats;
mod launchdarkly;
mod sdk;
pub mod section;
mod unleash;

pub use section::Flags;
use section::{FlagViolation, ViolationKind};

const FLAGD: DocKind = DocKind("flagd");
const OPENFEATURE_MANIFEST: DocKind = DocKind("openfeature-manifest");
const GO_FEATURE_FLAG: DocKind = DocKind("go-feature-flag");
const DEPENDENCY_MANIFEST: DocKind = DocKind("dependency-manifest");
const FLIPT: DocKind = DocKind("flipt-features");
const FLIPT_INDEX: DocKind = DocKind("flipt-index");
const UNLEASH_EXPORT: DocKind = DocKind("unleash-export");
const LAUNCHDARKLY_CODEREFS: DocKind = DocKind("launchdarkly-coderefs");

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
    // Flipt's default layout (v1 `features.yml` anywhere, v2 one directory
    // below the root) and its index.
    KindSpec {
        kind: FLIPT,
        globs: &[
            "**/features.yml",
            "**/features.yaml",
            "**/features.json",
            "**/*.features.yml",
            "**/*.features.yaml",
            "**/*.features.json",
        ],
        // Flipt's top-level keys; a flagd file, an OpenFeature manifest or
        // an Unleash export called `features.json` is theirs, and another
        // tool's `features.yml` (a map of names to booleans) is no one's.
        sniff: Some(|head| {
            ["flags", "segments", "namespace"]
                .iter()
                .any(|k| head.value(k).is_some())
                && !is_flagd(head)
                && !is_openfeature_manifest(head)
                && !is_unleash_export(head)
        }),
        order: 151,
    },
    // Flipt reads its index at the root of its source only.
    KindSpec {
        kind: FLIPT_INDEX,
        globs: &[".flipt.yml", ".flipt.yaml"],
        sniff: None,
        order: 152,
    },
    KindSpec {
        kind: LAUNCHDARKLY_CODEREFS,
        globs: &[".launchdarkly/coderefs.yaml", ".launchdarkly/coderefs.yml"],
        sniff: None,
        order: 157,
    },
    KindSpec {
        kind: UNLEASH_EXPORT,
        globs: &["**/*.json"],
        sniff: Some(is_unleash_export),
        order: 158,
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

fn is_unleash_export(head: &Head) -> bool {
    head.mentions_key("features") && head.mentions_key("featureStrategies")
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
    /// A flag-file glob a Flipt index excludes (relative to the root).
    Excluded(String),
    LaunchDarklyFlag(launchdarkly::LdFlag),
    FliptSegments(flipt::FliptSegments),
    FliptSegmentRef(flipt::SegmentRef),
    LaunchDarklyEnvironment(launchdarkly::LdEnvironment),
    Flag(section::Flag),
    Violation(FlagViolation),
    Sdk(section::SdkUse),
    Provider(section::FlagProvider),
}

/// A violation at `pos` in `doc`, as a fact.
fn violation(
    doc: &Document,
    kind: ViolationKind,
    pos: crate::yaml::Pos,
    flag: Option<&str>,
    message: String,
) -> Fact {
    Fact::Violation(FlagViolation {
        kind,
        location: crate::evidence::Location::at(&doc.path, pos),
        flag: flag.map(str::to_string),
        message,
    })
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
            FLIPT,
            FLIPT_INDEX,
            UNLEASH_EXPORT,
            LAUNCHDARKLY_CODEREFS,
            KUBERNETES_MANIFEST,
            TERRAFORM,
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
            FLIPT => flipt::file(doc, out),
            FLIPT_INDEX => flipt::index(doc, FLIPT, out),
            UNLEASH_EXPORT => doc.each_yaml(out, |n, out| unleash::export(doc, n, out)),
            LAUNCHDARKLY_CODEREFS => out.push(Fact::Provider(section::FlagProvider {
                location: crate::evidence::Location::new(&doc.path, 1, 1),
                kind: "LaunchDarkly code references".into(),
                name: None,
            })),
            TERRAFORM => launchdarkly::terraform(doc, out),
            _ => {}
        }
    }
    fn assemble(&self, facts: Vec<Fact>, _: &Assembly, _: &mut Vec<Problem>) -> Flags {
        let mut flags = Flags::default();
        let mut excluded = Vec::new();
        let (mut ld_flags, mut ld_envs) = (Vec::new(), Vec::new());
        let (mut segments, mut segment_refs) = (Vec::new(), Vec::new());
        for fact in facts {
            match fact {
                Fact::Source(s) => flags.sources.push(s),
                Fact::Flag(f) => flags.flags.push(f),
                Fact::Violation(v) => flags.violations.push(v),
                Fact::Sdk(s) => flags.sdks.push(s),
                Fact::Provider(p) => flags.providers.push(p),
                Fact::Excluded(glob) => excluded.push(glob),
                Fact::LaunchDarklyFlag(f) => ld_flags.push(f),
                Fact::LaunchDarklyEnvironment(e) => ld_envs.push(e),
                Fact::FliptSegments(s) => segments.push(s),
                Fact::FliptSegmentRef(r) => segment_refs.push(r),
            }
        }
        // LaunchDarkly flags with their environments, by resource name.
        let mut envs_of: BTreeMap<&str, Vec<&launchdarkly::LdEnvironment>> = BTreeMap::new();
        for e in &ld_envs {
            if let Some(r) = e.flag_resource.as_deref() {
                envs_of.entry(r).or_default().push(e);
            }
        }
        let mut ld_files = std::collections::BTreeMap::new();
        for f in ld_flags {
            let envs = envs_of
                .get(f.resource.as_str())
                .cloned()
                .unwrap_or_default();
            *ld_files.entry(f.flag.location.path.clone()).or_insert(0) += 1;
            flags.flags.push(launchdarkly::join(f, &envs));
        }
        for (path, n) in ld_files {
            flags.sources.push(section::FlagSource {
                location: crate::evidence::Location::new(&path, 1, 1),
                format: section::FlagFormat::Launchdarkly,
                flags: n,
            });
        }
        // What a Flipt index excludes is not Flipt's: its Flipt sources,
        // flags, segments and violations go; no other format's.
        let set = exclusions(&excluded);
        let excluded: std::collections::BTreeSet<String> = flags
            .sources
            .iter()
            .filter(|s| {
                s.format == section::FlagFormat::Flipt
                    && set
                        .as_ref()
                        .is_some_and(|set| set.is_match(&s.location.path))
            })
            .map(|s| s.location.path.clone())
            .collect();
        let kept = |path: &str| !excluded.contains(path);
        flags.sources.retain(|s| kept(&s.location.path));
        flags.flags.retain(|f| kept(&f.location.path));
        flags.violations.retain(|v| kept(&v.location.path));
        flags
            .violations
            .extend(flipt::missing_segments(&segments, segment_refs, kept));
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

fn exclusions(globs: &[String]) -> Option<globset::GlobSet> {
    if globs.is_empty() {
        return None;
    }
    let mut set = globset::GlobSetBuilder::new();
    for g in globs {
        // Flipt compiles index globs without a separator: `*` crosses `/`.
        if let Ok(g) = globset::GlobBuilder::new(g)
            .literal_separator(false)
            .build()
        {
            set.add(g);
        }
    }
    set.build().ok()
}

/// The same key defined in two files of one format and set (namespace,
/// flag set, project) with a different default or variant type: which one a service gets depends on which file
/// its provider loads. Reported once per key.
fn conflicts(flags: &[section::Flag]) -> Vec<FlagViolation> {
    type Key<'f> = (section::FlagFormat, Option<&'f str>, &'f str);
    let mut first: BTreeMap<Key, &section::Flag> = BTreeMap::new();
    let mut reported = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for f in flags {
        let key: Key = (f.format, f.set.as_deref(), &f.key);
        match first.get(&key) {
            None => {
                first.insert(key, f);
            }
            Some(g) if g.location.path != f.location.path && !reported.contains(&key) => {
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
                    reported.insert(key);
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
