//! Collectors turn one document into facts. They are pure: they read only the
//! document handed to them, never decide pass or fail, and report a document
//! they cannot parse as a problem (the gate goes on). [`assemble`] then joins
//! facts that span files (Terraform modules, Pulumi stacks) into evidence.

use std::collections::BTreeMap;

use crate::diag::ConfigError;
use crate::discover::{DocKind, Document, Walk};
use crate::evidence::*;
use crate::yaml::{self, Node};

mod alerts;
mod ci;
mod iac;
pub mod pages;
mod runbooks;
mod service;
mod slo;
mod terraform;

pub use alerts::AlertFact;
pub use runbooks::{RepoIdentity, resolve_runbooks};
pub use terraform::TerraformFile;

/// One thing a collector learnt from one document.
#[derive(Debug)]
pub enum Fact {
    Manifest(Result<ManifestFact, ConfigError>),
    Catalog(CatalogEntity),
    Codeowners(Codeowners),
    Slo(Slo),
    GithubWorkflow(CiPipeline),
    Gitlab(CiPipeline),
    TerraformFile(TerraformFile),
    TerraformLock { dir: String, path: String },
    Pulumi(PulumiProject),
    PulumiStack { dir: String, path: String },
    CloudFormation(CloudFormationTemplate),
    Cdk(CdkApp),
    Helm(HelmChart),
    Kustomize(Kustomization),
    Kubernetes(KubernetesObject),
    Ansible(AnsiblePlaybook),
    Bicep(BicepFile),
    Alert(Box<AlertFact>),
    AlertSource(AlertSource),
    TemplatedSource(TemplatedSource),
    Problem(Problem),
}

/// Collect every fact in one document.
pub fn collect(doc: &Document) -> Vec<Fact> {
    let mut facts = Vec::new();
    let out = &mut facts;
    match doc.kind {
        DocKind::ReadygateManifest => service::manifest(doc, out),
        DocKind::ReadygatePolicy => {}
        DocKind::HelmTemplate => alerts::helm_template(doc, out),
        DocKind::PrometheusRules => alerts::prometheus_file(doc, out),
        DocKind::GrafanaAlerting => with_yaml(doc, out, alerts::grafana),
        DocKind::DatadogMonitor => with_yaml(doc, out, alerts::datadog_json),
        DocKind::BackstageCatalog => with_yaml(doc, out, service::catalog),
        DocKind::Codeowners => out.push(Fact::Codeowners(service::codeowners(doc))),
        DocKind::GithubWorkflow => with_yaml(doc, out, ci::github_workflow),
        DocKind::GitlabCi => with_yaml(doc, out, ci::gitlab),
        DocKind::Terraform => terraform::file(doc, out),
        DocKind::TerraformLock => out.push(Fact::TerraformLock {
            dir: parent_dir(&doc.path),
            path: doc.path.clone(),
        }),
        DocKind::PulumiProject => with_yaml(doc, out, iac::pulumi),
        DocKind::PulumiStack => out.push(Fact::PulumiStack {
            dir: parent_dir(&doc.path),
            path: doc.path.clone(),
        }),
        DocKind::CdkApp => with_yaml(doc, out, iac::cdk),
        DocKind::HelmChart => with_yaml(doc, out, iac::helm),
        DocKind::Kustomization => with_yaml(doc, out, iac::kustomize),
        DocKind::Bicep => out.push(Fact::Bicep(iac::bicep(doc))),
        DocKind::AnsibleConfig => out.push(Fact::Ansible(AnsiblePlaybook {
            location: Location::file(&doc.path),
            kind: "config".into(),
            plays: 0,
        })),
        DocKind::AnsiblePlaybook => {
            with_yaml(doc, out, |d, n, o| iac::ansible(d, n, o, "playbook"))
        }
        DocKind::AnsibleRoleTasks => {
            with_yaml(doc, out, |d, n, o| iac::ansible(d, n, o, "role-tasks"))
        }
        DocKind::CloudFormation => with_yaml(doc, out, iac::cloudformation),
        DocKind::Openslo => with_yaml(doc, out, slo::openslo),
        DocKind::Sloth => with_yaml(doc, out, slo::sloth),
        DocKind::Pyrra => with_yaml(doc, out, slo::pyrra),
        DocKind::KubernetesManifest => with_yaml(doc, out, iac::kubernetes),
    }
    facts
}

