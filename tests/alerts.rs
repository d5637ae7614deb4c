//! Alerts and runbooks end to end: every engine's alerts with their lines,
//! runbooks resolved in the repository, bad rule files reported while the
//! gate goes on, and online checks against real HTTP servers on loopback.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const ALERTS: &str = "tests/fixtures/alerts-zoo";
const REPO_URL: &str = "https://github.com/acme/checkout";

/// Alerts by name.
fn alerts(ev: &Value) -> BTreeMap<String, Value> {
    ev["alerts"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap().to_string(), a.clone()))
        .collect()
}

fn at(v: &Value) -> String {
    format!(
        "{}:{}",
        v["location"]["path"].as_str().unwrap(),
        v["location"]["line"]
    )
}

#[test]
fn every_engine_contributes_alerts_at_their_lines() {
    let ev = evidence(ALERTS, &["--repo-url", REPO_URL]);
    insta::assert_snapshot!(
        "alerts_zoo",
        serde_json::to_string_pretty(&ev["alerts"]).unwrap()
    );
    assert_eq!(ev["problems"], serde_json::json!([]));
    let by_name = alerts(&ev);
    let where_is = |name: &str| at(&by_name[name]);
    assert_eq!(
        where_is("CheckoutHighErrorRate"),
        "monitoring/prometheus/checkout.rules.yml:10"
    );
    assert_eq!(
        where_is("CheckoutPodCrashLooping"),
        "deploy/k8s/monitoring.yaml:26"
    );
    assert_eq!(
        where_is("CheckoutErrorBudgetBurn"),
        "charts/checkout/templates/slo-alerts.yaml:9"
    );
    assert_eq!(
        where_is("CheckoutSyntheticFailing"),
        "grafana/provisioning/alerting/checkout.yaml:9"
    );
    assert_eq!(
        where_is("Checkout p95 latency high"),
        "terraform/monitoring/monitors.tf:11"
    );
    assert_eq!(
        where_is("Checkout 5xx spike"),
        "datadog/monitors/checkout-5xx.json:3"
    );
    // The CRD, the README's example and the code block in the runbook are
    // not alerts; the Loki file holds only recording rules.
    for not_alert in ["PrometheusRule", "ExampleInReadme", "NotARealAlert"] {
        assert!(!by_name.contains_key(not_alert), "{not_alert}");
    }
    assert_eq!(by_name.len(), 17);
    assert_eq!(ev["alerts"]["recording_rules"], 3);
    let templated = &ev["alerts"]["templated_sources"][0]["location"]["path"];
    assert_eq!(templated, "charts/checkout/templates/prometheusrule.yaml");
}

