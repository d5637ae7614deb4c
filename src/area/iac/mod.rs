//! Infrastructure as code: Terraform/OpenTofu (joined per directory into
//! modules), Pulumi, CloudFormation/SAM, CDK, Helm, Kustomize, Kubernetes
//! manifests, Ansible and Bicep.

use std::collections::BTreeMap;

use crate::check::SectionCheck;
use crate::contract::{Area, Assembly};
use crate::document::shared::{CLOUDFORMATION, KUBERNETES_MANIFEST, TERRAFORM};
use crate::document::{DocKind, Document, Head, KindSpec, Sink, YAML, parent_dir};
use crate::evidence::Location;
use crate::evidence::Problem;

mod checks;
mod collect;
pub mod section;
mod terraform;

pub use section::Iac;
use section::*;

const TERRAFORM_LOCK: DocKind = DocKind("terraform-lock");
const PULUMI_PROJECT: DocKind = DocKind("pulumi-project");
const PULUMI_STACK: DocKind = DocKind("pulumi-stack");
const CDK_APP: DocKind = DocKind("cdk-app");
const HELM_CHART: DocKind = DocKind("helm-chart");
const KUSTOMIZATION: DocKind = DocKind("kustomization");
const BICEP: DocKind = DocKind("bicep");
const ANSIBLE_CONFIG: DocKind = DocKind("ansible-config");
const ANSIBLE_PLAYBOOK: DocKind = DocKind("ansible-playbook");
const ANSIBLE_ROLE_TASKS: DocKind = DocKind("ansible-role-tasks");

const fn path_kind(kind: DocKind, globs: &'static [&'static str], order: u16) -> KindSpec {
    KindSpec {
        kind,
        globs,
        sniff: None,
        order,
    }
}

static KINDS: &[KindSpec] = &[
    path_kind(TERRAFORM, &["**/*.tf", "**/*.tofu"], 50),
    path_kind(TERRAFORM_LOCK, &["**/.terraform.lock.hcl"], 60),
    path_kind(PULUMI_PROJECT, &["**/Pulumi.yaml", "**/Pulumi.yml"], 70),
    path_kind(PULUMI_STACK, &["**/Pulumi.*.yaml", "**/Pulumi.*.yml"], 80),
    path_kind(CDK_APP, &["**/cdk.json"], 90),
    path_kind(HELM_CHART, &["**/Chart.yaml"], 100),
    path_kind(
        KUSTOMIZATION,
        &[
            "**/kustomization.yaml",
            "**/kustomization.yml",
            "**/Kustomization",
        ],
        120,
    ),
    path_kind(BICEP, &["**/*.bicep"], 130),
    path_kind(ANSIBLE_CONFIG, &["**/ansible.cfg"], 140),
    path_kind(
        ANSIBLE_ROLE_TASKS,
        &[
            "**/roles/*/tasks/*.yml",
            "**/roles/*/tasks/*.yaml",
            "**/roles/*/handlers/*.yml",
            "**/roles/*/handlers/*.yaml",
        ],
        150,
    ),
    KindSpec {
        kind: CLOUDFORMATION,
        globs: YAML,
        sniff: Some(is_cloudformation_yaml),
        order: 240,
    },
    KindSpec {
        kind: CLOUDFORMATION,
        globs: &["**/*.json", "**/*.template"],
        sniff: Some(is_cloudformation_json),
        order: 250,
    },
    KindSpec {
        kind: ANSIBLE_PLAYBOOK,
        globs: YAML,
        sniff: Some(is_ansible_playbook),
        order: 260,
    },
    // Last: any YAML with top-level apiVersion and kind.
    KindSpec {
        kind: KUBERNETES_MANIFEST,
        globs: YAML,
        sniff: Some(is_kubernetes),
        order: 270,
    },
];

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

fn is_kubernetes(head: &Head) -> bool {
    // Top-level `apiVersion` and `kind` keys, or a `List` whose items carry them.
    let api = head.top().any(|l| l.starts_with("apiVersion:"));
    let kind = head.top().any(|l| l.starts_with("kind:"));
    api && kind
}

#[derive(Debug)]
pub enum Fact {
    TerraformFile(terraform::TerraformFile),
    TerraformLock { dir: String, path: String },
    Pulumi(PulumiProject),
    PulumiStack { dir: String, path: String },
    CloudFormation(CloudFormationTemplate),
    Cdk(CdkApp),
    Helm(HelmChart),
    Kustomize(Kustomization),
    Kubernetes(KubernetesObject),
    Workload(Box<crate::evidence::workload::Workload>),
    Pdb(PodDisruptionBudget),
    Ansible(AnsiblePlaybook),
    Bicep(BicepFile),
}

pub struct IacArea;

impl Area for IacArea {
    type Fact = Fact;
    type Section = Iac;