/// Parse the document (all YAML documents in it) and hand each to `f`, or
/// record it as unparseable at the line the parser stopped.
fn with_yaml(doc: &Document, out: &mut Vec<Fact>, f: impl Fn(&Document, &Node, &mut Vec<Fact>)) {
    match yaml::parse_documents(&doc.text) {
        Ok(nodes) => nodes.iter().for_each(|node| f(doc, node, out)),
        Err(err) => out.push(unparseable(doc, err.pos, &err.message)),
    }
}

pub(crate) fn unparseable(doc: &Document, pos: yaml::Pos, message: &str) -> Fact {
    Fact::Problem(Problem {
        kind: ProblemKind::Unparseable,
        document_kind: Some(doc.kind.name().into()),
        location: Location::at(&doc.path, pos),
        message: message.to_string(),
    })
}

/// A problem with a document's shape (it parsed, but not into what its kind
/// requires), reported like a parse failure.
pub(crate) fn malformed(doc: &Document, node: &Node, message: impl Into<String>) -> Fact {
    unparseable(doc, node.pos, &message.into())
}

pub(crate) fn parent_dir(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, _)) => dir.to_string(),
        None => ".".into(),
    }
}

/// Resolve `rel` (`../x/./y`) against the directory `base` (`.` is the
/// root) into a clean relative path; `None` if it leaves the repository.
pub(crate) fn normalize(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = if base == "." {
        Vec::new()
    } else {
        base.split('/').collect()
    };
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    })
}

pub(crate) fn strings(node: Option<&Node>) -> Vec<String> {
    node.and_then(Node::as_seq)
        .map(|items| items.iter().filter_map(Node::scalar_text).collect())
        .unwrap_or_default()
}

/// Join facts into the evidence document. Fails only for a broken manifest,
/// which is configuration, not evidence.
pub fn assemble(
    facts: Vec<Fact>,
    walk: Walk,
    by_kind: BTreeMap<String, u64>,
) -> Result<Evidence, ConfigError> {
    let mut ev = Evidence {
        evidence_version: EVIDENCE_VERSION,
        generator: format!("readygate {}", env!("CARGO_PKG_VERSION")),
        files: FileStats {
            visited: walk.visited,
            by_kind,
            binary: walk.binary,
        },
        problems: walk.problems,
        ..Evidence::default()
    };
    let mut tf_files = Vec::new();
    let mut tf_locks = BTreeMap::new();
    let mut stacks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut manifests = Vec::new();
    let mut alert_facts = Vec::new();
    let mut alert_sources = Vec::new();
    for fact in facts {
        match fact {
            Fact::Manifest(m) => manifests.push(m),
            Fact::Catalog(c) => ev.service.catalog.push(c),
            Fact::Codeowners(c) => {
                // GitHub reads .github/ first, then the root, then docs/.
                let rank = |p: &str| {
                    let dir = p.strip_suffix("CODEOWNERS").unwrap_or(p);
                    [".github/", "", "docs/"].iter().position(|d| *d == dir)
                };
                let better = ev
                    .service
                    .codeowners
                    .as_ref()
                    .is_none_or(|cur| rank(&c.location.path) < rank(&cur.location.path));
                if better {
                    ev.service.codeowners = Some(c);
                }
            }
            Fact::Slo(s) => ev.service.slos.push(s),
            Fact::GithubWorkflow(w) => ev.ci.github_workflows.push(w),
            Fact::Gitlab(g) => ev.ci.gitlab.push(g),
            Fact::TerraformFile(f) => tf_files.push(f),
            Fact::TerraformLock { dir, path } => {
                tf_locks.insert(dir, path);
            }
            Fact::Pulumi(p) => ev.iac.pulumi.push(p),
            Fact::PulumiStack { dir, path } => stacks.entry(dir).or_default().push(path),
            Fact::CloudFormation(t) => ev.iac.cloudformation.push(t),
            Fact::Cdk(c) => ev.iac.cdk.push(c),
            Fact::Helm(h) => ev.iac.helm.push(h),
            Fact::Kustomize(k) => ev.iac.kustomize.push(k),
            Fact::Kubernetes(k) => ev.iac.kubernetes.push(k),
            Fact::Ansible(a) => ev.iac.ansible.push(a),
            Fact::Bicep(b) => ev.iac.bicep.push(b),
            Fact::Alert(a) => alert_facts.push(*a),
            Fact::AlertSource(s) => alert_sources.push(s),
            Fact::TemplatedSource(t) => ev.alerts.templated_sources.push(t),
            Fact::Problem(p) => ev.problems.push(p),
        }
    }
    // The shallowest manifest wins (`readygate.yaml` before `.readygate.yaml`).
    manifests.sort_by_key(|m| match m {
        Ok(m) => m.location.path.clone(),
        Err(e) => e.file.clone().unwrap_or_default(),
    });
    if let Some(first) = manifests.into_iter().next() {
        let mut manifest = first?;
        manifest.manifest.owners.sort();
        ev.service.manifest = Some(manifest);
    }
    for p in &mut ev.iac.pulumi {
        p.stacks = stacks
            .remove(&parent_dir(&p.location.path))
            .unwrap_or_default();
        p.stacks.sort();
    }
    ev.iac.terraform = terraform::modules(tf_files, tf_locks);
    let keys = ev
        .service
        .manifest
        .as_ref()
        .and_then(|m| m.manifest.alerts.as_ref()?.runbook_keys.clone())
        .unwrap_or_else(|| DEFAULT_RUNBOOK_KEYS.iter().map(|k| k.to_string()).collect());
    ev.alerts.alerts = alert_facts
        .into_iter()
        .map(|f| {
            let mut alert = f.alert;
            alert.runbook = runbooks::choose(&f.links, &keys);
            alert
        })
        .collect();
    ev.alerts.runbook_keys = keys;
    ev.alerts.sources = merge_sources(alert_sources);
    ev.alerts.recording_rules = ev.alerts.sources.iter().map(|s| s.recording_rules).sum();
    sort_evidence(&mut ev);
    Ok(ev)
}

