//! Alerting and recording rules as expressions: what each rule computes, in
//! every engine the repository may write rules for, read once per document
//! ([`Document::rules`]) and offered to every area that asks. The alerts
//! area owns the rule kinds and judges runbooks; other areas (TLS expiry
//! monitors) read what the rules watch from here, never from the alerts
//! area.

use hcl_edit::Span;
use hcl_edit::expr::Expression;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::document::shared::{
    DATADOG_MONITOR, GRAFANA_ALERTING, HELM_TEMPLATE, KUBERNETES_MANIFEST, PROMETHEUS_RULES,
    TERRAFORM,
};
use crate::document::{Document, block_label, kubernetes_objects};
use crate::evidence::Location;
use crate::yaml::{Node, Value};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum AlertEngine {
    /// Prometheus-format rule files: Prometheus, Thanos, Mimir, Loki ruler,
    /// vmalert.
    PrometheusRules,
    /// `PrometheusRule` objects (`monitoring.coreos.com/v1`), including
    /// those in Helm templates that parse.
    PrometheusOperator,
    /// Grafana alerting provisioning files.
    Grafana,
    /// `resource "datadog_monitor"` in Terraform.
    DatadogTerraform,
    /// Datadog monitor JSON exports.
    DatadogJson,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    /// Fires, and may page.
    Alert,
    /// Computes a new series (`record:`) that other rules read.
    Record,
}

/// One rule's expression, where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleExpr {
    pub kind: RuleKind,
    /// `alert:`/`record:` (Prometheus), `title:` (Grafana), the monitor's
    /// `name` (Datadog).
    pub name: String,
    /// The query as written: PromQL, or a Datadog monitor query. Grafana's
    /// queries (`data[].model.expr`) are joined with `;`.
    pub expr: String,
    /// The key that names the rule.
    pub location: Location,
    pub engine: AlertEngine,
}

/// Every rule expression in `doc`, for the kinds that hold rules; nothing
/// for others. Malformed rules are skipped here: the alerts area, which
/// owns these kinds, reports them.
pub fn read(doc: &Document) -> Vec<RuleExpr> {
    let mut out = Vec::new();
    match doc.kind {
        PROMETHEUS_RULES => {
            for node in doc.yaml().unwrap_or_default() {
                groups(
                    doc,
                    node.get("groups"),
                    AlertEngine::PrometheusRules,
                    &mut out,
                );
            }
        }
        // A Helm template that parses before rendering, as the alerts area
        // reads it: objects, or a plain rule file kept in `templates/`.
        HELM_TEMPLATE | KUBERNETES_MANIFEST => {
            for node in doc.yaml().unwrap_or_default() {
                if doc.kind == HELM_TEMPLATE && node.get("kind").is_none() {
                    groups(
                        doc,
                        node.get("groups"),
                        AlertEngine::PrometheusRules,
                        &mut out,
                    );
                    continue;
                }
                kubernetes_objects(node, &mut |object, api_version, kind| {
                    if kind == "PrometheusRule" && api_version.starts_with("monitoring.coreos.com/")
                    {
                        let groups_node = object.path(&["spec", "groups"]);
                        groups(doc, groups_node, AlertEngine::PrometheusOperator, &mut out);
                    }
                });
            }
        }
        GRAFANA_ALERTING => {
            for node in doc.yaml().unwrap_or_default() {
                grafana(doc, node, &mut out);
            }
        }
        DATADOG_MONITOR => {
            for node in doc.yaml().unwrap_or_default() {
                let monitors: Vec<&Node> = match &node.untagged().value {
                    Value::Seq(items) => items.iter().collect(),
                    _ => vec![node],
                };
                for monitor in monitors {
                    let (Some((key, name)), Some(query)) =
                        (monitor.entry("name"), monitor.scalar_text_at("query"))
                    else {
                        continue;
                    };
                    out.push(RuleExpr {
                        kind: RuleKind::Alert,
                        name: name.scalar_text().unwrap_or_default(),
                        expr: query,
                        location: Location::at(&doc.path, key.pos),
                        engine: AlertEngine::DatadogJson,
                    });
                }
            }
        }
        TERRAFORM => datadog_terraform(doc, &mut out),
        _ => {}
    }
    out
}

/// `groups: [{name, rules: [{alert|record, expr}]}]`.
fn groups(doc: &Document, groups: Option<&Node>, engine: AlertEngine, out: &mut Vec<RuleExpr>) {
    let rules = groups
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|g| g.get("rules")?.as_seq())
        .flatten();
    for rule in rules {
        let (kind, (key, name)) = match (rule.entry("alert"), rule.entry("record")) {
            (Some(alert), None) => (RuleKind::Alert, alert),
            (None, Some(record)) => (RuleKind::Record, record),
            _ => continue,
        };
        let (Some(name), Some(expr)) = (name.scalar_text(), rule.scalar_text_at("expr")) else {
            continue;
        };
        out.push(RuleExpr {
            kind,
            name,
            expr,
            location: Location::at(&doc.path, key.pos),
            engine,
        });
    }
}

