//! The registry of document kinds. Each entry: a kind, the path globs that
//! make a file a candidate, and an optional sniff over the file's first bytes
//! that must also agree. Entries are tried in order; the first match wins,
//! so specific kinds come before the generic YAML ones. Adding a kind is one
//! line here plus its collector.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocKind {
    ReadygateManifest,
    ReadygatePolicy,
    BackstageCatalog,
    Codeowners,
    GithubWorkflow,
    GitlabCi,
    Terraform,
    TerraformLock,
    PulumiProject,
    PulumiStack,
    CdkApp,
    HelmChart,
    HelmTemplate,
    Kustomization,
    Bicep,
    AnsibleConfig,
    AnsiblePlaybook,
    AnsibleRoleTasks,
    CloudFormation,
    Openslo,
    Sloth,
    Pyrra,
    PrometheusRules,
    GrafanaAlerting,
    DatadogMonitor,
    KubernetesManifest,
}

impl DocKind {
    pub fn name(self) -> &'static str {
        KINDS
            .iter()
            .find(|spec| spec.kind == self)
            .map(|spec| spec.name)
            .unwrap_or("unknown")
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub type Sniff = fn(&Head) -> bool;

pub struct KindSpec {
    pub kind: DocKind,
    pub name: &'static str,
    pub globs: &'static [&'static str],
    pub sniff: Option<Sniff>,
}

const YAML: &[&str] = &["**/*.yaml", "**/*.yml"];

/// Names that only Prometheus-format rule files use.
const RULE_FILE_NAMES: &[&str] = &[
    "**/*.rules",
    "**/*.rules.{yml,yaml}",
    "**/*{-,_}rules.{yml,yaml}",
    "**/rules.{yml,yaml}",
    "**/*.alerts.{yml,yaml}",
    "**/*{-,_}alerts.{yml,yaml}",
    "**/alerts.{yml,yaml}",
];

/// Tried in order: first match wins.
pub static KINDS: &[KindSpec] = &[
    spec(
        DocKind::ReadygateManifest,
        "readygate-manifest",
        &["readygate.yaml", "readygate.yml", ".readygate.yaml"],
        None,
    ),
    spec(
        DocKind::ReadygatePolicy,
        "readygate-policy",
        &[".readygate/**"],
        None,
    ),
    spec(
        DocKind::Codeowners,
        "codeowners",
        &["CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS"],
        None,
    ),
    spec(
        DocKind::GithubWorkflow,
        "github-workflow",
        &[".github/workflows/*.yml", ".github/workflows/*.yaml"],
        None,
    ),
    spec(
        DocKind::GitlabCi,
        "gitlab-ci",
        &[".gitlab-ci.yml", ".gitlab-ci.yaml"],
        None,
    ),
    spec(
        DocKind::Terraform,
        "terraform",
        &["**/*.tf", "**/*.tofu"],
        None,
    ),
    spec(
        DocKind::TerraformLock,
        "terraform-lock",
        &["**/.terraform.lock.hcl"],
        None,
    ),
    spec(
        DocKind::PulumiProject,
        "pulumi-project",
        &["**/Pulumi.yaml", "**/Pulumi.yml"],
        None,
    ),
    spec(
        DocKind::PulumiStack,
        "pulumi-stack",
        &["**/Pulumi.*.yaml", "**/Pulumi.*.yml"],
        None,
    ),
    spec(DocKind::CdkApp, "cdk-app", &["**/cdk.json"], None),
    spec(DocKind::HelmChart, "helm-chart", &["**/Chart.yaml"], None),
    spec(
        DocKind::HelmTemplate,
        "helm-template",
        &["**/templates/**/*.yaml", "**/templates/**/*.yml"],
        Some(is_templated),
    ),
    spec(
        DocKind::Kustomization,
        "kustomization",
        &[
            "**/kustomization.yaml",
            "**/kustomization.yml",
            "**/Kustomization",
        ],
        None,
    ),
    spec(DocKind::Bicep, "bicep", &["**/*.bicep"], None),
    spec(
        DocKind::AnsibleConfig,
        "ansible-config",
        &["**/ansible.cfg"],
        None,
    ),
    spec(
        DocKind::AnsibleRoleTasks,
        "ansible-role-tasks",
        &[
            "**/roles/*/tasks/*.yml",
            "**/roles/*/tasks/*.yaml",
            "**/roles/*/handlers/*.yml",
            "**/roles/*/handlers/*.yaml",
        ],
        None,
    ),
    spec(
        DocKind::BackstageCatalog,
        "backstage-catalog",
        &["**/catalog-info.yaml", "**/catalog-info.yml"],
        Some(is_backstage),
    ),
    spec(
        DocKind::GrafanaAlerting,
        "grafana-alerting",
        YAML,
        Some(is_grafana_alerting),
    ),
    // Named like a rule file: a file that is empty or broken is still
    // reported, not skipped.
    spec(
        DocKind::PrometheusRules,
        "prometheus-rules",
        RULE_FILE_NAMES,
        Some(is_named_rule_file),
    ),
    spec(
        DocKind::PrometheusRules,
        "prometheus-rules",
        YAML,
        Some(is_prometheus_rules),
    ),
    spec(
        DocKind::DatadogMonitor,
        "datadog-monitor",
        &["**/*.json"],
        Some(is_datadog_monitor),
    ),
    spec(DocKind::Openslo, "openslo", YAML, Some(is_openslo)),
    spec(DocKind::Sloth, "sloth", YAML, Some(is_sloth)),
    spec(DocKind::Pyrra, "pyrra", YAML, Some(is_pyrra)),
    spec(
        DocKind::CloudFormation,
        "cloudformation",
        YAML,
        Some(is_cloudformation_yaml),
    ),
    spec(
        DocKind::CloudFormation,
        "cloudformation",
        &["**/*.json", "**/*.template"],
        Some(is_cloudformation_json),
    ),
    spec(
        DocKind::AnsiblePlaybook,
        "ansible-playbook",
        YAML,
        Some(is_ansible_playbook),
    ),
    spec(
        DocKind::KubernetesManifest,
        "kubernetes-manifest",
        YAML,
        Some(is_kubernetes),
    ),
];