#[test]
fn runbook_states_cover_links_anchors_and_templates() {
    let ev = evidence(ALERTS, &["--repo-url", REPO_URL]);
    let by_name = alerts(&ev);
    let state = |name: &str| {
        by_name[name]["runbook"]["state"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let rb = |name: &str| by_name[name]["runbook"].clone();
    // Relative to the rule file, relative to the root, and a URL into this
    // repository all land on the same file.
    for name in [
        "CheckoutHighErrorRate",
        "CheckoutDeployStuck",
        "CheckoutLatencyHigh",
    ] {
        assert_eq!(state(name), "resolved", "{name}");
        assert_eq!(rb(name)["path"], "docs/runbooks/checkout.md");
        assert_eq!(rb(name)["mentions_alert"], true, "{name}");
    }
    // Emoji heading, punctuation heading, second duplicate heading.
    assert_eq!(rb("CheckoutDeployStuck")["anchor"], "-deploy-stuck");
    assert_eq!(
        rb("CheckoutLatencyHigh")["anchor"],
        "whats-wrong-db-latency"
    );
    assert_eq!(state("CheckoutMitigationSecond"), "resolved");
    assert_eq!(rb("CheckoutMitigationSecond")["mentions_alert"], false);
    assert_eq!(state("CheckoutRenamedSection"), "anchor-missing");
    assert_eq!(state("CheckoutMissingFile"), "file-missing");
    assert_eq!(state("CheckoutQueueBacklog"), "missing");
    // A label counts, and says it is one.
    assert_eq!(state("CheckoutPodRestarts"), "unchecked");
    assert_eq!(rb("CheckoutPodRestarts")["field"], "label");
    // kube-prometheus `%s` and `{{ $labels.alertname | toLower }}` expand;
    // `{{ $labels.namespace }}` and Helm values cannot.
    assert_eq!(
        rb("CheckoutPodCrashLooping")["expanded"],
        "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/checkoutpodcrashlooping"
    );
    assert_eq!(
        rb("CheckoutCertExpiry")["expanded"],
        "docs/runbooks/checkout.md#checkoutcertexpiry"
    );
    assert_eq!(state("CheckoutCertExpiry"), "anchor-missing");
    assert_eq!(state("CheckoutHPAMaxedOut"), "templated");
    assert_eq!(state("CheckoutErrorBudgetBurn"), "templated");
    // Datadog: a Markdown link in the message, a runbook tag, none at all.
    assert_eq!(rb("Checkout p95 latency high")["field"], "message");
    assert_eq!(rb("Checkout p95 latency high")["location"]["line"], 18);
    assert_eq!(state("Checkout p95 latency high"), "resolved");
    assert_eq!(rb("Checkout disk filling")["field"], "tag");
    assert_eq!(state("Checkout 5xx spike"), "missing");
    assert_eq!(
        by_name["Checkout 5xx spike"]["notifies"][0],
        "@opsgenie-payments"
    );
    // Without knowing this repository's URL, such links are external.
    let offline = alerts(&evidence(ALERTS, &[]));
    assert_eq!(
        offline["CheckoutLatencyHigh"]["runbook"]["state"],
        "unchecked"
    );
}

#[test]
fn findings_point_at_alerts_and_split_paging_from_the_rest() {
    let report = check_report(ALERTS, &["--repo-url", REPO_URL, "--now", "2026-11-21"]);
    let located = |rule: &str, state: &str| -> Vec<String> {
        findings(&report, rule)
            .into_iter()
            .filter(|f| f["state"] == state)
            .map(|f| format!("{} {}", f["target"].as_str().unwrap(), at(f)))
            .collect()
    };
    assert_eq!(
        located("alerts.paging-runbook", "fail"),
        [
            "Checkout 5xx spike datadog/monitors/checkout-5xx.json:3",
            "CheckoutCertExpiry deploy/k8s/monitoring.yaml:43",
            "CheckoutRenamedSection monitoring/prometheus/checkout.rules.yml:68",
        ]
    );
    assert_eq!(located("alerts.paging-runbook", "unknown").len(), 2);
    // Non-paging alerts warn.
    assert_eq!(
        located("alerts.runbook", "warn"),
        [
            "CheckoutCartAbandonment grafana/provisioning/alerting/checkout.yaml:39",
            "CheckoutQueueBacklog monitoring/prometheus/checkout.rules.yml:43",
            "CheckoutMissingFile monitoring/prometheus/checkout.rules.yml:76",
        ]
    );
    assert_eq!(located("alerts.runbook-annotation", "warn").len(), 1);
    assert_eq!(located("alerts.runbook-mentions-alert", "warn").len(), 3);
    assert_eq!(located("alerts.summary", "warn").len(), 1);
    assert_eq!(states(&report, "alerts.sources-evaluated"), ["unknown"]);
    // A paging failure keeps the service below bronze.
    assert_eq!(report["verdict"]["level_reached"], Value::Null);
}

#[test]
fn a_waiver_can_name_an_alert() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(ALERTS), dir.path());
    write(
        dir.path(),
        ".readygate/policy.yaml",
        "name: checkout\nextends: [builtin:production]\nwaivers:\n  - rule: alerts.paging-runbook\n    target: CheckoutRenamed*\n    reason: section being rewritten in DOC-123\n    owner: \"@acme/payments\"\n    expires: 2027-01-31\n",
    );
    let report = check_report(
        dir.path().to_str().unwrap(),
        &["--repo-url", REPO_URL, "--now", "2026-11-21"],
    );
    let waived: Vec<&Value> = findings(&report, "alerts.paging-runbook")
        .into_iter()
        .filter(|f| f["state"] == "waived")
        .collect();
    assert_eq!(waived.len(), 1);
    assert_eq!(waived[0]["target"], "CheckoutRenamedSection");
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

const ONE_ALERT: &str = "groups:\n  - name: g\n    rules:\n      - alert: HighLatency\n        expr: vector(1)\n        labels: {severity: critical}\n        annotations:\n          summary: slow\n          RUNBOOK_KEY: LINK\n";

fn one_alert(key: &str, link: &str) -> String {
    ONE_ALERT.replace("RUNBOOK_KEY", key).replace("LINK", link)
}

#[test]
fn the_origin_remote_identifies_this_repository() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        ".git/config",
        "[core]\n\tbare = false\n[remote \"upstream\"]\n\turl = https://github.com/other/fork.git\n[remote \"origin\"]\n\turl = git@github.com:Acme/Checkout.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
    );
    write(
        root,
        "alerts.yml",
        &one_alert(
            "runbook_url",
            "https://github.com/acme/checkout/blob/release/2.8/docs/rb.md#highlatency",
        ),
    );
    write(
        root,
        "docs/rb.md",
        "# Runbooks\n\n## HighLatency\n\nRestart HighLatency's cache.\n",
    );
    let ev = evidence(root.to_str().unwrap(), &[]);
    assert_eq!(ev["alerts"]["repo_url"], "https://github.com/Acme/Checkout");
    let rb = &ev["alerts"]["alerts"][0]["runbook"];
    assert_eq!(rb["state"], "resolved", "{rb}");
    assert_eq!(rb["path"], "docs/rb.md");
    assert_eq!(rb["mentions_alert"], true);
}

