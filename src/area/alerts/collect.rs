//! Alerting rules in every engine the repository may use. Each alert is
//! collected with the line of the key that names it and every annotation and
//! label that could hold its runbook; which one does is decided later
//! ([`super::runbooks`]), because the manifest may configure the names.

use std::collections::BTreeMap;

use hcl_edit::Span;
use hcl_edit::expr::Expression;
use hcl_edit::structure::Block;

use super::Fact;
use super::section::*;
use crate::document::{
    DocKind, Document, Named, Sink, block_label, kubernetes_objects, malformed, normalize,
    parent_dir, strings, unparseable,
};
use crate::evidence::{Location, Problem, ProblemKind};
use crate::yaml::{Key, Node, Value};

/// One alert as collected, before its runbook is chosen and resolved.
#[derive(Debug)]
pub struct AlertFact {
    pub alert: Alert,
    /// Every place a runbook link could be, in the order they are preferred
    /// for the same key: annotations, labels, tags, then message links.
    pub links: Vec<LinkCandidate>,
}

#[derive(Debug, Clone)]
pub struct LinkCandidate {
    pub key: String,
    pub field: RunbookField,
    pub value: String,
    pub location: Location,
}

fn source(doc: &Document, engine: AlertEngine, alerts: u64, recording_rules: u64) -> Fact {
    Fact::AlertSource(AlertSource {
        path: doc.path.clone(),
        engine,
        alerts,
        recording_rules,
    })
}

// ------------------------------------------------------------ prometheus --

/// A Prometheus-format rule file: `groups[].rules[]`.
pub fn prometheus_file(doc: &Document, out: &mut Sink<Fact>) {
    let nodes = match doc.yaml() {
        Ok(nodes) => nodes,
        Err(err) => return out.problem(unparseable(doc, err.pos, &err.message)),
    };
    let docs: Vec<&Node> = nodes
        .iter()
        .filter(|n| !matches!(n.value, Value::Null))
        .collect();
    if docs.is_empty() {
        return out.problem(Problem {
            kind: ProblemKind::Empty,
            document_kind: Some(doc.kind.name().into()),
            location: Location::new(&doc.path, 1, 1),
            message: "rule file is empty: no `groups`".into(),
        });
    }
    for node in docs {
        match node.get("groups") {
            Some(groups) => prometheus_groups(doc, groups, AlertEngine::PrometheusRules, out),
            None => out.problem(malformed(
                doc,
                node,
                "a rule file needs a top-level `groups:` list",
            )),
        }
    }
}

/// A Prometheus server config: each relative `rule_files` entry names rule
/// files (relative to the config's directory, as Prometheus resolves it),
/// read as `rules` whatever their names. Absolute entries are paths on the
/// server, not in the repository.
pub fn prometheus_config(doc: &Document, rules: DocKind, out: &mut Sink<Fact>) {
    let dir = parent_dir(&doc.path);
    doc.each_yaml(out, |node, out| {
        for entry in node
            .get("rule_files")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            let Some(pattern) = entry.scalar_text() else {
                continue;
            };
            if pattern.starts_with('/') {
                continue;
            }
            // Prometheus refuses globs before the last path element.
            let (parent, _) = pattern.rsplit_once('/').unwrap_or(("", &pattern));
            if parent.contains(['*', '?', '[']) {
                continue;
            }
            if let Some(pattern) = normalize(&dir, &go_glob(&pattern)) {
                out.name(Named {
                    by: Location::at(&doc.path, entry.pos),
                    pattern,
                    kind: rules,
                });
            }
        }
    });
}