    fn name(&self) -> &'static str {
        "iac"
    }
    fn kinds(&self) -> &'static [KindSpec] {
        KINDS
    }
    fn reads(&self) -> &'static [DocKind] {
        &[
            TERRAFORM,
            TERRAFORM_LOCK,
            PULUMI_PROJECT,
            PULUMI_STACK,
            CDK_APP,
            HELM_CHART,
            KUSTOMIZATION,
            BICEP,
            ANSIBLE_CONFIG,
            ANSIBLE_PLAYBOOK,
            ANSIBLE_ROLE_TASKS,
            CLOUDFORMATION,
            KUBERNETES_MANIFEST,
        ]
    }
    fn collect(&self, doc: &Document, out: &mut Sink<Fact>) {
        let yaml = |out: &mut Sink<Fact>, f: fn(&Document, &crate::yaml::Node, &mut Sink<Fact>)| {
            doc.each_yaml(out, |n, out| f(doc, n, out))
        };
        match doc.kind {
            TERRAFORM => terraform::file(doc, out),
            TERRAFORM_LOCK => out.push(Fact::TerraformLock {
                dir: parent_dir(&doc.path),
                path: doc.path.clone(),
            }),
            PULUMI_PROJECT => yaml(out, collect::pulumi),
            PULUMI_STACK => out.push(Fact::PulumiStack {
                dir: parent_dir(&doc.path),
                path: doc.path.clone(),
            }),
            CDK_APP => yaml(out, collect::cdk),
            HELM_CHART => yaml(out, collect::helm),
            KUSTOMIZATION => yaml(out, collect::kustomize),
            BICEP => out.push(Fact::Bicep(collect::bicep(doc))),
            ANSIBLE_CONFIG => out.push(Fact::Ansible(AnsiblePlaybook {
                location: Location::file(&doc.path),
                kind: "config".into(),
                plays: 0,
            })),
            ANSIBLE_PLAYBOOK => {
                doc.each_yaml(out, |n, out| collect::ansible(doc, n, out, "playbook"))
            }
            ANSIBLE_ROLE_TASKS => {
                doc.each_yaml(out, |n, out| collect::ansible(doc, n, out, "role-tasks"))
            }
            CLOUDFORMATION => yaml(out, collect::cloudformation),
            KUBERNETES_MANIFEST => yaml(out, collect::kubernetes),
            _ => {}
        }
    }
    fn assemble(&self, facts: Vec<Fact>, _: &Assembly, _: &mut Vec<Problem>) -> Iac {
        let mut iac = Iac::default();
        let mut tf_files = Vec::new();
        let mut tf_locks = BTreeMap::new();
        let mut stacks: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for fact in facts {
            match fact {
                Fact::TerraformFile(f) => tf_files.push(f),
                Fact::TerraformLock { dir, path } => {
                    tf_locks.insert(dir, path);
                }
                Fact::Pulumi(p) => iac.pulumi.push(p),
                Fact::PulumiStack { dir, path } => stacks.entry(dir).or_default().push(path),
                Fact::CloudFormation(t) => iac.cloudformation.push(t),
                Fact::Cdk(c) => iac.cdk.push(c),
                Fact::Helm(h) => iac.helm.push(h),
                Fact::Kustomize(k) => iac.kustomize.push(k),
                Fact::Kubernetes(k) => iac.kubernetes.push(k),
                Fact::Workload(w) => iac.workloads.push(IacWorkload {
                    workload: *w,
                    pod_disruption_budgets: Vec::new(),
                }),
                Fact::Pdb(p) => iac.pod_disruption_budgets.push(p),
                Fact::Ansible(a) => iac.ansible.push(a),
                Fact::Bicep(b) => iac.bicep.push(b),
            }
        }
        for p in &mut iac.pulumi {
            p.stacks = stacks
                .remove(&parent_dir(&p.location.path))
                .unwrap_or_default();
            p.stacks.sort();
        }
        iac.terraform = terraform::modules(tf_files, tf_locks);
        // The walk is parallel; sort so output never depends on thread timing.
        iac.pulumi.sort_by(|a, b| a.location.cmp(&b.location));
        iac.cloudformation
            .sort_by(|a, b| a.location.cmp(&b.location));
        iac.cdk.sort_by(|a, b| a.location.cmp(&b.location));
        iac.helm.sort_by(|a, b| a.location.cmp(&b.location));
        iac.kustomize.sort_by(|a, b| a.location.cmp(&b.location));
        iac.kubernetes.sort_by(|a, b| a.location.cmp(&b.location));
        iac.workloads
            .sort_by(|a, b| a.workload.location.cmp(&b.workload.location));
        iac.pod_disruption_budgets
            .sort_by(|a, b| a.location.cmp(&b.location));
        // A PDB selects a workload's pods when every label it matches is on
        // them, in the same namespace (an empty selector selects nothing).
        for w in &mut iac.workloads {
            w.pod_disruption_budgets = iac
                .pod_disruption_budgets
                .iter()
                .filter(|p| p.namespace == w.workload.namespace && !p.match_labels.is_empty())
                .filter(|p| {
                    p.match_labels
                        .iter()
                        .all(|(k, v)| w.workload.pod_labels.get(k) == Some(v))
                })
                .map(|p| p.name.clone())
                .take(20)
                .collect();
        }
        iac.ansible.sort_by(|a, b| a.location.cmp(&b.location));
        iac.bicep.sort_by(|a, b| a.location.cmp(&b.location));
        iac
    }
    fn checks(&self) -> Vec<&'static dyn SectionCheck<Iac>> {
        vec![
            &checks::IacPresent,
            &checks::TerraformLockfile,
            &checks::TerraformBackend,
        ]
    }
}
