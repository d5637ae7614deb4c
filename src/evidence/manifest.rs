//! `readygate.yaml`: what a service says about itself. The same types are the
//! file format (validated against `schemas/manifest.schema.json`, generated
//! from them) and the evidence the manifest contributes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A service's readiness manifest (`readygate.yaml` at the repository root).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The service's name, as the catalog and dashboards know it.
    pub service: String,
    /// Business criticality: 1 is the most critical. The policy maps a tier
    /// to the readiness level a release needs.
    #[schemars(range(min = 1, max = 5))]
    pub tier: Option<u8>,
    /// Teams or people accountable for it (`@org/team`, emails).
    #[serde(default)]
    pub owners: Vec<String>,
    pub lifecycle: Option<Lifecycle>,
    pub description: Option<String>,
    /// Endpoints the service exposes; live probes use them.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    #[serde(default)]
    pub slos: Vec<ManifestSlo>,
    pub oncall: Option<Oncall>,
    /// How this repository writes its alerts.
    pub alerts: Option<AlertsConfig>,
    /// Where this repository's test runs leave their reports.
    pub tests: Option<TestsConfig>,
    /// How the service rolls out.
    pub rollout: Option<RolloutConfig>,
    /// Reclassify paths (globs from the repository root) as production,
    /// test, example or vendored. Tests, examples and vendored code are
    /// collected but not judged by the built-in rules.
    pub scopes: Option<super::scope::ScopeGlobs>,
    /// Paths not judged at all (globs from the repository root).
    #[serde(default)]
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Annotation (or label) names that hold a runbook link, tried in order.
    /// Default: `runbook_url`, `runbook`, `playbook`.
    pub runbook_keys: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestsConfig {
    /// JUnit XML reports (globs from the repository root, or absolute under
    /// `$RUNNER_TEMP`), read after the test step. `--junit` overrides.
    #[serde(default)]
    pub junit: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutConfig {
    /// Workloads (Deployment, StatefulSet, DaemonSet or Rollout names)
    /// users reach though nothing in this repository exposes them (an
    /// ingress managed elsewhere): judged as user-facing.
    #[serde(default)]
    pub user_facing: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Lifecycle {
    Experimental,
    Development,
    Production,
    Deprecated,
}

impl Lifecycle {
    /// The name as written in the manifest (and in Backstage).
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Experimental => "experimental",
            Lifecycle::Development => "development",
            Lifecycle::Production => "production",
            Lifecycle::Deprecated => "deprecated",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub name: String,
    /// `https://host/path` for HTTP(S) endpoints, `host:port` for raw TLS.
    pub url: String,
    /// Whether live probes may check it (default true).
    pub probe: Option<bool>,
    /// The HTTP status it should answer (default: any below 400).
    #[schemars(range(min = 100, max = 599))]
    pub expect_status: Option<u16>,
    /// Days of certificate validity below which the gate warns (replaces
    /// the rule's warning threshold for this endpoint).
    #[schemars(range(min = 1, max = 3650))]
    pub min_tls_days: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestSlo {
    pub name: String,
    /// Target as a fraction, e.g. 0.999.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub objective: f64,
    /// Rolling window, e.g. `30d`.
    pub window: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Oncall {
    /// `pagerduty`, `opsgenie`, `incident-io`, `grafana-oncall`, `other`.
    pub provider: String,
    /// Schedule, escalation policy or rotation identifier at the provider.
    pub schedule: Option<String>,
    pub escalation_policy: Option<String>,
    pub url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_names_match_the_file_format() {
        use Lifecycle::*;
        for l in [Experimental, Development, Production, Deprecated] {
            assert_eq!(serde_json::to_value(l).unwrap(), l.as_str());
        }
    }
}
