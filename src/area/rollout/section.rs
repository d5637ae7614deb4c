//! The rollout section of the evidence: how the service is deployed, how a
//! bad deploy is undone, and how each workload rolls out.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::evidence::Location;
use crate::evidence::workload::Workload;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Rollout {
    /// What deploys the service: CI jobs that run a deploy command or
    /// target a deployment environment, GitOps applications.
    pub deploys: Vec<Deploy>,
    /// Every candidate rollback path, counted or not, with why.
    pub rollback_paths: Vec<RollbackPath>,
    /// Kubernetes workloads and how each rolls out.
    pub workloads: Vec<WorkloadRollout>,
    /// Argo Rollouts analysis templates defined in the repository.
    pub analysis_templates: Vec<AnalysisTemplate>,
    /// Analysis templates that Rollouts name, and whether they are here.
    pub analysis_refs: Vec<AnalysisRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Deploy {
    pub location: Location,
    /// `github-actions`, `gitlab-ci`, `argocd`, `flux`.
    pub by: String,
    /// The job (CI) or application (GitOps).
    pub name: String,
    /// The deploy command seen, or the environment targeted.
    pub what: String,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RollbackKind {
    /// A CI job or step that runs a rollback command or redeploys.
    CiJob,
    /// A dispatchable workflow that takes a version and deploys it.
    DispatchRedeploy,
    /// A GitLab job run by hand (`when: manual`) that rolls back.
    ManualJob,
    /// `helm upgrade --atomic` / `--rollback-on-failure`.
    HelmAtomic,
    /// ECS deployment circuit breaker with `rollback`.
    EcsCircuitBreaker,
    /// CodeDeploy `auto_rollback_configuration`.
    CodedeployAutoRollback,
    /// An Argo Rollouts canary or blue-green with analysis: a failed
    /// analysis aborts and returns traffic to the stable version.
    ArgoRollouts,
    /// A Flagger canary with analysis: failed checks roll it back.
    Flagger,
    /// An Argo CD application keeping history for `argocd app rollback`.
    Argocd,
    /// A GitOps deploy (Flux): reverting the commit undoes it.
    Gitops,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RollbackPath {
    pub location: Location,
    pub kind: RollbackKind,
    /// What was found (`helm rollback` in job `rollback`).
    pub detail: String,
    /// Whether it counts as a way to undo a bad deploy.
    pub counted: bool,
    /// Why it counts or does not (a step named "Rollback" that runs only
    /// `echo` does not).
    pub why: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct WorkloadRollout {
    pub workload: Workload,
    /// `rolling-update`, `recreate`, `on-delete`, `canary`, `blue-green`.
    pub strategy: String,
    /// A strategy is chosen (set on the object, or a Rollout or Canary
    /// drives it); false: the default rolling update, never decided.
    pub strategy_set: bool,
    /// What drives a progressive rollout of it (a Rollout or a Flagger
    /// Canary), where.
    pub progressive_by: Option<Location>,
    /// The rollout is judged by automated analysis (metrics that abort it).
    pub automated_analysis: bool,
    /// Exposed to users: by an Ingress or Gateway route, a Service of type
    /// LoadBalancer or NodePort, or the manifest's `rollout.user_facing`;
    /// what exposes it.
    pub exposed_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AnalysisTemplate {
    pub location: Location,
    /// `AnalysisTemplate` or `ClusterAnalysisTemplate`.
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub metrics: Vec<AnalysisMetric>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AnalysisMetric {
    pub name: String,
    pub success_condition: Option<String>,
    pub failure_condition: Option<String>,
    pub failure_limit: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AnalysisRef {
    /// Where the Rollout names it.
    pub location: Location,
    pub name: String,
    /// `clusterScope: true`: a ClusterAnalysisTemplate, often installed
    /// by the platform team outside this repository.
    pub cluster: bool,
    pub found: bool,
}
