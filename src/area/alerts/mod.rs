//! Alerts and their runbooks: every alerting rule in every engine the
//! repository may use (Prometheus rule files, PrometheusRule objects, Helm
//! templates, Grafana provisioning, Datadog monitors in JSON and Terraform),
//! each with its runbook resolved offline and, with probes, online.

use std::collections::BTreeMap;

use crate::check::SectionCheck;
use crate::contract::{Area, Assembly};
use crate::document::shared::{
    DATADOG_MONITOR, GRAFANA_ALERTING, HELM_TEMPLATE, KUBERNETES_MANIFEST, PROMETHEUS_CONFIG,
    PROMETHEUS_RULES, TERRAFORM,
};
use crate::document::{DocKind, Document, Head, KindSpec, Sink, YAML};
use crate::evidence::Problem;
use crate::probe::{ProbeError, Probes};

mod checks;
mod collect;
pub mod pages;
mod probe;
mod runbooks;
pub mod section;

pub use section::Alerts;
use section::{AlertEngine, AlertSource, DEFAULT_RUNBOOK_KEYS, TemplatedSource};

const JSONNET_MIXIN: DocKind = DocKind("jsonnet-mixin");

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

static KINDS: &[KindSpec] = &[
    KindSpec {
        kind: HELM_TEMPLATE,
        globs: &["**/templates/**/*.yaml", "**/templates/**/*.yml"],
        sniff: Some(|head| head.text.contains("{{")),
        order: 110,
    },
    KindSpec {
        kind: GRAFANA_ALERTING,
        globs: YAML,
        sniff: Some(is_grafana_alerting),
        order: 170,
    },
    // Named like a rule file: a file that is empty or broken is still
    // reported, not skipped.
    KindSpec {
        kind: PROMETHEUS_RULES,
        globs: RULE_FILE_NAMES,
        sniff: Some(is_named_rule_file),
        order: 180,
    },
    KindSpec {
        kind: PROMETHEUS_RULES,
        globs: YAML,
        sniff: Some(is_prometheus_rules),
        order: 190,
    },
    // Rule files written as JSON (jsonnet output); promtool reads them.
    KindSpec {
        kind: PROMETHEUS_RULES,
        globs: &["**/*.json"],
        sniff: Some(is_prometheus_rules),
        order: 195,
    },
    // A Prometheus server config: its `rule_files` name the rule files,
    // whatever they are called (`rules/*.conf`).
    KindSpec {
        kind: PROMETHEUS_CONFIG,
        globs: YAML,
        sniff: Some(is_prometheus_config),
        order: 196,
    },
    KindSpec {
        kind: JSONNET_MIXIN,
        globs: &["**/*.libsonnet", "**/*.jsonnet"],
        sniff: Some(|head| {
            head.text.contains("prometheusAlerts")
                && collect::MIXIN_ALERT_KEYS
                    .iter()
                    .any(|k| head.text.contains(k))
        }),
        order: 197,
    },
    KindSpec {
        kind: DATADOG_MONITOR,
        globs: &["**/*.json"],
        sniff: Some(is_datadog_monitor),
        order: 200,
    },
];

/// Grafana provisioning files say `apiVersion: 1` (a number, not a group).
fn is_grafana_alerting(head: &Head) -> bool {
    head.value("apiVersion") == Some("1") && head.value("groups").is_some()
}

fn has_no_api_version(head: &Head) -> bool {
    head.value("apiVersion").is_none()
}

/// A file named like a rule file is one (and so yields alerts or a problem,
/// never silence) unless it is evidently another tool's: an `apiVersion`, or
/// a top-level `rules:` without `groups:` (Semgrep's `rules.yml`).
fn is_named_rule_file(head: &Head) -> bool {
    has_no_api_version(head) && (head.value("groups").is_some() || head.value("rules").is_none())
}

/// `groups:` at the top with rules in it, in any spelling promtool accepts
/// (quoted, spaced or explicit keys, flow style, JSON). Other configs have
/// top-level `groups:` too, so a rule key must also appear.
fn is_prometheus_rules(head: &Head) -> bool {
    if !has_no_api_version(head) {
        return false;
    }
    if head.value("groups").is_some()
        && head.mentions_key("rules")
        && ["alert", "record", "expr"]
            .iter()
            .any(|k| head.mentions_key(k))
    {
        return true;
    }
    // Spellings the line sniff cannot see (an indented document, merge
    // keys, block scalars as keys): when the words are there, ask the
    // parser what Prometheus would see.
    let t = head.text;
    t.contains("groups")
        && t.contains("rules")
        && (t.contains("alert") || t.contains("record"))
        && crate::yaml::parse_documents(t).is_ok_and(|docs| {
            docs.iter().any(|d| {
                d.get("apiVersion").is_none()
                    && d.get("groups")
                        .and_then(crate::yaml::Node::as_seq)
                        .is_some_and(|g| g.iter().any(|g| g.get("rules").is_some()))
            })
        })
}

