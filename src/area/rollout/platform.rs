//! Platform-native rollout and rollback evidence: Kubernetes workloads,
//! Argo Rollouts and their analysis templates, Flagger canaries, what
//! exposes a workload to users, GitOps applications; ECS circuit breakers
//! and CodeDeploy automatic rollback in Terraform and CloudFormation.

use std::collections::BTreeMap;

use hcl_edit::Span;
use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, Body};

use super::Fact;
use super::pipelines::one_line;
use super::section::{AnalysisMetric, AnalysisTemplate, Deploy, RollbackKind, RollbackPath};
use crate::document::{Document, Sink, block_label, kubernetes_objects};
use crate::evidence::Location;
use crate::evidence::workload::workload;
use crate::yaml::Node;

/// What drives a progressive rollout of a workload.
#[derive(Debug)]
pub struct Progressive {
    pub location: Location,
    /// `Rollout` or `Canary` (Flagger).
    pub by: &'static str,
    /// `canary` or `blue-green`.
    pub strategy: &'static str,
    pub name: String,
    pub namespace: Option<String>,
    /// The Deployment it rolls out (Flagger's `targetRef`, a Rollout's
    /// `workloadRef`); a Rollout with its own template rolls itself.
    pub target: Option<String>,
    /// The target's kind (Flagger may target a DaemonSet).
    pub target_kind: String,
    pub automated_analysis: bool,
    /// Analysis templates it names: name, cluster-scoped, where.
    pub templates: Vec<(String, bool, Location)>,
}

/// A Service, or a route to Services by name.
#[derive(Debug)]
pub enum Exposure {
    Service {
        name: String,
        namespace: Option<String>,
        /// LoadBalancer or NodePort: reachable from outside by itself.
        external: Option<String>,
        selector: BTreeMap<String, String>,
    },
    Route {
        /// `Ingress web`, `HTTPRoute web`.
        by: String,
        namespace: Option<String>,
        services: Vec<String>,
    },
}

fn name_of(object: &Node) -> String {
    object
        .path(&["metadata", "name"])
        .and_then(Node::scalar_text)
        .map(|n| one_line(&n))
        .unwrap_or_default()
}

fn namespace_of(object: &Node) -> Option<String> {
    object
        .path(&["metadata", "namespace"])
        .and_then(Node::scalar_text)
        .map(|n| one_line(&n))
}

