//! The infrastructure-as-code section of the evidence.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::evidence::Location;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Iac {
    pub terraform: Vec<TerraformModule>,
    pub pulumi: Vec<PulumiProject>,
    pub cloudformation: Vec<CloudFormationTemplate>,
    pub cdk: Vec<CdkApp>,
    pub helm: Vec<HelmChart>,
    pub kustomize: Vec<Kustomization>,
    pub kubernetes: Vec<KubernetesObject>,
    /// Kubernetes workloads (Deployment, StatefulSet, DaemonSet, Rollout)
    /// with their containers, replicas and the PodDisruptionBudgets that
    /// select their pods: what `for_each` rules judge.
    pub workloads: Vec<IacWorkload>,
    pub pod_disruption_budgets: Vec<PodDisruptionBudget>,
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
pub struct IacWorkload {
    #[serde(flatten)]
    pub workload: crate::evidence::workload::Workload,
    /// PodDisruptionBudgets in its namespace whose `matchLabels` select its
    /// pods, by name.
    pub pod_disruption_budgets: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PodDisruptionBudget {
    pub name: String,
    pub namespace: Option<String>,
    /// `spec.selector.matchLabels`.
    pub match_labels: std::collections::BTreeMap<String, String>,
    pub min_available: Option<String>,
    pub max_unavailable: Option<String>,
    pub location: Location,
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