/// A Go `filepath.Match` pattern in the glob syntax the named-file reader
/// speaks: braces are literal in Go, `[^...]` negates and `[!` is a
/// literal `!`.
fn go_glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '\\' => {
                out.push(c);
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '[' => {
                out.push('[');
                match chars.peek() {
                    Some('^') => {
                        chars.next();
                        out.push('!');
                    }
                    Some('!') => {
                        chars.next();
                        out.push_str("\\!");
                    }
                    _ => {}
                }
            }
            c => out.push(c),
        }
    }
    // `**` is `*` to Go: one path element, not any depth.
    out.split('/')
        .map(|seg| if seg == "**" { "*" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// A Kubernetes manifest (read from the shared kind): every object of a
/// multi-document file and every item of a `List`, for `PrometheusRule`s.
/// The area that owns the kind reports parse failures.
pub fn kubernetes(doc: &Document, out: &mut Sink<Fact>) {
    for node in doc.yaml().unwrap_or_default() {
        kubernetes_objects(node, &mut |object, api_version, kind| {
            kubernetes_object(doc, object, &api_version, &kind, out)
        });
    }
}

/// Terraform (read from the shared kind): `resource "datadog_monitor"`
/// blocks. The area that owns the kind reports parse failures.
pub fn terraform(doc: &Document, out: &mut Sink<Fact>) {
    let Ok(hcl) = doc.hcl() else {
        return;
    };
    for block in hcl.body.blocks() {
        if block.ident.as_str() == "resource"
            && block_label(block, 0).as_deref() == Some("datadog_monitor")
        {
            let name = block_label(block, 1).unwrap_or_default();
            datadog_hcl(doc, block, &name, &|o| hcl.pos(o), out);
        }
    }
}

/// A Kubernetes object: alerts if it is a `PrometheusRule`.
fn kubernetes_object(
    doc: &Document,
    node: &Node,
    api_version: &str,
    kind: &str,
    out: &mut Sink<Fact>,
) {
    if kind != "PrometheusRule" || !api_version.starts_with("monitoring.coreos.com/") {
        return;
    }
    // A kustomize patch that deletes the object carries no rules.
    if node.str_at("$patch") == Some("delete") {
        return;
    }
    match node.path(&["spec", "groups"]) {
        Some(groups) => prometheus_groups(doc, groups, AlertEngine::PrometheusOperator, out),
        None => out.problem(malformed(doc, node, "a PrometheusRule needs `spec.groups`")),
    }
}

fn prometheus_groups(doc: &Document, groups: &Node, engine: AlertEngine, out: &mut Sink<Fact>) {
    let Some(groups) = groups.as_seq() else {
        return out.problem(malformed(
            doc,
            groups,
            "`groups` must be a list of rule groups",
        ));
    };
    let (mut alerts, mut recording) = (0, 0);
    for group in groups {
        let Some(rules) = group_rules(doc, group, out) else {
            continue;
        };
        let group_name = group.scalar_text_at("name");
        for rule in rules {
            if !rule.is_map() {
                out.problem(malformed(
                    doc,
                    rule,
                    "a rule must be a mapping with `alert` or `record`",
                ));
                continue;
            }
            match (rule.entry("alert"), rule.get("record")) {
                (Some(_), Some(_)) => out.problem(malformed(
                    doc,
                    rule,
                    "a rule has both `alert` and `record`; split it in two",
                )),
                (Some((key, name)), None) => {
                    if rule.get("expr").is_none() {
                        out.problem(malformed(doc, rule, "alerting rule has no `expr`"));
                    }
                    alerts += 1;
                    let Some(name) = name.scalar_text() else {
                        out.problem(malformed(doc, name, "`alert` must be a string"));
                        continue;
                    };
                    let fact =
                        prometheus_alert(doc, engine, group_name.clone(), key, name, rule, out);
                    out.push(fact);
                }
                (None, Some(_)) => recording += 1,
                (None, None) => out.problem(malformed(
                    doc,
                    rule,
                    "a rule needs `alert` (alerting) or `record` (recording)",
                )),
            }
        }
    }
    out.push(source(doc, engine, alerts, recording));
}

/// A group's `rules`, or a problem when the group is not shaped like one.
fn group_rules<'a>(doc: &Document, group: &'a Node, out: &mut Sink<Fact>) -> Option<&'a [Node]> {
    if !group.is_map() {
        out.problem(malformed(
            doc,
            group,
            "a rule group must be a mapping with `name` and `rules`",
        ));
        return None;
    }
    if group.get("name").is_none() {
        out.problem(malformed(doc, group, "rule group has no `name`"));
    }
    match group.get("rules") {
        None => None, // an empty group is valid
        Some(rules) => match &rules.untagged().value {
            Value::Seq(items) => Some(items),
            Value::Null => None,
            Value::Map(_) => {
                out.problem(malformed(
                    doc,
                    rules,
                    "`rules` is a mapping; it must be a list (`- alert: ...`)",
                ));
                None
            }
            _ => {
                out.problem(malformed(doc, rules, "`rules` must be a list of rules"));
                None
            }
        },
    }
}