const fn spec(
    kind: DocKind,
    name: &'static str,
    globs: &'static [&'static str],
    sniff: Option<Sniff>,
) -> KindSpec {
    KindSpec {
        kind,
        name,
        globs,
        sniff,
    }
}

/// The start of a file as the sniffs see it. Top-level lines (column 0,
/// not comments) are split once, not once per sniff.
pub struct Head<'a> {
    pub text: &'a str,
    top: Vec<&'a str>,
}

impl<'a> Head<'a> {
    pub fn new(text: &'a str) -> Self {
        let top = text
            .lines()
            .filter(|l| !l.starts_with([' ', '\t', '#']))
            .collect();
        Self { text, top }
    }

    fn top(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.top.iter().copied()
    }

    /// The value of a top-level `key:`, unquoted.
    fn value(&self, key: &str) -> Option<&'a str> {
        self.top().find_map(|l| {
            l.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix(':'))
                .map(|v| v.trim().trim_matches(['"', '\'']))
        })
    }
}

fn is_templated(head: &Head) -> bool {
    head.text.contains("{{")
}

fn is_backstage(head: &Head) -> bool {
    head.text.contains("backstage.io/")
}

fn api_version_starts(head: &Head, prefix: &str) -> bool {
    head.top().any(|l| {
        l.strip_prefix("apiVersion:")
            .is_some_and(|v| v.trim().trim_matches(['"', '\'']).starts_with(prefix))
    })
}

fn is_openslo(head: &Head) -> bool {
    api_version_starts(head, "openslo/")
}

fn is_sloth(head: &Head) -> bool {
    api_version_starts(head, "sloth.slok.dev/")
        || (head.value("version") == Some("prometheus/v1") && head.value("slos").is_some())
}

fn is_pyrra(head: &Head) -> bool {
    api_version_starts(head, "pyrra.dev/")
}

fn is_cloudformation_yaml(head: &Head) -> bool {
    if head.value("AWSTemplateFormatVersion").is_some() {
        return true;
    }
    // Synthesized templates (CDK, SAM build output) omit the version but
    // still have `Resources` with `AWS::` types.
    let transform = head
        .value("Transform")
        .is_some_and(|t| t.starts_with("AWS::"));
    let aws_type = ["Type: AWS::", "Type: 'AWS::", "Type: \"AWS::"]
        .iter()
        .any(|p| head.text.contains(p));
    head.value("Resources").is_some() && (transform || aws_type)
}

fn is_cloudformation_json(head: &Head) -> bool {
    head.text.trim_start().starts_with('{')
        && (head.text.contains("\"AWSTemplateFormatVersion\"")
            || (head.text.contains("\"Resources\"")
                && head.text.contains("\"Type\"")
                && head.text.contains("\"AWS::")))
}

fn is_ansible_playbook(head: &Head) -> bool {
    let mut plays = head.top().filter(|l| l.starts_with("- "));
    let first_is_play = plays.any(|l| {
        [
            "- hosts:",
            "- import_playbook:",
            "- ansible.builtin.import_playbook:",
        ]
        .iter()
        .any(|p| l.starts_with(p))
            || l.starts_with("- name:")
    });
    first_is_play
        && (head.text.contains("\n  hosts:")
            || head.text.contains("- hosts:")
            || head.text.contains("import_playbook:"))
}

