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

pub type Sniff = fn(&str) -> bool;

pub struct KindSpec {
    pub kind: DocKind,
    pub name: &'static str,
    pub globs: &'static [&'static str],
    pub sniff: Option<Sniff>,
}

const YAML: &[&str] = &["**/*.yaml", "**/*.yml"];

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

/// Lines that start at column 0, i.e. top-level YAML keys.
fn top_level_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| !l.starts_with([' ', '\t', '#']))
}

fn top_level_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    top_level_lines(text).find_map(|l| {
        l.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(|v| v.trim().trim_matches(['"', '\'']))
    })
}

fn is_templated(text: &str) -> bool {
    text.contains("{{")
}

fn is_backstage(text: &str) -> bool {
    text.contains("backstage.io/")
}

fn api_version_starts(text: &str, prefix: &str) -> bool {
    top_level_lines(text).any(|l| {
        l.strip_prefix("apiVersion:")
            .is_some_and(|v| v.trim().trim_matches(['"', '\'']).starts_with(prefix))
    })
}

fn is_openslo(text: &str) -> bool {
    api_version_starts(text, "openslo/")
}

fn is_sloth(text: &str) -> bool {
    api_version_starts(text, "sloth.slok.dev/")
        || (top_level_value(text, "version") == Some("prometheus/v1")
            && top_level_value(text, "slos").is_some())
}

fn is_pyrra(text: &str) -> bool {
    api_version_starts(text, "pyrra.dev/")
}

fn is_cloudformation_yaml(text: &str) -> bool {
    if top_level_value(text, "AWSTemplateFormatVersion").is_some() {
        return true;
    }
    // Synthesized templates (CDK, SAM build output) omit the version but
    // still have `Resources` with `AWS::` types.
    let transform = top_level_value(text, "Transform").is_some_and(|t| t.starts_with("AWS::"));
    let aws_type = ["Type: AWS::", "Type: 'AWS::", "Type: \"AWS::"]
        .iter()
        .any(|p| text.contains(p));
    top_level_value(text, "Resources").is_some() && (transform || aws_type)
}

fn is_cloudformation_json(text: &str) -> bool {
    let head = text.trim_start();
    head.starts_with('{')
        && (text.contains("\"AWSTemplateFormatVersion\"")
            || (text.contains("\"Resources\"")
                && text.contains("\"Type\"")
                && text.contains("\"AWS::")))
}

fn is_ansible_playbook(text: &str) -> bool {
    let mut plays = top_level_lines(text).filter(|l| l.starts_with("- "));
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
        && (text.contains("\n  hosts:")
            || text.contains("- hosts:")
            || text.contains("import_playbook:"))
}

fn is_kubernetes(text: &str) -> bool {
    // Top-level `apiVersion` and `kind` keys, or a `List` whose items carry them.
    let api = top_level_lines(text).any(|l| l.starts_with("apiVersion:"));
    let kind = top_level_lines(text).any(|l| l.starts_with("kind:"));
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
        assert!(is_kubernetes(
            "---\napiVersion: apps/v1\nkind: Deployment\n"
        ));
        assert!(!is_kubernetes("spec:\n  apiVersion: v1\n  kind: x\n"));
        assert!(is_openslo("apiVersion: openslo/v1\nkind: SLO\n"));
        assert!(is_sloth(
            "version: \"prometheus/v1\"\nservice: x\nslos:\n  - name: a\n"
        ));
        assert!(is_cloudformation_yaml(
            "Resources:\n  B:\n    Type: AWS::S3::Bucket\n"
        ));
        assert!(is_cloudformation_yaml(
            "AWSTemplateFormatVersion: '2010-09-09'\n"
        ));
        assert!(!is_cloudformation_yaml("Resources:\n  - a\n"));
        assert!(is_cloudformation_json(
            "{\"Resources\": {\"B\": {\"Type\": \"AWS::S3::Bucket\"}}}"
        ));
        assert!(!is_cloudformation_json("{\"name\": \"pkg\"}"));
        assert!(is_ansible_playbook(
            "---\n- name: web\n  hosts: all\n  tasks: []\n"
        ));
        assert!(is_ansible_playbook("- hosts: db\n  roles: [x]\n"));
        assert!(!is_ansible_playbook("- name: a\n  value: 1\n"));
    }
}