fn prometheus_alert(
    doc: &Document,
    engine: AlertEngine,
    group: Option<String>,
    key: &Key,
    name: String,
    rule: &Node,
    out: &mut Sink<Fact>,
) -> Fact {
    let labels = string_map(doc, rule, "labels", RunbookField::Label, out);
    let annotations = string_map(doc, rule, "annotations", RunbookField::Annotation, out);
    alert_fact(
        Alert {
            location: Location::at(&doc.path, key.pos),
            engine,
            group,
            severity: labels.map.get("severity").cloned(),
            for_duration: rule.scalar_text_at("for"),
            has_summary: annotations.map.contains_key("summary"),
            has_description: annotations.map.contains_key("description"),
            name,
            labels: labels.map,
            annotations: annotations.map,
            notifies: Vec::new(),
            runbook: Runbook::missing(),
        },
        [annotations.links, labels.links].concat(),
    )
}

fn alert_fact(alert: Alert, links: Vec<LinkCandidate>) -> Fact {
    Fact::Alert(Box::new(AlertFact { alert, links }))
}

struct StringMap {
    map: BTreeMap<String, String>,
    links: Vec<LinkCandidate>,
}

/// `labels:` or `annotations:`: a mapping of strings. Values that are not
/// scalars are reported, not dropped silently.
fn string_map(
    doc: &Document,
    node: &Node,
    key: &str,
    field: RunbookField,
    out: &mut Sink<Fact>,
) -> StringMap {
    let mut result = StringMap {
        map: BTreeMap::new(),
        links: Vec::new(),
    };
    let Some(value) = node.get(key) else {
        return result;
    };
    let Some(entries) = value.as_map() else {
        if !matches!(value.value, Value::Null) {
            out.problem(malformed(
                doc,
                value,
                format!("`{key}` must be a mapping of names to strings"),
            ));
        }
        return result;
    };
    for (k, v) in entries {
        let Some(text) = v.scalar_text() else {
            out.problem(malformed(
                doc,
                v,
                format!("`{key}.{}` must be a string", k.name),
            ));
            continue;
        };
        result.links.push(LinkCandidate {
            key: k.name.clone(),
            field,
            value: text.clone(),
            location: Location::at(&doc.path, v.pos),
        });
        result.map.insert(k.name.clone(), text);
    }
    result
}

// --------------------------------------------------------------- grafana --

/// Grafana alerting provisioning: `apiVersion: 1`, `groups[].rules[]` with
/// `uid` and `title`.
pub fn grafana(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    let Some(groups) = node.get("groups") else {
        return; // contact points or policies only
    };
    let Some(groups) = groups.as_seq() else {
        return out.problem(malformed(
            doc,
            groups,
            "`groups` must be a list of rule groups",
        ));
    };
    let mut alerts = 0;
    for group in groups {
        let Some(rules) = group_rules(doc, group, out) else {
            continue;
        };
        let group_name = group.scalar_text_at("name");
        for rule in rules {
            let Some((key, title)) = rule.entry("title") else {
                out.problem(malformed(doc, rule, "a Grafana alert rule needs a `title`"));
                continue;
            };
            let Some(name) = title.scalar_text() else {
                out.problem(malformed(doc, title, "`title` must be a string"));
                continue;
            };
            if rule.get("uid").is_none() {
                out.problem(malformed(doc, rule, "Grafana alert rule has no `uid`"));
            }
            alerts += 1;
            let fact = prometheus_alert(
                doc,
                AlertEngine::Grafana,
                group_name.clone(),
                key,
                name,
                rule,
                out,
            );
            out.push(fact);
        }
    }
    out.push(source(doc, AlertEngine::Grafana, alerts, 0));
}