fn is_prometheus_config(head: &Head) -> bool {
    has_no_api_version(head) && head.value("rule_files").is_some()
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

#[derive(Debug)]
pub enum Fact {
    Alert(Box<collect::AlertFact>),
    AlertSource(AlertSource),
    TemplatedSource(TemplatedSource),
    /// A jsonnet mixin's alerts, unrendered.
    Mixin(TemplatedSource),
}

pub struct AlertsArea;

impl Area for AlertsArea {
    type Fact = Fact;
    type Section = Alerts;

    fn name(&self) -> &'static str {
        "alerts"
    }
    fn kinds(&self) -> &'static [KindSpec] {
        KINDS
    }
    fn reads(&self) -> &'static [DocKind] {
        &[
            HELM_TEMPLATE,
            GRAFANA_ALERTING,
            PROMETHEUS_RULES,
            PROMETHEUS_CONFIG,
            JSONNET_MIXIN,
            DATADOG_MONITOR,
            KUBERNETES_MANIFEST,
            TERRAFORM,
        ]
    }
    fn collect(&self, doc: &Document, out: &mut Sink<Fact>) {
        match doc.kind {
            HELM_TEMPLATE => collect::helm_template(doc, out),
            PROMETHEUS_RULES => collect::prometheus_file(doc, out),
            PROMETHEUS_CONFIG => collect::prometheus_config(doc, PROMETHEUS_RULES, out),
            JSONNET_MIXIN => collect::jsonnet_mixin(doc, out),
            GRAFANA_ALERTING => doc.each_yaml(out, |n, out| collect::grafana(doc, n, out)),
            DATADOG_MONITOR => doc.each_yaml(out, |n, out| collect::datadog_json(doc, n, out)),
            KUBERNETES_MANIFEST => collect::kubernetes(doc, out),
            TERRAFORM => collect::terraform(doc, out),
            _ => {}
        }
    }
    fn assemble(&self, facts: Vec<Fact>, ctx: &Assembly, _: &mut Vec<Problem>) -> Alerts {
        let mut alerts = Alerts::default();
        let mut alert_facts = Vec::new();
        let mut sources = Vec::new();
        let mut mixins = Vec::new();
        for fact in facts {
            match fact {
                Fact::Alert(a) => alert_facts.push(*a),
                Fact::AlertSource(s) => sources.push(s),
                Fact::TemplatedSource(t) => alerts.templated_sources.push(t),
                Fact::Mixin(t) => mixins.push(t),
            }
        }
        // A mixin whose alerts are also rendered in the repository
        // (kube-prometheus keeps both) is evaluated through the rendering.
        if alert_facts.is_empty() {
            alerts.templated_sources.extend(mixins);
        }
        let keys = ctx
            .judging
            .alerts
            .as_ref()
            .and_then(|a| a.runbook_keys.clone())
            .unwrap_or_else(|| DEFAULT_RUNBOOK_KEYS.iter().map(|k| k.to_string()).collect());
        alerts.alerts = alert_facts
            .into_iter()
            .map(|f| {
                let mut alert = f.alert;
                alert.runbook = runbooks::choose(&f.links, &keys);
                alert
            })
            .collect();
        alerts.runbook_keys = keys;
        alerts.sources = merge_sources(sources);
        alerts.recording_rules = alerts.sources.iter().map(|s| s.recording_rules).sum();
        // The walk is parallel; sort so output never depends on thread timing.
        alerts
            .alerts
            .sort_by(|a, b| a.location.cmp(&b.location).then(a.name.cmp(&b.name)));
        alerts
            .templated_sources
            .sort_by(|a, b| a.location.cmp(&b.location));
        runbooks::resolve_runbooks(&mut alerts, ctx.root, ctx.tree, ctx.repo, ctx.max_file_size);
        alerts
    }
    fn probe(&self, alerts: &mut Alerts, probes: &Probes) -> Result<(), ProbeError> {
        probe::check(alerts, probes)
    }
    fn checks(&self) -> Vec<&'static dyn SectionCheck<Alerts>> {
        vec![
            &checks::AlertRunbook,
            &checks::AlertRunbookAnnotation,
            &checks::AlertRunbookMentions,
            &checks::AlertSummary,
            &checks::AlertSourcesEvaluated,
        ]
    }
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
