//! SARIF 2.1.0 for code scanning: one rule per policy rule (with its why and
//! remediation as help), one result per finding that needs attention or was
//! waived (as a suppression), and fingerprints that survive line moves so
//! code scanning tracks a finding across commits.

use serde_json::{Value, json};

use crate::findings::{Finding, Report, State};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Where findings without a location (repository-wide rules) point: code
/// scanning requires a location, and the manifest is where most are fixed.
const REPOSITORY_WIDE: &str = "readygate.yaml";

pub fn render(report: &Report) -> String {
    let shown: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.needs_attention() || f.state == State::Waived)
        .collect();
    let mut rule_ids: Vec<&str> = Vec::new();
    for f in &shown {
        if !rule_ids.contains(&f.rule.as_str()) {
            rule_ids.push(&f.rule);
        }
    }
    let rules: Vec<Value> = rule_ids
        .iter()
        .map(|id| {
            let f = shown
                .iter()
                .find(|f| f.rule == *id)
                .expect("listed from findings");
            rule(f)
        })
        .collect();
    let results: Vec<Value> = shown
        .iter()
        .map(|f| result(f, rule_ids.iter().position(|id| *id == f.rule).unwrap_or(0)))
        .collect();
    let doc = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "readygate",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": crate::HOME,
                "rules": rules,
            }},
            "automationDetails": {"id": "readygate/"},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut out =
        crate::escape::json(serde_json::to_string_pretty(&doc).expect("SARIF serializes"));
    out.push('\n');
    out
}

fn level(f: &Finding) -> &'static str {
    match f.state {
        State::Fail => "error",
        State::Warn => "warning",
        _ => "note",
    }
}

fn rule(f: &Finding) -> Value {
    let mut rule = json!({
        "id": f.rule,
        "name": f.title,
        "shortDescription": {"text": f.title},
        "fullDescription": {"text": f.why},
        "help": {
            "text": format!("Why: {}\n\nFix: {}", f.why, f.remediation),
            "markdown": format!(
                "**Why.** {}\n\n**Fix.** {}",
                super::markdown::escape(&f.why),
                super::markdown::escape(&f.remediation)
            ),
        },
        "defaultConfiguration": {"level": if f.severity.as_str() == "warning" { "warning" } else { "error" }},
        "properties": {"tags": ["readiness", f.area.as_str()], "level": f.level},
    });
    if let Some(uri) = f.docs.as_deref().and_then(help_uri) {
        rule["helpUri"] = json!(uri);
    }
    rule
}

/// A rule's `docs` as the absolute http(s) URI SARIF wants, or none: a
/// pack writes it. A relative path (the built-in packs' `docs/rules.md#id`)
/// is a page of this project.
fn help_uri(docs: &str) -> Option<String> {
    if docs.contains("://") {
        let url = url::Url::parse(docs).ok()?;
        return matches!(url.scheme(), "https" | "http").then(|| url.to_string());
    }
    let (path, fragment) = match docs.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (docs, None),
    };
    let odd = |c: char| c.is_control() || c.is_whitespace() || c == ':' || c == '\\';
    if path.is_empty()
        || path.starts_with('/')
        || path.split('/').any(|s| s == "..")
        || docs.chars().any(odd)
    {
        return None;
    }
    let mut uri = format!(
        "{}/blob/main/{}",
        crate::HOME,
        crate::escape::uri_path(path)
    );
    if let Some(fragment) = fragment {
        uri.push('#');
        uri.push_str(&crate::escape::uri_path(fragment));
    }
    Some(uri)
}

fn result(f: &Finding, rule_index: usize) -> Value {
    let path = f
        .location
        .as_ref()
        .map_or(REPOSITORY_WIDE, |l| l.path.as_str());
    let mut physical = json!({"artifactLocation": {"uri": crate::escape::uri_path(path), "uriBaseId": "%SRCROOT%"}});
    if let Some(l) = f.location.as_ref().filter(|l| l.line > 0) {
        physical["region"] = json!({"startLine": l.line});
        if l.column > 0 {
            physical["region"]["startColumn"] = json!(l.column);
        }
    }
    let message = match &f.target {
        Some(t) => format!("{} ({t})", f.message),
        None => f.message.clone(),
    };
    let mut result = json!({
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": level(f),
        "message": {"text": message},
        "locations": [{"physicalLocation": physical}],
        // Rule, target and file, not the line: moving code keeps the alert.
        "partialFingerprints": {"readygateFinding/v1": fingerprint(&[&f.rule, f.target.as_deref().unwrap_or(""), path])},
        "properties": {"state": f.state.as_str(), "readinessLevel": f.level},
    });
    if let Some(b) = f.baseline {
        result["baselineState"] = json!(b.as_str());
    }
    if !f.related.is_empty() {
        result["relatedLocations"] = Value::Array(
            f.related
                .iter()
                .enumerate()
                .map(|(id, l)| {
                    let mut physical =
                        json!({"artifactLocation": {"uri": crate::escape::uri_path(&l.path), "uriBaseId": "%SRCROOT%"}});
                    if l.line > 0 {
                        physical["region"] = json!({"startLine": l.line});
                    }
                    json!({"id": id, "physicalLocation": physical})
                })
                .collect(),
        );
    }
    if let Some(w) = &f.waiver {
        result["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": format!("{} (owner {}, expires {})", w.reason, w.owner, w.expires),
        }]);
    }
    result
}

/// FNV-1a over the parts: stable across runs, platforms and versions.
fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {

    #[test]
    fn help_uris_are_absolute_web_addresses_or_absent() {
        assert_eq!(
            help_uri("docs/rules.md#cipresent").as_deref(),
            Some(&*format!(
                "{}/blob/main/docs/rules.md#cipresent",
                crate::HOME
            ))
        );
        assert_eq!(
            help_uri("https://wiki.acme.example/prr#ci").as_deref(),
            Some("https://wiki.acme.example/prr#ci")
        );
        for hostile in [
            "javascript:alert(1)",
            "javascript:alert(1)//://",
            "docs\n::error::DOCS",
            "../../etc/passwd",
            "/etc/passwd",
            "file:///etc/passwd",
            "",
        ] {
            assert_eq!(help_uri(hostile), None, "{hostile}");
        }
    }

    use super::*;

    #[test]
    fn fingerprints_are_stable_and_separate_parts() {
        assert_eq!(fingerprint(&["a", "b"]), fingerprint(&["a", "b"]));
        assert_ne!(fingerprint(&["ab", ""]), fingerprint(&["a", "b"]));
        // Pinned: a change here re-opens every finding in code scanning.
        assert_eq!(
            fingerprint(&["alerts.runbook", "X", "a.yml"]),
            "50dac985dbb39a71"
        );
    }

    #[test]
    fn related_locations_follow_the_primary_one() {
        use crate::evidence::Location;
        let mut f = Finding::example("alerts.runbook", "HighErrorRate", "rules/api.yml", 12);
        assert!(result(&f, 0).get("relatedLocations").is_none());
        f.related = vec![
            Location::new("docs/runbooks.md", 40, 0),
            Location::file("x"),
        ];
        let r = result(&f, 0);
        let related = r["relatedLocations"].as_array().unwrap();
        assert_eq!(related.len(), 2);
        assert_eq!(related[0]["physicalLocation"]["region"]["startLine"], 40);
        assert_eq!(related[1]["id"], 1);
        assert!(related[1]["physicalLocation"].get("region").is_none());
    }
}