// --------------------------------------------------------------- datadog --

/// A Datadog monitor JSON export: one monitor object or a list of them.
pub fn datadog_json(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    let monitors: Vec<&Node> = match &node.untagged().value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    let mut alerts = 0;
    for monitor in monitors {
        let Some((key, name)) = monitor.entry("name") else {
            out.problem(malformed(doc, monitor, "a Datadog monitor needs a `name`"));
            continue;
        };
        let Some(name) = name.scalar_text() else {
            out.problem(malformed(doc, name, "`name` must be a string"));
            continue;
        };
        alerts += 1;
        let message = monitor
            .get("message")
            .and_then(|m| Some((m.as_str()?.to_string(), m.pos.line)));
        let tags = monitor
            .get("tags")
            .map(|t| {
                strings(Some(t))
                    .into_iter()
                    .map(|s| (s, Location::at(&doc.path, t.pos)))
                    .collect()
            })
            .unwrap_or_default();
        let monitor = DatadogMonitor {
            name,
            location: Location::at(&doc.path, key.pos),
            group: monitor
                .scalar_text_at("id")
                .map(|id| format!("monitor {id}")),
            message: message.map(|(text, line)| (text, line, false)),
            tags,
            priority: monitor.scalar_text_at("priority"),
        };
        out.push(datadog_alert(doc, AlertEngine::DatadogJson, monitor));
    }
    out.push(source(doc, AlertEngine::DatadogJson, alerts, 0));
}