/// Grafana provisioning: each rule's queries are in `data[].model.expr`.
fn grafana(doc: &Document, node: &Node, out: &mut Vec<RuleExpr>) {
    let rules = node
        .get("groups")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|g| g.get("rules")?.as_seq())
        .flatten();
    for rule in rules {
        let Some((key, title)) = rule.entry("title") else {
            continue;
        };
        let data = rule.get("data").and_then(Node::as_seq).unwrap_or_default();
        let queries: Vec<String> = data
            .iter()
            .filter_map(|d| d.path(&["model", "expr"])?.scalar_text())
            .collect();
        if queries.is_empty() {
            continue;
        }
        // A threshold expression (`type: threshold`, `evaluator: {type: lt,
        // params: [14]}`) compares the query's value: written here as the
        // comparison Grafana evaluates, so readers see one expression.
        let comparison = data
            .iter()
            .filter_map(|d| d.path(&["model", "conditions"])?.as_seq())
            .flatten()
            .find_map(|c| {
                let evaluator = c.get("evaluator")?;
                let op = match evaluator.scalar_text_at("type")?.as_str() {
                    "lt" => "<",
                    "gt" => ">",
                    _ => return None,
                };
                let value = evaluator.get("params")?.as_seq()?.first()?.scalar_text()?;
                Some(format!(" {op} {value}"))
            })
            .unwrap_or_default();
        out.push(RuleExpr {
            kind: RuleKind::Alert,
            name: title.scalar_text().unwrap_or_default(),
            // On its own line: a `#` comment ending the query must not
            // swallow the comparison.
            expr: match comparison.is_empty() {
                true => queries.join("; "),
                false => format!("{}\n{comparison}", queries.join("; ")),
            },
            location: Location::at(&doc.path, key.pos),
            engine: AlertEngine::Grafana,
        });
    }
}

/// `resource "datadog_monitor" "NAME" { name = ..., query = ... }`.
fn datadog_terraform(doc: &Document, out: &mut Vec<RuleExpr>) {
    let Ok(hcl) = doc.hcl() else {
        return;
    };
    for block in hcl.body.blocks() {
        if block.ident.as_str() != "resource"
            || block_label(block, 0).as_deref() != Some("datadog_monitor")
        {
            continue;
        }
        let text = |name: &str| {
            let attr = block.body.get_attribute(name)?;
            let text = match &attr.value {
                Expression::String(s) => s.as_str().to_string(),
                // Heredocs and interpolated strings, as written.
                other => doc.text[other.span()?].trim_matches('"').to_string(),
            };
            Some((text, attr.span().map_or(0, |s| s.start)))
        };
        let Some((query, _)) = text("query") else {
            continue;
        };
        let resource = block_label(block, 1).unwrap_or_default();
        let (name, at) =
            text("name").unwrap_or_else(|| (resource, block.span().map_or(0, |s| s.start)));
        out.push(RuleExpr {
            kind: RuleKind::Alert,
            name,
            expr: query,
            location: Location::at(&doc.path, hcl.pos(at)),
            engine: AlertEngine::DatadogTerraform,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_engine_once() {
        let rules = Document::new(
            "rules/tls.yaml",
            PROMETHEUS_RULES,
            "groups:\n- name: tls\n  rules:\n  - record: cert:days_left\n    expr: (probe_ssl_earliest_cert_expiry - time()) / 86400\n  - alert: CertExpiring\n    expr: cert:days_left < 14\n  - alert: NoExpr\n",
        );
        let got = rules.rules();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].kind, RuleKind::Record);
        assert_eq!(got[1].name, "CertExpiring");
        assert_eq!(got[1].location.line, 6);

        let tf = Document::new(
            "monitors.tf",
            TERRAFORM,
            "resource \"datadog_monitor\" \"tls\" {\n  name  = \"TLS expiring\"\n  query = \"avg(last_5m):min:tls.days_left{service:api} < 14\"\n}\n",
        );
        assert_eq!(
            tf.rules()[0].expr,
            "avg(last_5m):min:tls.days_left{service:api} < 14"
        );
        assert_eq!(tf.rules()[0].location.line, 2);

        let grafana = Document::new(
            "alerting/rules.yaml",
            GRAFANA_ALERTING,
            "apiVersion: 1\ngroups:\n- name: g\n  rules:\n  - uid: a\n    title: Cert\n    data:\n    - refId: A\n      model:\n        expr: x509_cert_not_after - time()\n    - refId: B\n      model:\n        type: threshold\n        conditions:\n        - evaluator: {type: lt, params: [14]}\n",
        );
        assert_eq!(
            grafana.rules()[0].expr,
            "x509_cert_not_after - time()\n < 14"
        );
    }
}
