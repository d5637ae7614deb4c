//! What an evidence area implements, and what it is given. An area owns its
//! document kinds, collects facts from the documents it reads (its own kinds
//! and shared ones), assembles them into its section of the evidence after
//! the walk, optionally observes live state through the probe runner, and
//! lists its checks. Areas never import each other; this is their contract
//! with the registry ([`crate::area`]).

use std::path::{Path, PathBuf};

use crate::check::SectionCheck;
use crate::diag::InputError;
use crate::document::{DocKind, Document, KindSpec, Sink};
use crate::evidence::scope::ScopeMatcher;
use crate::evidence::{Judging, ManifestFact, Problem, RepoIdentity};
use crate::probe::{ProbeError, Probes};

pub trait Area: Sync + 'static {
    /// What the collector learns from one document.
    type Fact: Send;
    /// The area's section of the evidence document.
    type Section: Default;

    fn name(&self) -> &'static str;
    /// The document kinds this area defines.
    fn kinds(&self) -> &'static [KindSpec];
    /// The kinds it reads: its own, and shared ones owned by other areas
    /// (which report their parse failures; a reader skips them silently).
    fn reads(&self) -> &'static [DocKind];
    /// Facts from one document. Pure: reads only `doc`, never decides.
    fn collect(&self, doc: &Document, out: &mut Sink<Self::Fact>);
    /// After the walk: join facts across files, resolve, sort; read what
    /// the walk does not (test reports), reporting files that cannot be
    /// used to `problems`.
    fn assemble(
        &self,
        facts: Vec<Self::Fact>,
        ctx: &Assembly,
        problems: &mut Vec<Problem>,
    ) -> Self::Section;
    /// Live observations; called only when probes are enabled.
    fn probe(&self, _section: &mut Self::Section, _probes: &Probes) -> Result<(), ProbeError> {
        Ok(())
    }
    fn checks(&self) -> Vec<&'static dyn SectionCheck<Self::Section>>;
}

/// What assembly may look at besides the area's own facts.
pub struct Assembly<'a> {
    pub root: &'a Path,
    /// The commit whose files are scanned instead of `root`'s (the
    /// baseline): files an area reads after the walk come from it.
    pub tree: Option<&'a crate::tree::CommitTree>,
    /// This repository on the web (`--repo-url`, else the `origin` remote).
    pub repo: Option<&'a RepoIdentity>,
    /// The manifest in force (the first by path).
    pub manifest: Option<&'a ManifestFact>,
    /// Every manifest file that parsed, in path order.
    pub manifests: &'a [ManifestFact],
    /// How the service is judged: the manifest in force's, or the base
    /// ref's under `--policy-ref`.
    pub judging: &'a Judging,
    /// The walk's size cap, for files an area reads after it (runbooks).
    pub max_file_size: u64,
    /// What is production code and what is tests, examples or vendored.
    pub scopes: &'a ScopeMatcher,
    /// What the run was pointed at besides the repository.
    pub inputs: &'a Inputs,
}

/// Files the run was pointed at besides the repository's own: test reports
/// (usually gitignored, often written outside the checkout) and their
/// history.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// `--junit GLOB` (repeatable): relative to the root, or absolute under
    /// the root or a directory of `report_roots`.
    pub junit: Vec<String>,
    /// `--junit-history DIR`: one subfolder per past run, each with its
    /// reports and a `run.json`.
    pub junit_history: Option<PathBuf>,
    /// Directories besides the root that report paths may name: the
    /// runner's temporary directory (`$RUNNER_TEMP`).
    pub report_roots: Vec<PathBuf>,
    /// The largest test report read (`--max-report-size`); reports are
    /// streamed, so this is not the walk's cap.
    pub max_report_size: u64,
    /// `--endpoint URL` (repeatable): endpoints judged besides the
    /// manifest's.
    pub endpoints: Vec<String>,
}

/// Test reports of 1 GB are real; 2 GiB keeps a runaway file out.
pub const DEFAULT_MAX_REPORT_SIZE: u64 = 2 << 30;

impl Inputs {
    /// Absolute report globs must point into the repository or a report
    /// root: a run reads nothing else it was not given a folder for.
    pub fn validate(&self, root: &Path) -> Result<(), InputError> {
        // `--junit $PWD/x.xml` with the default root `.` is inside it.
        let root = &std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        let allowed =
            |p: &Path| p.starts_with(root) || self.report_roots.iter().any(|r| p.starts_with(r));
        for glob in &self.junit {
            let path = Path::new(glob);
            if glob.split(['/', '\\']).any(|s| s == "..") {
                return Err(outside(format!(
                    "--junit `{glob}`: `..` may not climb out of the repository"
                )));
            }
            if path.is_absolute() && !allowed(path) {
                return Err(outside(format!(
                    "--junit `{glob}` is outside the repository ({}) and $RUNNER_TEMP",
                    root.display()
                )));
            }
        }
        Ok(())
    }
}

fn outside(message: String) -> InputError {
    InputError::new(message)
        .hint("give report globs relative to the repository, or under $RUNNER_TEMP")
}

impl Default for Inputs {
    fn default() -> Self {
        Self {
            junit: Vec::new(),
            junit_history: None,
            report_roots: Vec::new(),
            max_report_size: DEFAULT_MAX_REPORT_SIZE,
            endpoints: Vec::new(),
        }
    }
}