pub fn kubernetes(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    kubernetes_objects(node, &mut |object, api_version, kind| {
        let at = |n: &Node| Location::at(&doc.path, n.pos);
        let argo = api_version.starts_with("argoproj.io/");
        if let Some(w) = workload(&doc.path, object, &kind).filter(|_| kind != "Rollout" || argo) {
            out.push(Fact::Workload(w));
        }
        let spec = object.get("spec");
        match kind.as_str() {
            "Rollout" if argo => out.push(Fact::Progressive(argo_rollout(doc, object))),
            "AnalysisTemplate" | "ClusterAnalysisTemplate" if argo => {
                out.push(Fact::Template(AnalysisTemplate {
                    location: at(object),
                    kind: kind.clone(),
                    name: name_of(object),
                    namespace: namespace_of(object),
                    metrics: spec
                        .and_then(|s| s.get("metrics"))
                        .and_then(Node::as_seq)
                        .unwrap_or_default()
                        .iter()
                        .map(|m| AnalysisMetric {
                            name: m.scalar_text_at("name").unwrap_or_default(),
                            success_condition: m.scalar_text_at("successCondition"),
                            failure_condition: m.scalar_text_at("failureCondition"),
                            failure_limit: m.scalar_text_at("failureLimit"),
                        })
                        .collect(),
                }))
            }
            "Canary" if api_version.starts_with("flagger.app/") => {
                flagger(doc, object, out);
            }
            "ApplicationSet" if argo => {
                out.push(Fact::Deploy(Deploy {
                    location: at(object),
                    by: "argocd".into(),
                    name: name_of(object),
                    what: "Argo CD ApplicationSet".into(),
                }));
            }
            "Application" if argo => {
                let name = name_of(object);
                out.push(Fact::Deploy(Deploy {
                    location: at(object),
                    by: "argocd".into(),
                    name: name.clone(),
                    what: "Argo CD Application".into(),
                }));
                let history = spec
                    .and_then(|s| s.get("revisionHistoryLimit"))
                    .and_then(Node::scalar_text)
                    .and_then(|t| t.parse::<i64>().ok());
                let automated = spec
                    .and_then(|s| s.path(&["syncPolicy", "automated"]))
                    .is_some();
                let (counted, why) = match (history, automated) {
                    (Some(0), _) => (
                        false,
                        "revisionHistoryLimit: 0 keeps no history to roll back to".to_string(),
                    ),
                    (_, true) => (
                        true,
                        "automated sync: a bad deploy is undone by reverting the commit it synced (argocd app rollback needs auto-sync off)".to_string(),
                    ),
                    _ => (
                        true,
                        format!(
                            "keeps {} past syncs for `argocd app rollback`",
                            history.unwrap_or(10)
                        ),
                    ),
                };
                out.push(Fact::Rollback(RollbackPath {
                    location: at(object),
                    kind: RollbackKind::Argocd,
                    detail: format!("Argo CD Application `{name}`"),
                    counted,
                    why,
                }));
            }
            "HelmRelease" if api_version.starts_with("helm.toolkit.fluxcd.io/") => {
                let name = name_of(object);
                out.push(Fact::Deploy(Deploy {
                    location: at(object),
                    by: "flux".into(),
                    name: name.clone(),
                    what: "Flux HelmRelease".into(),
                }));
                let remediation = spec.and_then(|s| s.path(&["upgrade", "remediation"]));
                if let Some(r) = remediation {
                    let strategy = r.str_at("strategy").unwrap_or("rollback");
                    let retries = r.scalar_text_at("retries").unwrap_or_default();
                    let last = r.scalar_text_at("remediateLastFailure").as_deref() == Some("true");
                    let counted =
                        strategy == "rollback" && ((retries != "0" && !retries.is_empty()) || last);
                    out.push(Fact::Rollback(RollbackPath {
                        location: at(r),
                        kind: RollbackKind::HelmAtomic,
                        detail: format!("Flux HelmRelease `{name}` upgrade remediation"),
                        counted,
                        why: if counted {
                            "a failed upgrade is rolled back by Flux".into()
                        } else {
                            "remediation without retries (or strategy uninstall) does not roll back"
                                .into()
                        },
                    }));
                }
            }
            "Kustomization" if api_version.starts_with("kustomize.toolkit.fluxcd.io/") => {
                let name = name_of(object);
                out.push(Fact::Deploy(Deploy {
                    location: at(object),
                    by: "flux".into(),
                    name: name.clone(),
                    what: "Flux Kustomization".into(),
                }));
                // As for Argo CD's automated sync: the deploy is a commit.
                out.push(Fact::Rollback(RollbackPath {
                    location: at(object),
                    kind: RollbackKind::Gitops,
                    detail: format!("Flux Kustomization `{name}`"),
                    counted: true,
                    why: "GitOps: a bad deploy is undone by reverting the commit Flux applied"
                        .into(),
                }));
            }
            "Service" => {
                let kind = spec.and_then(|s| s.str_at("type")).unwrap_or("ClusterIP");
                out.push(Fact::Exposure(Exposure::Service {
                    name: name_of(object),
                    namespace: namespace_of(object),
                    external: matches!(kind, "LoadBalancer" | "NodePort")
                        .then(|| format!("Service {} of type {kind}", name_of(object))),
                    selector: spec
                        .and_then(|s| s.get("selector"))
                        .and_then(Node::as_map)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|(k, v)| Some((k.name.clone(), v.scalar_text()?)))
                        .collect(),
                }));
            }
            "Ingress" => {
                let mut services = Vec::new();
                if let Some(s) = spec {
                    collect_backends(s, "service", &mut services, 0);
                    // networking.k8s.io/v1beta1: `serviceName`.
                    collect_backends(s, "serviceName", &mut services, 0);
                }
                out.push(Fact::Exposure(Exposure::Route {
                    by: format!("Ingress {}", name_of(object)),
                    namespace: namespace_of(object),
                    services,
                }));
            }
            "HTTPRoute" | "GRPCRoute" | "TLSRoute" => {
                let services = spec
                    .and_then(|s| s.get("rules"))
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .flat_map(|r| {
                        r.get("backendRefs")
                            .and_then(Node::as_seq)
                            .unwrap_or_default()
                    })
                    .filter(|b| b.str_at("kind").is_none_or(|k| k == "Service"))
                    .filter_map(|b| b.scalar_text_at("name"))
                    .collect();
                out.push(Fact::Exposure(Exposure::Route {
                    by: format!("{kind} {}", name_of(object)),
                    namespace: namespace_of(object),
                    services,
                }));
            }
            _ => {}
        }
    });
}