/// `resource "datadog_monitor" "NAME" { ... }`.
fn datadog_hcl(
    doc: &Document,
    block: &Block,
    resource_name: &str,
    line_of: &dyn Fn(usize) -> crate::yaml::Pos,
    out: &mut Sink<Fact>,
) {
    let body = &block.body;
    let raw = |expr: &Expression| expr.span().map(|s| &doc.text[s]);
    let block_line = block.span().map_or(1, |s| line_of(s.start).line);
    let (name, location) = match body.get_attribute("name") {
        Some(attr) => (
            attr.value
                .as_str()
                .map(str::to_string)
                .or_else(|| raw(&attr.value).map(|r| r.trim_matches('"').to_string()))
                .unwrap_or_default(),
            Location::at(&doc.path, line_of(attr.span().map_or(0, |s| s.start))),
        ),
        None => (
            resource_name.to_string(),
            Location::new(&doc.path, block_line, 1),
        ),
    };
    // The message as written: heredoc or quoted string, interpolations kept.
    let message = body.get_attribute("message").and_then(|attr| {
        let line = line_of(attr.value.span()?.start).line;
        match &attr.value {
            Expression::String(s) => Some((s.as_str().to_string(), line, false)),
            other => {
                let text = raw(other)?;
                match text.strip_prefix("<<") {
                    // `<<EOT` ... `EOT`: the text starts on the next line.
                    Some(rest) => {
                        let body = rest.split_once('\n').map_or("", |(_, b)| b);
                        let body = body.rsplit_once('\n').map_or(body, |(b, _)| b);
                        Some((body.to_string(), line + 1, true))
                    }
                    None => Some((text.trim_matches('"').to_string(), line, false)),
                }
            }
        }
    });
    let tags = body
        .get_attribute("tags")
        .and_then(|attr| match &attr.value {
            Expression::Array(items) => Some(
                items
                    .iter()
                    .filter_map(|i| {
                        let tag = i.as_str()?.to_string();
                        let at = Location::at(&doc.path, line_of(i.span()?.start));
                        Some((tag, at))
                    })
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default();
    let priority = body.get_attribute("priority").and_then(|a| match &a.value {
        Expression::Number(n) => Some(n.to_string()),
        other => other.as_str().map(str::to_string),
    });
    let monitor = DatadogMonitor {
        name,
        location,
        group: Some(format!("datadog_monitor.{resource_name}")),
        message,
        tags,
        priority,
    };
    out.push(datadog_alert(doc, AlertEngine::DatadogTerraform, monitor));
}

struct DatadogMonitor {
    name: String,
    location: Location,
    group: Option<String>,
    /// Text, the line it starts on, and whether its newlines are real lines
    /// of the file (a heredoc) or escapes inside one quoted line.
    message: Option<(String, u32, bool)>,
    tags: Vec<(String, Location)>,
    priority: Option<String>,
}

fn datadog_alert(doc: &Document, engine: AlertEngine, m: DatadogMonitor) -> Fact {
    let mut labels = BTreeMap::new();
    let mut links = Vec::new();
    for (tag, at) in &m.tags {
        let (k, v) = tag.split_once(':').unwrap_or((tag, ""));
        labels.insert(k.to_string(), v.to_string());
        links.push(LinkCandidate {
            key: k.to_string(),
            field: RunbookField::Tag,
            value: v.to_string(),
            location: at.clone(),
        });
    }
    let mut annotations = BTreeMap::new();
    let mut notifies = Vec::new();
    if let Some((text, line, multiline)) = &m.message {
        annotations.insert("message".to_string(), text.clone());
        notifies = handles(text);
        if let Some((url, offset)) = message_runbook(text) {
            let down = if *multiline {
                text[..offset].matches('\n').count() as u32
            } else {
                0
            };
            let line = line + down;
            links.push(LinkCandidate {
                key: "message".into(),
                field: RunbookField::Message,
                value: url,
                location: Location::new(&doc.path, line, 0),
            });
        }
    }
    let severity = labels
        .get("severity")
        .cloned()
        .or_else(|| m.priority.as_ref().map(|p| format!("P{p}")));
    let has_message = m
        .message
        .as_ref()
        .is_some_and(|(t, _, _)| !t.trim().is_empty());
    alert_fact(
        Alert {
            name: m.name,
            location: m.location,
            engine,
            group: m.group,
            severity,
            for_duration: None,
            labels,
            annotations,
            // The message is what the notification says: Datadog's summary.
            has_summary: has_message,
            has_description: has_message,
            notifies,
            runbook: Runbook::missing(),
        },
        links,
    )
}

/// `@pagerduty-checkout`, `@slack-ops`, `@oncall@example.com` in a message.
fn handles(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | '{' | '}'))
        .filter(|w| w.len() > 1 && w.starts_with('@'))
        .map(|w| w.trim_end_matches(['.', ':', ';']).to_string())
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The runbook link in a Datadog message, with its byte offset: a Markdown
/// link whose text or URL says runbook/playbook, else a URL on a line that
/// does, else a URL whose path does.
/// Most of a Datadog message searched for links and handles: a real one is a
/// few hundred bytes; a 6 MB one of URLs must not take minutes.
const MAX_MESSAGE_SCANNED: usize = 64 * 1024;
/// Most URLs in one message considered.
const MAX_MESSAGE_URLS: usize = 200;

/// `text` cut at [`MAX_MESSAGE_SCANNED`], on a character boundary.
fn scanned(text: &str) -> &str {
    let mut end = text.len().min(MAX_MESSAGE_SCANNED);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn message_runbook(text: &str) -> Option<(String, usize)> {
    let text = scanned(text);
    let says = |s: &str| {
        let s = s.to_ascii_lowercase();
        s.contains("runbook") || s.contains("playbook")
    };
    let urls = urls(text);
    // [Runbook](https://...)
    for (url, at) in &urls {
        let before = &text[..*at];
        if let Some(label) = before.strip_suffix("](")
            && let Some(open) = label.rfind('[')
            && (says(&label[open..]) || says(url))
        {
            return Some((url.clone(), *at));
        }
    }
    for (url, at) in &urls {
        let line_start = text[..*at].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[*at..].find('\n').map_or(text.len(), |i| at + i);
        if says(&text[line_start..line_end]) {
            return Some((url.clone(), *at));
        }
    }
    urls.into_iter().find(|(u, _)| says(u))
}

fn urls(text: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    while found.len() < MAX_MESSAGE_URLS
        && let Some(i) = text[from..].find("http")
    {
        let at = from + i;
        let rest = &text[at..];
        if rest.starts_with("https://") || rest.starts_with("http://") {
            let end = rest
                .find(|c: char| {
                    c.is_whitespace() || matches!(c, ')' | '>' | '"' | '\'' | ']' | '|')
                })
                .unwrap_or(rest.len());
            let url = rest[..end].trim_end_matches(['.', ',', ';']);
            found.push((url.to_string(), at));
            from = at + end.max(1);
        } else {
            from = at + 4;
        }
    }
    found
}

// ------------------------------------------------------------------ helm --

/// A Helm template that mentions alerts: collected when it parses as YAML
/// before rendering, otherwise listed as templated and not evaluated.
pub fn helm_template(doc: &Document, out: &mut Sink<Fact>) {
    // A template with no `alert` key defines no alerts of its own: recording
    // rules only, or rules the chart's users pass in through values.
    if !crate::document::mentions_key(&doc.text, "alert") {
        return;
    }
    match doc.yaml() {
        Ok(nodes) => {
            for node in nodes {
                if let (Some(api), Some(kind)) = (node.scalar_text_at("apiVersion"), node.scalar_text_at("kind")) {
                    kubernetes_object(doc, node, &api, &kind, out);
                } else if let Some(groups) = node.get("groups") {
                    // A plain rule file that happens to live in `templates/`
                    // with `{{ $labels }}` in its annotations.
                    prometheus_groups(doc, groups, AlertEngine::PrometheusRules, out);
                }
            }
        }
        Err(err) => out.push(Fact::TemplatedSource(TemplatedSource {
            location: Location::at(&doc.path, err.pos),
            reason: "Helm template with directives that do not parse before rendering; its alerts are not evaluated (render it with `helm template` into a directory and run readygate there)".into(),
        })),
    }
}

/// How a jsonnet mixin spells an alert's name key (bare, `'alert'`,
/// `"alert"`): the kind's sniff and the collector look for the same.
pub const MIXIN_ALERT_KEYS: [&str; 3] = ["alert:", "alert':", "alert\":"];

/// A jsonnet monitoring mixin (`prometheusAlerts`): its alerts exist only
/// once rendered. Kept as a source that was not evaluated; the area lists
/// it only when no rendered alert was found in the repository.
pub fn jsonnet_mixin(doc: &Document, out: &mut Sink<Fact>) {
    let first = MIXIN_ALERT_KEYS
        .iter()
        .filter_map(|k| doc.text.find(k))
        .min()
        .unwrap_or(0);
    let line = 1 + doc.text[..first].matches('\n').count() as u32;
    out.push(Fact::Mixin(TemplatedSource {
        location: Location::new(&doc.path, line, 1),
        reason: "jsonnet mixin: its alerts exist only once rendered, and no rendered rule file was found (render `prometheusAlerts` with jsonnet into a rule file the repository keeps, and run readygate there)".into(),
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_globs_mean_what_prometheus_means() {
        assert_eq!(go_glob("r/*{*.conf"), "r/*\\{*.conf");
        assert_eq!(go_glob("r/[^b].conf"), "r/[!b].conf");
        assert_eq!(go_glob("r/[!b].conf"), "r/[\\!b].conf");
        assert_eq!(go_glob("r/\\*.conf"), "r/\\*.conf");
        assert_eq!(go_glob("r/**"), "r/*");
    }

    #[test]
    fn finds_the_runbook_link_in_a_message() {
        let text = "CPU high on {{host.name}}.\n\nDashboard: https://app.datadoghq.com/dash/1\n[Runbook](https://wiki.example.com/rb/cpu)\n@pagerduty-checkout @slack-ops";
        let (url, at) = message_runbook(text).unwrap();
        assert_eq!(url, "https://wiki.example.com/rb/cpu");
        assert_eq!(text[..at].matches('\n').count(), 3);
        assert_eq!(handles(text), ["@pagerduty-checkout", "@slack-ops"]);
        assert_eq!(
            message_runbook("Runbook: https://x.example/y.").unwrap().0,
            "https://x.example/y"
        );
        assert_eq!(
            message_runbook("see https://x.example/runbooks/db")
                .unwrap()
                .0,
            "https://x.example/runbooks/db"
        );
        assert!(message_runbook("see https://x.example/dash").is_none());
    }
}