#[test]
fn the_manifest_names_the_runbook_annotation() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "readygate.yaml",
        "service: x\nalerts:\n  runbook_keys: [runbook_link]\n",
    );
    write(
        root,
        "rules/api.rules.yml",
        &one_alert("runbook_link", "../RUNBOOK.md"),
    );
    write(root, "RUNBOOK.md", "# HighLatency\n");
    let ev = evidence(root.to_str().unwrap(), &[]);
    assert_eq!(
        ev["alerts"]["runbook_keys"],
        serde_json::json!(["runbook_link"])
    );
    assert_eq!(ev["alerts"]["alerts"][0]["runbook"]["state"], "resolved");
    // The default keys no longer count.
    write(
        root,
        "rules/api.rules.yml",
        &one_alert("runbook_url", "../RUNBOOK.md"),
    );
    let ev = evidence(root.to_str().unwrap(), &[]);
    assert_eq!(ev["alerts"]["alerts"][0]["runbook"]["state"], "missing");
}

#[test]
fn bad_rule_files_are_findings_and_the_gate_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "rules/good.rules.yml",
        &one_alert("runbook_url", "https://wiki.example/rb"),
    );
    write(
        root,
        "rules/rules-as-map.rules.yml",
        "groups:\n  - name: api\n    rules:\n      alert: A\n      expr: up == 0\n  - name: ok\n    rules:\n      - alert: StillCollected\n        expr: up == 0\n",
    );
    write(
        root,
        "rules/duplicate-keys.rules.yml",
        "groups:\n  - name: api\n    rules:\n      - alert: A\n        expr: up == 0\n        expr: up == 1\n",
    );
    write(
        root,
        "rules/tabs.rules.yml",
        "groups:\n  - name: api\n    rules:\n\t- alert: A\n",
    );
    write(root, "rules/empty.rules.yml", "");
    std::fs::write(
        root.join("rules/latin1.rules.yml"),
        b"groups:\n  - name: api\n    rules:\n      - alert: Caf\xe9Down\n        expr: up == 0\n",
    )
    .unwrap();
    // 50 MB of rules: over the default 8 MiB cap.
    let mut big = String::from("groups:\n  - name: big\n    rules:\n");
    let rule = "      - alert: Big\n        expr: up == 0\n        annotations: {summary: x, runbook_url: https://wiki.example/big}\n";
    while big.len() < 50 * 1024 * 1024 {
        big.push_str(rule);
    }
    write(root, "rules/huge.rules.yml", &big);

    let out = run(&["check", root.to_str().unwrap(), "--format", "json"]);
    assert_ne!(code(&out), 2, "{}", stderr(&out));
    let report = json(&out);
    let problems: Vec<String> = findings(&report, "evidence.readable")
        .into_iter()
        .filter(|f| f["state"] == "fail")
        .map(|f| format!("{} {}", at(f), f["message"].as_str().unwrap()))
        .collect();
    let has = |path_line: &str, words: &str| {
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with(path_line) && p.contains(words)),
            "{path_line} {words}: {problems:#?}"
        )
    };
    has("rules/rules-as-map.rules.yml:4", "`rules` is a mapping");
    has("rules/duplicate-keys.rules.yml:6", "duplicate");
    has("rules/tabs.rules.yml:4", "tab");
    has("rules/empty.rules.yml:1", "empty");
    has("rules/latin1.rules.yml:4", "UTF-8");
    has("rules/huge.rules.yml", "size");
    assert_eq!(problems.len(), 6, "{problems:#?}");
    let ev = evidence(root.to_str().unwrap(), &[]);
    let names: Vec<&str> = ev["alerts"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["HighLatency", "StillCollected"]);
}

