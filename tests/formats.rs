//! Report formats for CI: SARIF valid against the official 2.1.0 schema,
//! GitHub workflow commands within the runner's annotation limits, JUnit XML,
//! several formats in one run — and repository text that tries to inject
//! commands, mentions or HTML staying inert in every one of them.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

const ALERTS: &str = "tests/fixtures/alerts-zoo";

fn render(dir: &str, format: &str) -> String {
    let out = run(&["check", dir, "--format", format, "--now", "2026-11-21"]);
    assert_ne!(code(&out), 2, "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn sarif_is_valid_and_carries_rules_locations_and_suppressions() {
    let validator = sarif_validator();
    for dir in [SAMPLE, ALERTS] {
        let sarif: Value = serde_json::from_str(&render(dir, "sarif")).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&sarif)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{dir}: {errors:#?}");
        let run = &sarif["runs"][0];
        for result in run["results"].as_array().unwrap() {
            let rule =
                &run["tool"]["driver"]["rules"][result["ruleIndex"].as_u64().unwrap() as usize];
            assert_eq!(rule["id"], result["ruleId"]);
            assert!(rule["help"]["text"].as_str().unwrap().starts_with("Why: "));
            assert!(result["partialFingerprints"]["readygateFinding/v1"].is_string());
        }
    }
    let sarif: Value = serde_json::from_str(&render(SAMPLE, "sarif")).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let waived = results
        .iter()
        .find(|r| r["suppressions"].is_array())
        .unwrap();
    assert_eq!(waived["ruleId"], "iac.terraform-remote-backend");
    let lockfile = results
        .iter()
        .find(|r| r["ruleId"] == "iac.terraform-lockfile")
        .unwrap();
    assert_eq!(lockfile["level"], "error");
    assert_eq!(
        lockfile["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "infra/envs/prod/main.tf"
    );
}

#[test]
fn sarif_fingerprints_survive_moved_lines() {
    let dir = tempfile::tempdir().unwrap();
    let rules = "groups:\n  - name: g\n    rules:\n      - alert: NoRunbook\n        expr: up == 0\n        labels: {severity: critical}\n";
    write(dir.path(), "alerts.rules.yml", rules);
    let fingerprint = |path: &Path| -> (Value, Value) {
        let sarif: Value = serde_json::from_str(&render(path.to_str().unwrap(), "sarif")).unwrap();
        let r = sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ruleId"] == "alerts.paging-runbook")
            .cloned()
            .unwrap();
        (
            r["partialFingerprints"].clone(),
            r["locations"][0]["physicalLocation"]["region"]["startLine"].clone(),
        )
    };
    let (before, line_before) = fingerprint(dir.path());
    write(
        dir.path(),
        "alerts.rules.yml",
        &format!("# moved down\n\n{rules}"),
    );
    let (after, line_after) = fingerprint(dir.path());
    assert_ne!(line_before, line_after);
    assert_eq!(before, after);
}

#[test]
fn workflow_commands_stay_within_the_annotation_limits() {
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: g\n    rules:\n");
    for i in 0..25 {
        rules.push_str(&format!("      - alert: Paging{i}\n        expr: up == 0\n        labels: {{severity: critical}}\n        annotations: {{summary: s}}\n"));
    }
    for i in 0..15 {
        rules.push_str(&format!("      - alert: Ticket{i}\n        expr: up == 0\n        labels: {{severity: warning}}\n        annotations: {{summary: s}}\n"));
    }
    write(dir.path(), "alerts.rules.yml", &rules);
    let out = render(dir.path().to_str().unwrap(), "github");
    let count = |prefix: &str| out.lines().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("::error "), 10, "{out}");
    assert_eq!(count("::warning "), 10, "{out}");
    let notice = out.lines().find(|l| l.starts_with("::notice ")).unwrap();
    assert!(notice.contains("more error(s)"), "{notice}");
    // The paging failures (bronze) come before anything else.
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("::error file=alerts.rules.yml,line=4,col=9,title=alerts.paging-runbook"),
        "{first}"
    );
    // Nothing is lost: the rest is listed as plain text.
    assert!(out.contains("Paging24") || out.contains("Paging0"));
    assert!(out.lines().last().unwrap().starts_with("readygate: level"));
}