/// Service names an Ingress routes to, wherever its rules put them
/// (`backend.service.name`, `defaultBackend`, v1beta1 `serviceName`).
fn collect_backends(node: &Node, key: &str, out: &mut Vec<String>, depth: u32) {
    if depth > 12 {
        return;
    }
    if let Some(entries) = node.as_map() {
        for (k, v) in entries {
            if k.name == key {
                if let Some(name) = v.scalar_text().or_else(|| v.scalar_text_at("name")) {
                    out.push(name);
                }
            } else {
                collect_backends(v, key, out, depth + 1);
            }
        }
    } else if let Some(items) = node.as_seq() {
        for item in items {
            collect_backends(item, key, out, depth + 1);
        }
    }
}

fn argo_rollout(doc: &Document, object: &Node) -> Progressive {
    let at = |n: &Node| Location::at(&doc.path, n.pos);
    let strategy = object.path(&["spec", "strategy"]);
    let mut templates = Vec::new();
    // An analysis block's templates; whether it has any.
    let analysis_at = |n: Option<&Node>, key: &str, templates: &mut Vec<_>| {
        let refs = n
            .and_then(|n| n.get(key))
            .and_then(Node::as_seq)
            .unwrap_or_default();
        for t in refs {
            if let Some(name) = t.scalar_text_at("templateName") {
                let cluster = t.scalar_text_at("clusterScope").as_deref() == Some("true");
                templates.push((one_line(&name), cluster, at(t)));
            }
        }
        !refs.is_empty()
    };
    let canary = strategy.and_then(|s| s.get("canary"));
    let blue_green = strategy.and_then(|s| s.get("blueGreen"));
    let mut automated = false;
    if let Some(c) = canary {
        automated |= analysis_at(c.get("analysis"), "templates", &mut templates);
        for step in c.get("steps").and_then(Node::as_seq).unwrap_or_default() {
            automated |= analysis_at(step.get("analysis"), "templates", &mut templates);
            automated |= analysis_at(step.get("experiment"), "analyses", &mut templates);
        }
    }
    if let Some(b) = blue_green {
        automated |= analysis_at(b.get("prePromotionAnalysis"), "templates", &mut templates);
        automated |= analysis_at(b.get("postPromotionAnalysis"), "templates", &mut templates);
    }
    Progressive {
        location: at(object),
        by: "Rollout",
        strategy: if blue_green.is_some() {
            "blue-green"
        } else {
            "canary"
        },
        name: name_of(object),
        namespace: namespace_of(object),
        target: object
            .path(&["spec", "workloadRef", "name"])
            .and_then(Node::scalar_text),
        target_kind: object
            .path(&["spec", "workloadRef", "kind"])
            .and_then(Node::scalar_text)
            .unwrap_or_else(|| "Deployment".into()),
        automated_analysis: automated,
        templates,
    }
}

fn flagger(doc: &Document, object: &Node, out: &mut Sink<Fact>) {
    let at = |n: &Node| Location::at(&doc.path, n.pos);
    let spec = object.get("spec");
    // `canaryAnalysis` is the older spelling (flagger.app/v1alpha3).
    let analysis = spec.and_then(|s| s.get("analysis").or_else(|| s.get("canaryAnalysis")));
    let metrics = analysis
        .and_then(|a| a.get("metrics"))
        .and_then(Node::as_seq)
        .unwrap_or_default();
    let automated = !metrics.is_empty()
        && analysis
            .and_then(|a| a.scalar_text_at("threshold"))
            .is_some();
    let name = name_of(object);
    // Flagger's blue/green: iterations, no traffic steps.
    let blue_green = analysis.is_some_and(|a| {
        a.get("iterations").is_some()
            && a.get("stepWeight").is_none()
            && a.get("stepWeights").is_none()
    });
    out.push(Fact::Progressive(Progressive {
        location: at(object),
        by: "Canary",
        strategy: if blue_green { "blue-green" } else { "canary" },
        name: name.clone(),
        namespace: namespace_of(object),
        target: spec
            .and_then(|s| s.path(&["targetRef", "name"]))
            .and_then(Node::scalar_text),
        target_kind: spec
            .and_then(|s| s.path(&["targetRef", "kind"]))
            .and_then(Node::scalar_text)
            .unwrap_or_else(|| "Deployment".into()),
        automated_analysis: automated,
        templates: Vec::new(),
    }));
    out.push(Fact::Rollback(RollbackPath {
        location: at(analysis.unwrap_or(object)),
        kind: RollbackKind::Flagger,
        detail: format!("Flagger Canary `{name}`"),
        counted: automated,
        why: if automated {
            "failed checks past the threshold roll the canary back".into()
        } else {
            "no analysis metrics with a threshold: nothing decides to roll back".into()
        },
    }));
}