// ---------------------------------------------------------------- online --

/// Runbook pages, good and bad, as real servers serve them.
fn runbook_server() -> Server {
    Server::start(|req| {
        let page = "<html><head><script>var x = 'OtherAlert';</script></head><body><h1>Runbooks</h1>\
            <h2 id=\"user-content-diskfull\">Disk full</h2><p>When DiskFull fires, delete old logs.</p>\
            <h2 id=\"user-content-other\">Other</h2><p>Nothing here yet.</p></body></html>";
        match req.path.as_str() {
            "/runbooks" => {
                Response::new(200, page).header("Content-Type", "text/html; charset=utf-8")
            }
            "/raw.md" => Response::new(200, "# HighLatency\n\nScale out.\n")
                .header("Content-Type", "text/plain"),
            "/moved" => Response::new(301, "").header("Location", "/raw.md"),
            "/gone" => Response::new(404, "not found"),
            "/boom" => Response::new(500, "oops"),
            "/login" => Response::new(401, "sign in"),
            "/loop" => Response::new(302, "").header("Location", "/loop"),
            "/stall" => Response::stall(),
            _ => Response::new(404, ""),
        }
    })
}

fn online_repo(server: &Server, links: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: online\n    rules:\n");
    for (alert, path) in links {
        rules.push_str(&format!(
            "      - alert: {alert}\n        expr: vector(1)\n        labels: {{severity: critical}}\n        annotations:\n          summary: s\n          runbook_url: \"{}\"\n",
            server.url(path)
        ));
    }
    write(dir.path(), "alerts.rules.yml", &rules);
    dir
}