/// Grafana provisioning files say `apiVersion: 1` (a number, not a group).
fn is_grafana_alerting(head: &Head) -> bool {
    head.value("apiVersion") == Some("1") && head.value("groups").is_some()
}

fn has_no_api_version(head: &Head) -> bool {
    head.value("apiVersion").is_none()
}

/// A file named like a rule file is one if it is empty or has `groups:`
/// (other tools' `rules.yml`, such as Semgrep's, have a top-level `rules:`).
fn is_named_rule_file(head: &Head) -> bool {
    has_no_api_version(head) && (head.text.trim().is_empty() || head.value("groups").is_some())
}

/// `groups:` at the top with rules in it. Other configs have top-level
/// `groups:` too, so a rule key must also appear.
fn is_prometheus_rules(head: &Head) -> bool {
    has_no_api_version(head)
        && head.value("groups").is_some()
        && head.text.contains("rules:")
        && ["alert:", "record:", "expr:"]
            .iter()
            .any(|k| head.text.contains(k))
}

fn is_datadog_monitor(head: &Head) -> bool {
    let t = head.text.trim_start();
    (t.starts_with('{') || t.starts_with('['))
        && ["\"query\"", "\"message\"", "\"type\"", "\"name\""]
            .iter()
            .all(|k| t.contains(k))
        && (t.contains(" alert\"")
            || t.contains("\"composite\"")
            || t.contains("\"service check\""))
}

fn is_kubernetes(head: &Head) -> bool {
    // Top-level `apiVersion` and `kind` keys, or a `List` whose items carry them.
    let api = head.top().any(|l| l.starts_with("apiVersion:"));
    let kind = head.top().any(|l| l.starts_with("kind:"));
    api && kind
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_name() {
        for spec in KINDS {
            assert_eq!(spec.kind.name(), spec.name);
        }
    }

    #[test]
    fn sniffs() {
        assert!(is_kubernetes(&Head::new(
            "---\napiVersion: apps/v1\nkind: Deployment\n"
        )));
        assert!(!is_kubernetes(&Head::new(
            "spec:\n  apiVersion: v1\n  kind: x\n"
        )));
        assert!(is_openslo(&Head::new(
            "apiVersion: openslo/v1\nkind: SLO\n"
        )));
        assert!(is_sloth(&Head::new(
            "version: \"prometheus/v1\"\nservice: x\nslos:\n  - name: a\n"
        )));
        assert!(is_cloudformation_yaml(&Head::new(
            "Resources:\n  B:\n    Type: AWS::S3::Bucket\n"
        )));
        assert!(is_cloudformation_yaml(&Head::new(
            "AWSTemplateFormatVersion: '2010-09-09'\n"
        )));
        assert!(!is_cloudformation_yaml(&Head::new("Resources:\n  - a\n")));
        assert!(is_cloudformation_json(&Head::new(
            "{\"Resources\": {\"B\": {\"Type\": \"AWS::S3::Bucket\"}}}"
        )));
        assert!(!is_cloudformation_json(&Head::new("{\"name\": \"pkg\"}")));
        assert!(is_ansible_playbook(&Head::new(
            "---\n- name: web\n  hosts: all\n  tasks: []\n"
        )));
        assert!(is_ansible_playbook(&Head::new(
            "- hosts: db\n  roles: [x]\n"
        )));
        assert!(!is_ansible_playbook(&Head::new("- name: a\n  value: 1\n")));
        assert!(is_prometheus_rules(&Head::new(
            "groups:\n  - name: a\n    rules:\n      - alert: X\n"
        )));
        assert!(!is_prometheus_rules(&Head::new(
            "groups:\n  - admins\n  - users\n"
        )));
        assert!(is_named_rule_file(&Head::new("")));
        assert!(!is_named_rule_file(&Head::new(
            "rules:\n  - id: semgrep-rule\n"
        )));
        assert!(is_grafana_alerting(&Head::new(
            "apiVersion: 1\ngroups:\n  - orgId: 1\n"
        )));
        assert!(!is_grafana_alerting(&Head::new(
            "apiVersion: 1\ncontactPoints: []\n"
        )));
        assert!(is_datadog_monitor(&Head::new(
            r#"{"name": "x", "type": "query alert", "query": "q", "message": "m"}"#
        )));
        assert!(!is_datadog_monitor(&Head::new(
            r#"{"name": "pkg", "type": "module"}"#
        )));
    }
}