/// Terraform: ECS services' circuit breakers, CodeDeploy automatic rollback.
pub fn terraform(doc: &Document, out: &mut Sink<Fact>) {
    let Ok(hcl) = doc.hcl() else {
        return; // the area that owns Terraform reports parse failures
    };
    let at = |block: &Block| Location::at(&doc.path, hcl.pos(block.span().map_or(0, |s| s.start)));
    // true, false, or set by an expression (`var.cb`) the gate cannot
    // evaluate.
    let flag = |body: &Body, key: &str| match body.get_attribute(key).map(|a| &a.value) {
        Some(Expression::Bool(b)) => Some(*b.value()),
        Some(_) => None,
        None => Some(false),
    };
    // A block, or the `content` of a `dynamic` block of that name.
    let block_or_dynamic = |body: &'_ Body, name: &str| -> Option<(Location, Body)> {
        if let Some(b) = body.get_blocks(name).next() {
            return Some((at(b), b.body.clone()));
        }
        body.get_blocks("dynamic")
            .find(|d| block_label(d, 0).as_deref() == Some(name))
            .and_then(|d| {
                let content = d.body.get_blocks("content").next()?;
                Some((at(d), content.body.clone()))
            })
    };
    for block in hcl.body.blocks().filter(|b| b.ident.as_str() == "resource") {
        let name = one_line(&block_label(block, 1).unwrap_or_default());
        match block_label(block, 0).as_deref() {
            Some("aws_ecs_service") => {
                if let Some((at, cb)) = block_or_dynamic(&block.body, "deployment_circuit_breaker")
                {
                    out.push(circuit_breaker(
                        at,
                        &name,
                        flag(&cb, "enable"),
                        flag(&cb, "rollback"),
                    ));
                }
            }
            Some("aws_codedeploy_deployment_group") => {
                if let Some((at, ar)) = block_or_dynamic(&block.body, "auto_rollback_configuration")
                {
                    out.push(codedeploy(at, &name, flag(&ar, "enabled")));
                }
            }
            _ => {}
        }
    }
}

/// CloudFormation: the same two, as `AWS::ECS::Service` and
/// `AWS::CodeDeploy::DeploymentGroup`.
pub fn cloudformation(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    let at = |n: &Node| Location::at(&doc.path, n.pos);
    let truthy = |n: Option<&Node>| n.and_then(Node::scalar_text).is_some_and(|t| t == "true");
    for (key, resource) in node
        .get("Resources")
        .and_then(Node::as_map)
        .unwrap_or_default()
    {
        let props = resource.get("Properties");
        match resource.str_at("Type") {
            Some("AWS::ECS::Service") => {
                if let Some(cb) = props
                    .and_then(|p| p.path(&["DeploymentConfiguration", "DeploymentCircuitBreaker"]))
                {
                    out.push(circuit_breaker(
                        at(cb),
                        &one_line(&key.name),
                        Some(truthy(cb.get("Enable"))),
                        Some(truthy(cb.get("Rollback"))),
                    ));
                }
            }
            Some("AWS::CodeDeploy::DeploymentGroup") => {
                if let Some(ar) = props.and_then(|p| p.get("AutoRollbackConfiguration")) {
                    out.push(codedeploy(
                        at(ar),
                        &one_line(&key.name),
                        Some(truthy(ar.get("Enabled"))),
                    ));
                }
            }
            _ => {}
        }
    }
}

fn circuit_breaker(
    location: Location,
    name: &str,
    enable: Option<bool>,
    rollback: Option<bool>,
) -> Fact {
    Fact::Rollback(RollbackPath {
        location,
        kind: RollbackKind::EcsCircuitBreaker,
        detail: format!("ECS service `{name}` deployment circuit breaker"),
        counted: enable == Some(true) && rollback == Some(true),
        why: match (enable, rollback) {
            (Some(true), Some(true)) => "a deployment that fails to stabilise is rolled back".into(),
            (None, _) | (_, None) => {
                "`enable` or `rollback` is set by an expression the gate does not evaluate; set them to true literally to be counted".into()
            }
            (Some(true), Some(false)) => {
                "enabled without rollback: a failed deployment stops, it is not undone".into()
            }
            _ => "not enabled".into(),
        },
    })
}

fn codedeploy(location: Location, name: &str, enabled: Option<bool>) -> Fact {
    Fact::Rollback(RollbackPath {
        location,
        kind: RollbackKind::CodedeployAutoRollback,
        detail: format!("CodeDeploy deployment group `{name}` automatic rollback"),
        counted: enabled == Some(true),
        why: match enabled {
            Some(true) => "a failed deployment (or an alarm) rolls back".into(),
            None => "`enabled` is set by an expression the gate does not evaluate".into(),
            Some(false) => "automatic rollback is not enabled".into(),
        },
    })
}
