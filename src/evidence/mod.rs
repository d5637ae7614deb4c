//! The vocabulary every evidence area shares: locations, problems with
//! files, what the walk saw, the manifest and the repository's identity.
//! The evidence document itself ([`crate::area::Evidence`]) is these plus
//! one section per area.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub mod manifest;
pub mod repo;
pub mod scope;
pub mod workload;

pub use manifest::Manifest;
pub use repo::RepoIdentity;

/// Bumped when a field is removed or changes meaning; additions keep it.
pub const EVIDENCE_VERSION: u32 = 1;

/// Where a fact was found. `path` is relative to the repository root, with
/// `/` separators; `line` and `column` are 1-based (0 when not applicable).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct Location {
    pub path: String,
    pub line: u32,
    pub column: u32,
}

impl Location {
    pub fn new(path: impl Into<String>, line: u32, column: u32) -> Self {
        Self {
            path: path.into(),
            line,
            column,
        }
    }

    pub fn file(path: impl Into<String>) -> Self {
        Self::new(path, 0, 0)
    }

    pub fn at(path: &str, pos: crate::yaml::Pos) -> Self {
        Self::new(path, pos.line, pos.column)
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}", self.path),
            (l, 0) => write!(f, "{}:{l}", self.path),
            (l, c) => write!(f, "{}:{l}:{c}", self.path),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct FileStats {
    /// Files the walk visited (after .gitignore).
    pub visited: u64,
    /// Files classified as a document kind, by kind.
    pub by_kind: BTreeMap<String, u64>,
    /// Files skipped because they contain NUL bytes.
    pub binary: u64,
    /// Per kind, how the files were recognised: by their name (a path that
    /// says what they are) or by their content (a sniff over files named
    /// only by format). Files named as evidence that do not hold it are
    /// problems, not silence.
    #[serde(default)]
    pub recognised: BTreeMap<String, Recognised>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Recognised {
    pub by_name: u64,
    pub by_content: u64,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    Unparseable,
    Oversize,
    Unreadable,
    NotUtf8,
    SymlinkOutsideRoot,
    /// A file that must hold evidence (by its name) but holds nothing.
    Empty,
    /// More facts than a file or a run may contribute; the rest not read.
    OverBudget,
    /// A template (Jinja, Liquid, Go templates, `{PLACEHOLDER}`s) that only
    /// parses once rendered: not evaluated.
    Template,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unparseable => "unparseable",
            Self::Oversize => "oversize",
            Self::Unreadable => "unreadable",
            Self::NotUtf8 => "not-utf8",
            Self::SymlinkOutsideRoot => "symlink-outside-root",
            Self::Empty => "empty",
            Self::OverBudget => "over-budget",
            Self::Template => "template",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The document kind the file was classified as, when known.
    pub document_kind: Option<String>,
    pub location: Location,
    pub message: String,
}

/// What the manifest says that decides how the service is judged rather
/// than what it is: its tier, lifecycle and alert conventions. Under
/// `--policy-ref` these come from the base ref, so the change under review
/// cannot lower its own bar; owners, on-call, SLOs and endpoints stay the
/// head's evidence.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Judging {
    pub tier: Option<u8>,
    pub lifecycle: Option<manifest::Lifecycle>,
    pub alerts: Option<manifest::AlertsConfig>,
    /// Which test reports count (`tests.junit`): the change under review
    /// may not pick its own.
    pub tests: Option<manifest::TestsConfig>,
    /// Workloads the manifest marks user-facing (`rollout.user_facing`):
    /// the change under review may not unmark its own.
    pub rollout: Option<manifest::RolloutConfig>,
    /// What is judged: the manifest's `scopes:` and `exclude:`, and the
    /// `.readygateignore` globs.
    pub scopes: Option<scope::ScopeGlobs>,
    pub exclude: Vec<String>,
    /// `.readygateignore`'s text.
    pub ignore_file: Option<String>,
    /// The catalog's `spec.lifecycle`, read with the manifest from the base
    /// under `--policy-ref` (the head's catalog is evidence, not policy).
    pub catalog_lifecycle: Option<String>,
}

impl Judging {
    /// The manifest's judging fields (the ignore file and the catalog's
    /// lifecycle are filled in by whoever reads them).
    pub fn of(manifest: Option<&Manifest>) -> Self {
        manifest.map_or_else(Judging::default, |m| Judging {
            tier: m.tier,
            lifecycle: m.lifecycle,
            alerts: m.alerts.clone(),
            tests: m.tests.clone(),
            rollout: m.rollout.clone(),
            scopes: m.scopes.clone(),
            exclude: m.exclude.clone(),
            ignore_file: None,
            catalog_lifecycle: None,
        })
    }

    /// The scope rules these settings put in force.
    pub fn scope_rules(&self) -> scope::ScopeRules {
        let mut exclude = self.exclude.clone();
        exclude.extend(
            self.ignore_file
                .as_deref()
                .map(scope::ignore_file_globs)
                .unwrap_or_default(),
        );
        scope::ScopeRules::defaults().with(self.scopes.as_ref(), &exclude)
    }
}

// The `readygate.yaml` manifest, where it was read (no doc comment: the
// manifest's own description stays the schema's).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ManifestFact {
    pub location: Location,
    #[serde(flatten)]
    pub manifest: Manifest,
    /// Where each of `manifest.slos` is written (not part of the document).
    #[serde(skip)]
    #[schemars(skip)]
    pub slo_locations: Vec<Location>,
    /// Where each of `manifest.endpoints` is written.
    #[serde(skip)]
    #[schemars(skip)]
    pub endpoint_locations: Vec<Location>,
}