const HOSTILE: &str =
    "Evil\n::error::injected %0A @org/team <img src=x onerror=alert(1)> `tick` | pipe |";

/// A repository whose alert names, file path and runbook URL carry every
/// injection we know of.
fn hostile_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let name = serde_json::to_string(HOSTILE).unwrap();
    let url = serde_json::to_string("docs/%0A::error::<img src=x>@org/team|`.md").unwrap();
    let rules = format!(
        "groups:\n  - name: g\n    rules:\n      - alert: {name}\n        expr: up == 0\n        labels: {{severity: critical}}\n      - alert: {name}\n        expr: up == 0\n        labels: {{severity: critical}}\n        annotations: {{summary: s, runbook_url: {url}}}\n"
    );
    write(
        dir.path(),
        "rules/%0A::warning::@org|team<img src=x>`.rules.yml",
        &rules,
    );
    dir
}

#[test]
fn repository_text_is_inert_in_every_format() {
    let dir = hostile_repo();
    let root = dir.path().to_str().unwrap();

    let github = render(root, "github");
    let ours = [
        "::error file=",
        "::error title=",
        "::warning file=",
        "::warning title=",
        "::notice title=readygate::",
    ];
    for line in github.lines().filter(|l| l.starts_with("::")) {
        assert!(
            ours.iter().any(|p| line.starts_with(p)),
            "a command we did not write: {line}"
        );
    }
    let hostile_file =
        "::error file=rules/%250A%3A%3Awarning%3A%3A@org|team<img src=x>`.rules.yml,line=";
    assert_eq!(
        github
            .lines()
            .filter(|l| l.starts_with(hostile_file))
            .count(),
        2,
        "{github}"
    );
    assert!(
        github.contains("Evil%0A::error::injected %250A"),
        "{github}"
    );

    let md = render(root, "markdown");
    // Code spans are inert (no HTML, mentions, links or emphasis inside);
    // everywhere else the text must be escaped.
    let outside_code: String = md
        .lines()
        .map(|l| {
            let l = l.replace("\\`", "");
            let parts: Vec<&str> = l.split('`').collect();
            assert!(parts.len() % 2 == 1, "unbalanced code span: {l}");
            parts
                .iter()
                .step_by(2)
                .copied()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n");
    for raw in ["<img", "@org/team", "\n::error", "| pipe |"] {
        assert!(
            !outside_code.contains(raw),
            "markdown carries {raw:?}:\n{md}"
        );
    }
    assert!(!md.contains("\n::error"), "{md}");

    let junit = render(root, "junit");
    assert!(!junit.contains("<img"), "{junit}");
    let mut reader = quick_xml::Reader::from_str(&junit);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("JUnit is not well-formed XML: {e}\n{junit}"),
        }
    }

    let sarif: Value = serde_json::from_str(&render(root, "sarif")).unwrap();
    assert!(sarif_validator().is_valid(&sarif));
    let message = sarif["runs"][0]["results"][0]["message"]["text"]
        .as_str()
        .unwrap();
    assert!(
        message.contains(HOSTILE),
        "SARIF keeps the text exactly: {message}"
    );

    let terminal = render(root, "terminal");
    assert!(!terminal.chars().any(|c| c.is_control() && c != '\n'));

    let json: Value = serde_json::from_str(&render(root, "json")).unwrap();
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["target"] == HOSTILE)
    );
}

#[test]
fn several_formats_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("r.sarif");
    let junit = dir.path().join("r.xml");
    let out = run(&[
        "check",
        SAMPLE,
        "--format",
        "sarif",
        "--output",
        sarif.to_str().unwrap(),
        "--format",
        "junit",
        "--output",
        junit.to_str().unwrap(),
        "--format",
        "markdown",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).starts_with("## "));
    assert!(
        std::fs::read_to_string(&sarif)
            .unwrap()
            .contains("\"version\": \"2.1.0\"")
    );
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("<testsuites name=\"readygate\"")
    );

    let two_on_stdout = run(&["check", SAMPLE, "--format", "sarif", "--format", "junit"]);
    assert_eq!(code(&two_on_stdout), 2);
    assert!(stderr(&two_on_stdout).contains("standard output"));
}