#[test]
fn online_runbooks_get_status_and_mentions() {
    let server = runbook_server();
    let dir = online_repo(
        &server,
        &[
            ("DiskFull", "/runbooks#diskfull"),
            ("OtherAlert", "/runbooks#other"),
            ("NoAnchorAlert", "/runbooks#not-there"),
            ("HighLatency", "/moved"),
            ("GoneAlert", "/gone"),
            ("BoomAlert", "/boom"),
            ("LoginAlert", "/login"),
            ("LoopAlert", "/loop"),
            ("StallAlert", "/stall"),
        ],
    );
    let root = dir.path().to_str().unwrap();
    let started = Instant::now();
    let flags = [
        "--online",
        "--online-allow-private",
        "--online-timeout",
        "2",
        "--online-deadline",
        "20",
    ];
    let ev = evidence(root, &flags);
    let elapsed = started.elapsed();
    let by_name = alerts(&ev);
    let rb = |name: &str| by_name[name]["runbook"].clone();
    let summary = |name: &str| {
        let r = rb(name);
        format!(
            "{} {} {}",
            r["state"].as_str().unwrap(),
            r["http_status"],
            r["mentions_alert"]
        )
    };
    assert_eq!(summary("DiskFull"), "ok 200 true");
    // The section under #other does not name it; a script mentioning it does
    // not count.
    assert_eq!(summary("OtherAlert"), "ok 200 false");
    assert_eq!(summary("NoAnchorAlert"), "ok 200 false");
    assert!(
        rb("NoAnchorAlert")["detail"]
            .as_str()
            .unwrap()
            .contains("#not-there")
    );
    assert_eq!(summary("HighLatency"), "ok 200 true");
    assert_eq!(summary("GoneAlert"), "http-4xx 404 null");
    assert_eq!(summary("BoomAlert"), "http-5xx 500 null");
    assert_eq!(summary("LoginAlert"), "http-4xx 401 null");
    assert_eq!(summary("LoopAlert"), "unreachable null null");
    assert!(
        rb("LoopAlert")["detail"]
            .as_str()
            .unwrap()
            .contains("redirect"),
        "{}",
        rb("LoopAlert")
    );
    assert_eq!(summary("StallAlert"), "unreachable null null");
    assert!(
        rb("StallAlert")["detail"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{}",
        rb("StallAlert")
    );
    // One GET per page, whatever the anchors.
    assert_eq!(server.hits("/runbooks"), 1);
    assert_eq!(server.hits("/stall"), 1);
    // The stalled server costs one request timeout, not the deadline.
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");

    let report = check_report(root, &flags);
    let by_state = |state: &str| -> Vec<String> {
        findings(&report, "alerts.paging-runbook")
            .into_iter()
            .filter(|f| f["state"] == state)
            .map(|f| f["target"].as_str().unwrap().to_string())
            .collect()
    };
    // A 404 is a broken runbook; servers failing, sign-in walls and timeouts
    // are failures to observe.
    assert_eq!(by_state("fail"), ["GoneAlert"]);
    assert_eq!(
        by_state("unknown"),
        ["BoomAlert", "LoginAlert", "LoopAlert", "StallAlert"]
    );
}

#[test]
fn the_overall_deadline_cuts_stalled_requests() {
    let server = runbook_server();
    let dir = online_repo(
        &server,
        &[("StallAlert", "/stall"), ("DiskFull", "/runbooks#diskfull")],
    );
    let started = Instant::now();
    let ev = evidence(
        dir.path().to_str().unwrap(),
        &[
            "--online",
            "--online-allow-private",
            "--online-timeout",
            "60",
            "--online-deadline",
            "2",
        ],
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let by_name = alerts(&ev);
    let stalled = &by_name["StallAlert"]["runbook"];
    assert_eq!(stalled["state"], "unreachable");
    assert!(
        stalled["detail"].as_str().unwrap().contains("deadline"),
        "{stalled}"
    );
    assert_eq!(by_name["DiskFull"]["runbook"]["state"], "ok");
}

#[test]
fn loopback_targets_are_refused_unless_allowed() {
    let server = runbook_server();
    let dir = online_repo(&server, &[("DiskFull", "/runbooks#diskfull")]);
    let ev = evidence(
        dir.path().to_str().unwrap(),
        &["--online", "--online-timeout", "2"],
    );
    let rb = &ev["alerts"]["alerts"][0]["runbook"];
    assert_eq!(rb["state"], "unreachable");
    assert!(
        rb["detail"]
            .as_str()
            .unwrap()
            .contains("--online-allow-private"),
        "{rb}"
    );
    assert_eq!(server.hits("/runbooks"), 0);
}

/// Reformatting a rule file the way promtool still accepts must not make
/// its alerts disappear: every spelling yields the alert.
#[test]
fn rule_files_in_every_spelling_are_collected() {
    let dir = tempfile::tempdir().unwrap();
    let alert = |name: &str| {
        format!(
            "      - alert: {name}\n        expr: up == 0\n        labels:\n          severity: critical\n"
        )
    };
    let files = [
        ("quoted.yaml", format!("\"groups\":\n  - name: g\n    rules:\n{}", alert("Quoted"))),
        ("spaced.yaml", format!("groups :\n  - name: g\n    rules:\n{}", alert("Spaced"))),
        ("explicit.yaml", format!("? groups\n:\n  - name: g\n    rules:\n{}", alert("Explicit"))),
        (
            "flow.yaml",
            "{groups: [{name: g, rules: [{alert: Flow, expr: up == 0}]}]}\n".to_string(),
        ),
        (
            "mixin-rules.json",
            "{\"groups\": [{\"name\": \"g\", \"rules\": [{\"alert\": \"Json\", \"expr\": \"up == 0\"}]}]}\n"
                .to_string(),
        ),
    ];
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let out = run(&["evidence", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = json(&out);
    let mut names: Vec<&str> = ev["alerts"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["Explicit", "Flow", "Json", "Quoted", "Spaced"]);
    assert_eq!(ev["files"]["by_kind"]["prometheus-rules"], 5);
}

/// Prometheus loads whatever its config's `rule_files` name, `.conf`
/// included: those files are rule files to the gate too, however named.
#[test]
fn rule_files_named_by_a_prometheus_config_are_read_whatever_their_names() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "deploy/prometheus/prometheus.yml",
        "global:\n  scrape_interval: 15s\nrule_files:\n  - rules/*.conf\n  - /etc/prometheus/extra/*.rules\n  - ../../elsewhere/../deploy/prometheus/alerts.rules.yml\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [\"app:9090\"]\n",
    );
    write(
        dir.path(),
        "deploy/prometheus/rules/app.conf",
        "groups:\n  - name: app\n    rules:\n      - alert: AppDown\n        expr: up{job=\"app\"} == 0\n        labels:\n          severity: critical\n",
    );
    write(
        dir.path(),
        "deploy/prometheus/rules/broken.conf",
        "groups:\n  - name: [\n",
    );
    write(
        dir.path(),
        "deploy/prometheus/rules/notes.txt",
        "not matched by *.conf\n",
    );
    write(
        dir.path(),
        "deploy/prometheus/alerts.rules.yml",
        "groups:\n  - name: named\n    rules:\n      - alert: Named\n        expr: up == 0\n",
    );
    let out = run(&["evidence", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = json(&out);
    let mut alerts: Vec<(&str, &str)> = ev["alerts"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap(),
                a["location"]["path"].as_str().unwrap(),
            )
        })
        .collect();
    alerts.sort();
    // The rule file the walk found by its name is read once, not twice.
    assert_eq!(
        alerts,
        [
            ("AppDown", "deploy/prometheus/rules/app.conf"),
            ("Named", "deploy/prometheus/alerts.rules.yml")
        ]
    );
    let problems = ev["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        problems[0]["location"]["path"],
        "deploy/prometheus/rules/broken.conf"
    );
    assert_eq!(problems[0]["document_kind"], "prometheus-rules");
    assert_eq!(ev["files"]["by_kind"]["prometheus-config"], 1);
    assert_eq!(ev["files"]["by_kind"]["prometheus-rules"], 3);
}

/// Shapes from real chart and mixin repositories: a recording-only
/// template and one that takes its rules from values define no alerts of
/// their own; a jsonnet mixin with nothing rendered is an unevaluated
/// source, and is not once its rendering is in the repository.
#[test]
fn templates_without_alerts_and_unrendered_mixins() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "charts/stack/templates/rules/k8s.rules.yaml",
        "{{- if .Values.defaultRules.create }}\napiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: {{ include \"stack.fullname\" . }}-k8s.rules\nspec:\n  groups:\n  - name: k8s.rules\n    rules:\n    - expr: sum(rate(container_cpu_usage_seconds_total[5m])) by (namespace)\n      record: namespace:container_cpu_usage_seconds_total:sum_rate\n{{- end }}\n",
    );
    write(
        dir.path(),
        "charts/exporter/templates/prometheusrule.yaml",
        "{{- if .Values.prometheusRule.enabled }}\napiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: {{ template \"exporter.fullname\" . }}\nspec:\n  groups:\n  - name: {{ template \"exporter.fullname\" . }}\n    rules: {{ toYaml .Values.prometheusRule.rules | nindent 6 }}\n{{- end }}\n",
    );
    write(
        dir.path(),
        "mixin/alerts/apps.libsonnet",
        "{\n  prometheusAlerts+:: {\n    groups+: [\n      {\n        name: 'kubernetes-apps',\n        rules: [\n          {\n            alert: 'KubePodCrashLooping',\n            expr: 'max_over_time(kube_pod_container_status_waiting_reason{reason=\"CrashLoopBackOff\"}[5m]) >= 1',\n          },\n        ],\n      },\n    ],\n  },\n}\n",
    );
    let ev = |dir: &std::path::Path| {
        let out = run(&["evidence", dir.to_str().unwrap()]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        json(&out)
    };
    let unrendered = ev(dir.path());
    let templated: Vec<(&str, u64)> = unrendered["alerts"]["templated_sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["location"]["path"].as_str().unwrap(),
                t["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(templated, [("mixin/alerts/apps.libsonnet", 8)]);
    let report = check_report(dir.path().to_str().unwrap(), &["--event", "local"]);
    // Unknown, and, as the rule's severity says, not holding the level back.
    let unevaluated = findings(&report, "alerts.sources-evaluated");
    assert_eq!(unevaluated[0]["state"], "unknown");
    assert_eq!(unevaluated[0]["counts_against_level"], false);

    write(
        dir.path(),
        "rendered/prometheus_alerts.yaml",
        "groups:\n- name: kubernetes-apps\n  rules:\n  - alert: KubePodCrashLooping\n    expr: max_over_time(kube_pod_container_status_waiting_reason{reason=\"CrashLoopBackOff\"}[5m]) >= 1\n",
    );
    let rendered = ev(dir.path());
    assert_eq!(
        rendered["alerts"]["templated_sources"],
        serde_json::json!([])
    );
    assert_eq!(rendered["alerts"]["alerts"].as_array().unwrap().len(), 1);
}

/// Templates that parse only once rendered (a Liquid template that
/// generates rule files, a manifest with a sed `{PLACEHOLDER}`) are not
/// evaluated, and say so; they do not hold the level back like a broken
/// file does.
#[test]
fn templates_are_not_evaluated_rather_than_broken() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dist/template.yml",
        "groups:\n{% for group in groups %}\n  - name: {{ group.name }}\n    rules:\n{% for rule in group.rules %}\n      - alert: {{ rule.name }}\n        expr: {{ rule.query }}\n{% endfor %}\n{% endfor %}\n",
    );
    write(
        dir.path(),
        "make/config/bind/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: bind\nspec:\n  clusterIP: {SERVICE_IP_PREFIX}.16\n  ports:\n    - port: 53\n",
    );
    write(
        dir.path(),
        "mon/broken.rules.yml",
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: [\n",
    );
    let out = run(&["evidence", dir.path().to_str().unwrap()]);
    let ev = json(&out);
    let mut kinds: Vec<(&str, &str)> = ev["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["location"]["path"].as_str().unwrap(),
                p["kind"].as_str().unwrap(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("dist/template.yml", "template"),
            ("make/config/bind/service.yaml", "template"),
            ("mon/broken.rules.yml", "unparseable"),
        ]
    );
    let report = check_report(dir.path().to_str().unwrap(), &["--event", "local"]);
    let mut readable: Vec<(String, bool)> = findings(&report, "evidence.readable")
        .iter()
        .map(|f| {
            (
                f["state"].as_str().unwrap().to_string(),
                f["counts_against_level"].as_bool().unwrap(),
            )
        })
        .collect();
    readable.sort();
    assert_eq!(
        readable,
        [
            ("fail".to_string(), true),
            ("unknown".to_string(), false),
            ("unknown".to_string(), false)
        ]
    );
}

/// Green for external runbook links in an offline run says they were not
/// fetched.
#[test]
fn offline_passes_say_external_links_were_not_fetched() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.rules.yml"),
        "groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n        labels: {severity: critical}\n        annotations:\n          summary: down\n          runbook_url: https://runbooks.example.com/down\n",
    )
    .unwrap();
    let report = check_report(dir.path().to_str().unwrap(), &["--event", "local"]);
    let paging = findings(&report, "alerts.paging-runbook");
    assert_eq!(paging[0]["state"], "pass");
    assert!(
        paging[0]["message"]
            .as_str()
            .unwrap()
            .ends_with("(1 of them external links, not fetched: --online checks them)"),
        "{}",
        paging[0]["message"]
    );
}

