//! What an evidence area implements, and what it is given. An area owns its
//! document kinds, collects facts from the documents it reads (its own kinds
//! and shared ones), assembles them into its section of the evidence after
//! the walk, optionally observes live state through the probe runner, and
//! lists its checks. Areas never import each other; this is their contract
//! with the registry ([`crate::area`]).

use std::path::Path;

use crate::check::SectionCheck;
use crate::document::{DocKind, Document, KindSpec, Sink};
use crate::evidence::{Judging, ManifestFact, RepoIdentity};
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
    /// After the walk: join facts across files, resolve, sort.
    fn assemble(&self, facts: Vec<Self::Fact>, ctx: &Assembly) -> Self::Section;
    /// Live observations; called only when probes are enabled.
    fn probe(&self, _section: &mut Self::Section, _probes: &Probes) -> Result<(), ProbeError> {
        Ok(())
    }
    fn checks(&self) -> Vec<&'static dyn SectionCheck<Self::Section>>;
}

/// What assembly may look at besides the area's own facts.
pub struct Assembly<'a> {
    pub root: &'a Path,
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
}
