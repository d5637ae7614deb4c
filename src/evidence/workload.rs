//! Kubernetes workloads as the areas that judge them read them: how a
//! workload rolls out, whether its pods say when they are ready, how much
//! history it keeps for an undo, and the labels Services select it by.
//! Extracted here, once, from a parsed object, so no area extracts its own.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Location;
use crate::yaml::Node;

/// The kinds that roll pods out (Argo Rollouts' `Rollout` included).
pub const WORKLOAD_KINDS: &[&str] = &["Deployment", "StatefulSet", "DaemonSet", "Rollout"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Workload {
    pub location: Location,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    /// `spec.strategy.type` (Deployment) or `spec.updateStrategy.type`
    /// (StatefulSet, DaemonSet); `canary` or `blueGreen` for a Rollout;
    /// `None` when not set (the default: a rolling update).
    pub strategy: Option<String>,
    /// Where the strategy is set, when it is.
    pub strategy_location: Option<Location>,
    pub max_surge: Option<String>,
    pub max_unavailable: Option<String>,
    /// Every container of the pod template has a readiness probe.
    pub readiness_probe: bool,
    /// `spec.revisionHistoryLimit` and where; 0 makes `rollout undo`
    /// impossible.
    pub revision_history_limit: Option<i64>,
    pub revision_history_limit_location: Option<Location>,
    pub progress_deadline_seconds: Option<i64>,
    /// The pod template's labels (what Services select).
    pub pod_labels: BTreeMap<String, String>,
    /// A Rollout's `workloadRef`: the Deployment whose pods it rolls out.
    pub workload_ref: Option<String>,
    /// `spec.replicas` as written (absent: the controller's default, 1).
    pub replicas: Option<i64>,
    /// The pod template's containers (init containers aside).
    pub containers: Vec<Container>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Container {
    pub name: String,
    pub image: Option<String>,
    /// `resources.requests` (`cpu`, `memory`, ...), as written.
    pub requests: BTreeMap<String, String>,
    /// `resources.limits`, as written.
    pub limits: BTreeMap<String, String>,
    pub liveness_probe: bool,
    pub readiness_probe: bool,
    pub startup_probe: bool,
    pub location: Location,
}

/// A mapping of scalars, as text.
fn scalars(node: Option<&Node>) -> BTreeMap<String, String> {
    node.and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, v)| Some((k.name.clone(), v.scalar_text()?)))
        .collect()
}

fn container(path: &str, c: &Node) -> Container {
    Container {
        name: c.scalar_text_at("name").unwrap_or_default(),
        image: c.scalar_text_at("image"),
        requests: scalars(c.path(&["resources", "requests"])),
        limits: scalars(c.path(&["resources", "limits"])),
        liveness_probe: c.get("livenessProbe").is_some(),
        readiness_probe: c.get("readinessProbe").is_some(),
        startup_probe: c.get("startupProbe").is_some(),
        location: Location::at(path, c.pos),
    }
}

/// The workload `object` (of `kind`, in the file at `path`) describes, if
/// it is one.
pub fn workload(path: &str, object: &Node, kind: &str) -> Option<Workload> {
    if !WORKLOAD_KINDS.contains(&kind) {
        return None;
    }
    let spec = object.get("spec");
    let at = |n: &Node| Location::at(path, n.pos);
    let int = |keys: &[&str]| {
        spec.and_then(|s| s.path(keys))
            .and_then(Node::scalar_text)
            .and_then(|t| t.trim().parse::<i64>().ok())
    };
    let text = |keys: &[&str]| spec.and_then(|s| s.path(keys)).and_then(Node::scalar_text);
    let (strategy, strategy_location) = match kind {
        "Rollout" => {
            let s = spec.and_then(|s| s.get("strategy"));
            let which = ["canary", "blueGreen"]
                .into_iter()
                .find_map(|k| s.and_then(|s| s.entry(k)));
            match which {
                Some((key, _)) => (Some(key.name.clone()), Some(Location::at(path, key.pos))),
                None => (None, None),
            }
        }
        _ => {
            let key = if kind == "Deployment" {
                "strategy"
            } else {
                "updateStrategy"
            };
            match spec.and_then(|s| s.path(&[key, "type"])) {
                Some(t) => (t.scalar_text(), Some(at(t))),
                None => (None, None),
            }
        }
    };
    let rolling = if kind == "Deployment" {
        ["strategy", "rollingUpdate"]
    } else {
        ["updateStrategy", "rollingUpdate"]
    };
    let template = spec.and_then(|s| s.get("template"));
    let containers = template
        .and_then(|t| t.path(&["spec", "containers"]))
        .and_then(Node::as_seq)
        .unwrap_or_default();
    let pod_labels = scalars(template.and_then(|t| t.path(&["metadata", "labels"])));
    let history = spec.and_then(|s| s.get("revisionHistoryLimit"));
    Some(Workload {
        location: at(object),
        kind: kind.to_string(),
        name: object
            .path(&["metadata", "name"])
            .and_then(Node::scalar_text)
            .unwrap_or_default(),
        namespace: object
            .path(&["metadata", "namespace"])
            .and_then(Node::scalar_text),
        strategy,
        strategy_location,
        max_surge: text(&[rolling[0], rolling[1], "maxSurge"]),
        max_unavailable: text(&[rolling[0], rolling[1], "maxUnavailable"]),
        readiness_probe: !containers.is_empty()
            && containers.iter().all(|c| c.get("readinessProbe").is_some()),
        revision_history_limit: int(&["revisionHistoryLimit"]),
        revision_history_limit_location: history.map(at),
        progress_deadline_seconds: int(&["progressDeadlineSeconds"]),
        pod_labels,
        workload_ref: text(&["workloadRef", "name"]),
        replicas: int(&["replicas"]),
        containers: containers.iter().map(|c| container(path, c)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_and_a_rollout() {
        let node = crate::yaml::parse_single(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  revisionHistoryLimit: 0\n  strategy:\n    type: RollingUpdate\n    rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n        - name: web\n          readinessProbe: {httpGet: {path: /ready, port: 8080}}\n",
        )
        .unwrap();
        let w = workload("k8s/web.yaml", &node, "Deployment").unwrap();
        assert_eq!(w.strategy.as_deref(), Some("RollingUpdate"));
        assert_eq!(w.revision_history_limit, Some(0));
        assert_eq!(w.revision_history_limit_location.unwrap().line, 5);
        assert_eq!(w.max_surge.as_deref(), Some("25%"));
        assert!(w.readiness_probe);
        assert_eq!(w.pod_labels["app"], "web");
        assert_eq!(w.containers[0].name, "web");
        assert!(w.containers[0].readiness_probe && !w.containers[0].liveness_probe);
        let node = crate::yaml::parse_single(
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: api}\nspec:\n  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: api}\n  strategy:\n    blueGreen: {activeService: api}\n",
        )
        .unwrap();
        let w = workload("r.yaml", &node, "Rollout").unwrap();
        assert_eq!(w.strategy.as_deref(), Some("blueGreen"));
        assert_eq!(w.workload_ref.as_deref(), Some("api"));
        assert!(!w.readiness_probe);
        assert!(workload("r.yaml", &node, "Service").is_none());
    }
}