/// One entry per file and engine (a multi-document file reports per document).
fn merge_sources(sources: Vec<AlertSource>) -> Vec<AlertSource> {
    let mut merged: BTreeMap<(String, AlertEngine), AlertSource> = BTreeMap::new();
    for s in sources {
        merged
            .entry((s.path.clone(), s.engine))
            .and_modify(|m| {
                m.alerts += s.alerts;
                m.recording_rules += s.recording_rules;
            })
            .or_insert(s);
    }
    merged.into_values().collect()
}

/// The walk is parallel; sort so output never depends on thread timing.
fn sort_evidence(ev: &mut Evidence) {
    ev.problems.sort();
    ev.service
        .catalog
        .sort_by(|a, b| a.location.cmp(&b.location));
    ev.service
        .slos
        .sort_by(|a, b| a.location.cmp(&b.location).then(a.name.cmp(&b.name)));
    ev.ci
        .github_workflows
        .sort_by(|a, b| a.location.cmp(&b.location));
    ev.ci.gitlab.sort_by(|a, b| a.location.cmp(&b.location));
    let iac = &mut ev.iac;
    iac.pulumi.sort_by(|a, b| a.location.cmp(&b.location));
    iac.cloudformation
        .sort_by(|a, b| a.location.cmp(&b.location));
    iac.cdk.sort_by(|a, b| a.location.cmp(&b.location));
    iac.helm.sort_by(|a, b| a.location.cmp(&b.location));
    iac.kustomize.sort_by(|a, b| a.location.cmp(&b.location));
    iac.kubernetes.sort_by(|a, b| a.location.cmp(&b.location));
    iac.ansible.sort_by(|a, b| a.location.cmp(&b.location));
    iac.bicep.sort_by(|a, b| a.location.cmp(&b.location));
    let alerts = &mut ev.alerts;
    alerts
        .alerts
        .sort_by(|a, b| a.location.cmp(&b.location).then(a.name.cmp(&b.name)));
    alerts
        .templated_sources
        .sort_by(|a, b| a.location.cmp(&b.location));
}
