//! The evidence document: everything the collectors found, each fact with its
//! location. It is the only thing rules read, it is serializable
//! (`readygate evidence`) and its JSON Schema is generated from these types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub mod alerts;
pub mod manifest;

pub use alerts::*;
pub use manifest::Manifest;

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
pub struct Evidence {
    /// Version of this document's shape ([`EVIDENCE_VERSION`]).
    pub evidence_version: u32,
    /// The readygate version that produced it.
    pub generator: String,
    pub files: FileStats,
    pub service: ServiceFacts,
    pub iac: Iac,
    pub ci: Ci,
    pub alerts: Alerts,
    /// Files that look like evidence but could not be used: unparseable,
    /// over the size cap, unreadable, not UTF-8, symlinks out of the tree.
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct FileStats {
    /// Files the walk visited (after .gitignore).
    pub visited: u64,
    /// Files classified as a document kind, by kind.
    pub by_kind: BTreeMap<String, u64>,
    /// Files skipped because they contain NUL bytes.
    pub binary: u64,
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

// ---------------------------------------------------------------- service --

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ServiceFacts {
    /// The `readygate.yaml` manifest nearest the repository root.
    pub manifest: Option<ManifestFact>,
    /// Backstage `catalog-info.yaml` entities.
    pub catalog: Vec<CatalogEntity>,
    pub codeowners: Option<Codeowners>,
    /// SLOs from OpenSLO, Sloth, Pyrra files and the manifest.
    pub slos: Vec<Slo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ManifestFact {
    pub location: Location,
    #[serde(flatten)]
    pub manifest: Manifest,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CatalogEntity {
    pub location: Location,
    pub kind: String,
    pub name: Option<String>,
    pub owner: Option<String>,
    pub lifecycle: Option<String>,
    pub system: Option<String>,
    pub component_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
    pub links: Vec<CatalogLink>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CatalogLink {
    pub url: String,
    pub title: Option<String>,
    #[serde(rename = "type")]
    pub link_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Codeowners {
    pub location: Location,
    pub rules: Vec<CodeownersRule>,
    /// True when a `*` rule gives every file a default owner.
    pub has_default_owner: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CodeownersRule {
    pub line: u32,
    pub pattern: String,
    pub owners: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SloSource {
    Openslo,
    Sloth,
    Pyrra,
    Manifest,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Slo {
    pub location: Location,
    pub source: SloSource,
    pub name: String,
    pub service: Option<String>,
    /// Target as a fraction (0.999) when the file states one.
    pub objective: Option<f64>,
    pub window: Option<String>,
}

// -------------------------------------------------------------------- iac --

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Iac {
    pub terraform: Vec<TerraformModule>,
    pub pulumi: Vec<PulumiProject>,
    pub cloudformation: Vec<CloudFormationTemplate>,
    pub cdk: Vec<CdkApp>,
    pub helm: Vec<HelmChart>,
    pub kustomize: Vec<Kustomization>,
    pub kubernetes: Vec<KubernetesObject>,
    pub ansible: Vec<AnsiblePlaybook>,
    pub bicep: Vec<BicepFile>,
}

impl Iac {
    /// Names of the IaC tools with at least one document, for messages.
    pub fn tools(&self) -> Vec<&'static str> {
        let present = [
            ("terraform", !self.terraform.is_empty()),
            ("pulumi", !self.pulumi.is_empty()),
            ("cloudformation", !self.cloudformation.is_empty()),
            ("cdk", !self.cdk.is_empty()),
            ("helm", !self.helm.is_empty()),
            ("kustomize", !self.kustomize.is_empty()),
            ("kubernetes", !self.kubernetes.is_empty()),
            ("ansible", !self.ansible.is_empty()),
            ("bicep", !self.bicep.is_empty()),
        ];
        present
            .iter()
            .filter(|(_, p)| *p)
            .map(|(n, _)| *n)
            .collect()
    }
}

/// One Terraform/OpenTofu module: a directory of `.tf` files.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TerraformModule {
    /// Directory relative to the root (`.` for the root itself).
    pub dir: String,
    pub files: Vec<String>,
    /// A root module is applied directly: not called as a local module by
    /// another module in this repository, and not under a `modules/` folder
    /// unless it configures a backend or provider itself.
    pub is_root: bool,
    pub backend: Option<TerraformBackend>,
    /// Path of `.terraform.lock.hcl` in this directory, if committed.
    pub lock_file: Option<String>,
    pub required_providers: Vec<TerraformProvider>,
    pub resources: Vec<TerraformResource>,
    pub module_calls: Vec<TerraformModuleCall>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TerraformBackend {
    /// `s3`, `gcs`, `azurerm`, `local`, ... or `cloud` for a `cloud {}` block.
    #[serde(rename = "type")]
    pub backend_type: String,
    pub location: Location,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TerraformProvider {
    pub name: String,
    pub source: Option<String>,
    pub version: Option<String>,
    pub location: Location,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TerraformResource {
    /// `resource` or `data`.
    pub mode: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
    pub location: Location,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TerraformModuleCall {
    pub name: String,
    pub source: Option<String>,
    pub location: Location,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PulumiProject {
    pub location: Location,
    pub name: Option<String>,
    pub runtime: Option<String>,
    /// Stack configuration files (`Pulumi.<stack>.yaml`) beside it.
    pub stacks: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CloudFormationTemplate {
    pub location: Location,
    /// `yaml` or `json`.
    pub format: String,
    /// No `AWSTemplateFormatVersion`: typically synthesized by CDK or SAM.
    pub synthesized: bool,
    /// `AWS::Serverless-2016-10-31` for SAM, and any other transforms.
    pub transforms: Vec<String>,
    pub resources: Vec<CloudFormationResource>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CloudFormationResource {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub location: Location,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CdkApp {
    pub location: Location,
    pub app: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HelmChart {
    pub location: Location,
    pub name: Option<String>,
    pub version: Option<String>,
    pub api_version: Option<String>,
    pub dependencies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Kustomization {
    pub location: Location,
    pub resources: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct KubernetesObject {
    pub location: Location,
    pub api_version: String,
    pub kind: String,
    pub name: Option<String>,
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AnsiblePlaybook {
    pub location: Location,
    /// `playbook`, `role-tasks` or `config` (ansible.cfg).
    pub kind: String,
    pub plays: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BicepFile {
    pub location: Location,
    pub resources: u32,
}

// --------------------------------------------------------------------- ci --

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Ci {
    pub github_workflows: Vec<CiPipeline>,
    pub gitlab: Vec<CiPipeline>,
}

impl Ci {
    pub fn is_present(&self) -> bool {
        !self.github_workflows.is_empty() || !self.gitlab.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CiPipeline {
    pub location: Location,
    pub name: Option<String>,
    /// Events (`push`, `pull_request`, ...) for GitHub; empty for GitLab.
    pub triggers: Vec<String>,
    pub jobs: Vec<String>,
}
