//! Infrastructure as code other than Terraform: Pulumi, CloudFormation/SAM,
//! CDK, Helm, Kustomize, raw Kubernetes manifests, Ansible and Bicep.

use super::Fact;
use super::section::*;
use crate::document::{Document, Sink, kubernetes_objects, malformed, strings};
use crate::evidence::Location;
use crate::yaml::{Node, Value};

pub fn pulumi(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    out.push(Fact::Pulumi(PulumiProject {
        location: Location::at(&doc.path, node.pos),
        name: node.scalar_text_at("name"),
        runtime: node
            .get("runtime")
            .and_then(|r| r.scalar_text().or_else(|| r.scalar_text_at("name"))),
        stacks: Vec::new(),
    }));
}

pub fn cdk(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    out.push(Fact::Cdk(CdkApp {
        location: Location::at(&doc.path, node.pos),
        app: node.scalar_text_at("app"),
    }));
}

pub fn helm(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    if !node.is_map() {
        out.problem(malformed(
            doc,
            node,
            "Chart.yaml must be a mapping with `name` and `version`",
        ));
        return;
    }
    let dependencies = node
        .get("dependencies")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|d| d.scalar_text_at("name"))
        .collect();
    out.push(Fact::Helm(HelmChart {
        location: Location::at(&doc.path, node.pos),
        name: node.scalar_text_at("name"),
        version: node.scalar_text_at("version"),
        api_version: node.scalar_text_at("apiVersion"),
        dependencies,
    }));
}

pub fn kustomize(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    let mut resources = strings(node.get("resources"));
    // `bases` is the pre-v2.1 spelling of `resources`.
    resources.extend(strings(node.get("bases")));
    out.push(Fact::Kustomize(Kustomization {
        location: Location::at(&doc.path, node.pos),
        resources,
    }));
}

/// Every object in a multi-document manifest, and every item of a `List`.
pub fn kubernetes(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    kubernetes_objects(node, &mut |object, api_version, kind| {
        let metadata = object.get("metadata");
        if let Some(w) = crate::evidence::workload::workload(&doc.path, object, &kind) {
            out.push(Fact::Workload(Box::new(w)));
        }
        if kind == "PodDisruptionBudget" && api_version.starts_with("policy/") {
            let spec = object.get("spec");
            let text = |k: &str| spec.and_then(|s| s.scalar_text_at(k));
            out.push(Fact::Pdb(PodDisruptionBudget {
                name: metadata
                    .and_then(|m| m.scalar_text_at("name"))
                    .unwrap_or_default(),
                namespace: metadata.and_then(|m| m.scalar_text_at("namespace")),
                match_labels: spec
                    .and_then(|s| s.path(&["selector", "matchLabels"]))
                    .and_then(Node::as_map)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|(k, v)| Some((k.name.clone(), v.scalar_text()?)))
                    .collect(),
                min_available: text("minAvailable"),
                max_unavailable: text("maxUnavailable"),
                location: Location::at(&doc.path, object.pos),
            }));
        }
        out.push(Fact::Kubernetes(KubernetesObject {
            location: Location::at(&doc.path, object.pos),
            api_version,
            kind,
            name: metadata.and_then(|m| m.scalar_text_at("name")),
            namespace: metadata.and_then(|m| m.scalar_text_at("namespace")),
        }))
    });
}

pub fn ansible(doc: &Document, node: &Node, out: &mut Sink<Fact>, kind: &str) {
    let Some(items) = node.as_seq() else {
        if !matches!(node.value, Value::Null) {
            out.problem(malformed(
                doc,
                node,
                format!("an Ansible {kind} file must be a list"),
            ));
        }
        return;
    };
    let plays = items
        .iter()
        .filter(|p| p.get("hosts").is_some() || p.get("import_playbook").is_some())
        .count();
    out.push(Fact::Ansible(AnsiblePlaybook {
        location: Location::at(&doc.path, node.pos),
        kind: kind.to_string(),
        plays: plays as u32,
    }));
}

pub fn bicep(doc: &Document) -> BicepFile {
    let resources = doc
        .text
        .lines()
        .filter(|l| {
            l.trim_start().starts_with("resource ") || l.trim_start().starts_with("module ")
        })
        .count();
    BicepFile {
        location: Location::file(&doc.path),
        resources: resources as u32,
    }
}

pub fn cloudformation(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    let Some(resources) = node.get("Resources") else {
        return;
    };
    let Some(entries) = resources.as_map() else {
        out.problem(malformed(
            doc,
            resources,
            "`Resources` must be a mapping of logical IDs to resources",
        ));
        return;
    };
    let transforms = match node.get("Transform").map(|t| &t.untagged().value) {
        Some(Value::Str(s)) => vec![s.clone()],
        Some(Value::Seq(items)) => items.iter().filter_map(Node::scalar_text).collect(),
        _ => Vec::new(),
    };
    let format = if doc.text.trim_start().starts_with('{') {
        "json"
    } else {
        "yaml"
    };
    out.push(Fact::CloudFormation(CloudFormationTemplate {
        location: Location::at(&doc.path, node.pos),
        format: format.into(),
        synthesized: node.get("AWSTemplateFormatVersion").is_none(),
        transforms,
        resources: entries
            .iter()
            .map(|(key, res)| CloudFormationResource {
                logical_id: key.name.clone(),
                resource_type: res.scalar_text_at("Type").unwrap_or_default(),
                location: Location::at(&doc.path, key.pos),
            })
            .collect(),
    }));
}