/// A pass counts the production alerts it judged: alerts in test data are
/// skipped when they fall short, and are not in the pass's total either.
#[test]
fn pass_totals_count_production_alerts_only() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let rule = |name: &str, summary: bool| {
        let annotations = if summary {
            "\n    annotations:\n      summary: it broke"
        } else {
            ""
        };
        format!("  - alert: {name}\n    expr: up == 0{annotations}\n")
    };
    write(
        root,
        "monitoring/rules.yml",
        &format!(
            "groups:\n- name: svc\n  rules:\n{}{}",
            rule("SvcDown", true),
            rule("SvcSlow", true)
        ),
    );
    write(
        root,
        "tests/testdata/rules.yml",
        &format!(
            "groups:\n- name: fixture\n  rules:\n{}{}",
            rule("FixtureA", true),
            rule("FixtureB", false)
        ),
    );
    let report = check_report(root.to_str().unwrap(), &["--event", "local"]);
    let summary: Vec<(&str, &str)> = findings(&report, "alerts.summary")
        .iter()
        .map(|f| (f["state"].as_str().unwrap(), f["message"].as_str().unwrap()))
        .collect();
    assert_eq!(summary.len(), 2, "{summary:?}");
    assert!(
        summary.contains(&("pass", "2 of 2 alerts have a summary")),
        "{summary:?}"
    );
    assert!(
        summary
            .iter()
            .any(|(s, m)| *s == "skip" && m.starts_with("out of scope (test)")),
        "{summary:?}"
    );
}
