//! Cases measured on real repositories (issue: every finding worth reading):
//! each fixture is shaped like the real file that produced a false finding.

mod common;

use common::*;

fn repo_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    dir
}

fn report(dir: &std::path::Path) -> serde_json::Value {
    check_report(dir.to_str().unwrap(), &["--now", "2026-11-22"])
}

#[test]
fn a_kustomize_deletion_patch_is_not_a_broken_rule() {
    // overlays/prod/delete-rules.yaml in a kustomize overlay.
    let dir = repo_with(&[(
        "overlays/prod/delete-rules.yaml",
        "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: kube-prometheus-rules\n  namespace: monitoring\n$patch: delete\n",
    )]);
    let out = run(&["evidence", dir.path().to_str().unwrap()]);
    let ev = json(&out);
    assert_eq!(
        ev["problems"].as_array().unwrap().len(),
        0,
        "{}",
        ev["problems"]
    );
}

#[test]
fn codeowners_double_star_is_a_default_owner() {
    let dir = repo_with(&[(".github/CODEOWNERS", "** @org/platform\n/docs/ @org/docs\n")]);
    let out = run(&["evidence", dir.path().to_str().unwrap()]);
    assert_eq!(
        json(&out)["service"]["codeowners"]["has_default_owner"],
        true
    );
}

#[test]
fn paging_conventions_beyond_critical_count_as_paging() {
    let rules = "groups:\n  - name: api\n    rules:\n      - alert: ApiDown\n        expr: up == 0\n        labels:\n          severity: s1\n      - alert: ApiSlow\n        expr: latency > 1\n        labels:\n          severity: warning\n          pager: pagerduty\n      - alert: ApiSev\n        expr: errors > 0\n        labels:\n          severity: SEV2\n      - alert: ApiInfo\n        expr: x > 0\n        labels:\n          severity: info\n          pager: \"false\"\n";
    let dir = repo_with(&[("monitoring/api.rules.yml", rules)]);
    let r = report(dir.path());
    let mut paging: Vec<&str> = findings(&r, "alerts.paging-runbook")
        .iter()
        .filter_map(|f| f["target"].as_str())
        .collect();
    paging.sort();
    assert_eq!(paging, ["ApiDown", "ApiSev", "ApiSlow"]);
}

#[test]
fn a_title_annotation_is_a_summary() {
    let rules = "groups:\n  - name: g\n    rules:\n      - alert: WithTitle\n        expr: up == 0\n        annotations:\n          title: The API is down\n      - alert: WithNothing\n        expr: up == 0\n";
    let dir = repo_with(&[("monitoring/a.rules.yml", rules)]);
    let r = report(dir.path());
    let failing: Vec<(&str, &str)> = findings(&r, "alerts.summary")
        .iter()
        .filter(|f| f["state"] != "pass")
        .map(|f| {
            (
                f["target"].as_str().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(failing.len(), 1, "{failing:?}");
    assert_eq!(failing[0].0, "WithNothing");
    assert!(failing[0].1.contains("`summary` or `title`"), "{failing:?}");
}

#[test]
fn no_manifest_says_so_rather_than_a_missing_tier() {
    let dir = repo_with(&[("README.md", "# x\n")]);
    let r = report(dir.path());
    let tier = findings(&r, "service.tier");
    assert_eq!(tier.len(), 1);
    // One missing file is one failing finding (service.described's).
    assert_eq!(tier[0]["state"], "skip");
    assert!(
        tier[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("no readygate.yaml (see service.described)"),
        "{}",
        tier[0]["message"]
    );
    assert_eq!(states(&r, "service.described"), ["fail"]);
    let dir = repo_with(&[("readygate.yaml", "service: x\n")]);
    let r = report(dir.path());
    let tier = findings(&r, "service.tier");
    assert!(
        tier[0]["message"]
            .as_str()
            .unwrap()
            .contains("declares no `tier`")
    );
    assert_eq!(tier[0]["location"]["path"], "readygate.yaml");
}

/// A runbook repository shaped like a large operator's: one page per
/// service, a section per alert headed in words, not in the alert's
/// CamelCase name. Correct links must not be reported as "never mentions".
#[test]
fn runbook_pages_that_name_the_alert_in_words_count() {
    let alertmanager = "# Alertmanager\n\n## Notifications failing\n\nThe notification queue is backing up. Check the receiver's integration.\n\n## Failed reload\n\nThe configuration did not load; run amtool check-config.\n\n## Members inconsistent\n\nThe cluster has not converged.\n";
    let etcd = "# etcd\n\n## etcd members down\n\nA member is unreachable.\n\n## etcd high number of failed GRPC requests\n\nLook at the client errors.\n\n## etcd no leader\n\nThe cluster lost quorum.\n";
    let kube = "# Kubernetes API\n\n## Kube API errors high\n\nThe API server answers 5xx.\n\n## Kube client certificate expiration\n\nRotate the client certificates.\n";
    let node = "# Node\n\n## Filesystem space filling up\n\nFree space or grow the volume.\n";
    let page = "# Notification failures\n\nWhat to do when notifications fail to send.\n";
    let links = [
        (
            "AlertmanagerNotificationsFailing",
            "runbooks/alertmanager.md#notifications-failing",
        ),
        (
            "AlertmanagerFailedReload",
            "runbooks/alertmanager.md#failed-reload",
        ),
        (
            "AlertmanagerMembersInconsistent",
            "runbooks/alertmanager.md#members-inconsistent",
        ),
        ("EtcdMembersDown", "runbooks/etcd.md#etcd-members-down"),
        (
            "EtcdHighNumberOfFailedGRPCRequests",
            "runbooks/etcd.md#etcd-high-number-of-failed-grpc-requests",
        ),
        ("EtcdNoLeader", "runbooks/etcd.md#etcd-no-leader"),
        (
            "KubeAPIErrorsHigh",
            "runbooks/kube-api.md#kube-api-errors-high",
        ),
        (
            "KubeClientCertificateExpiration",
            "runbooks/kube-api.md#kube-client-certificate-expiration",
        ),
        (
            "NodeFilesystemSpaceFillingUp",
            "runbooks/node.md#filesystem-space-filling-up",
        ),
        (
            "AlertmanagerNotificationFailures",
            "docs/alertmanager/notification-failures.md",
        ),
    ];
    let mut rules = String::from("groups:\n  - name: platform\n    rules:\n");
    for (alert, link) in links {
        rules.push_str(&format!(
            "      - alert: {alert}\n        expr: up == 0\n        labels:\n          severity: critical\n        annotations:\n          summary: x\n          runbook_url: ../{link}\n"
        ));
    }
    let dir = repo_with(&[
        ("runbooks/alertmanager.md", alertmanager),
        ("runbooks/etcd.md", etcd),
        ("runbooks/kube-api.md", kube),
        ("runbooks/node.md", node),
        ("docs/alertmanager/notification-failures.md", page),
        ("rules/platform.rules.yml", &rules),
    ]);
    let r = report(dir.path());
    let failing: Vec<&str> = findings(&r, "alerts.runbook-mentions-alert")
        .iter()
        .filter(|f| f["state"] == "fail")
        .filter_map(|f| f["target"].as_str())
        .collect();
    // Under 10% of correct links reported: here, none.
    assert!(failing.is_empty(), "{failing:?}");
    let broken = findings(&r, "alerts.paging-runbook")
        .iter()
        .filter(|f| f["state"] == "fail")
        .count();
    assert_eq!(broken, 0, "every link resolves");
}

#[test]
fn repeated_findings_collapse_in_the_reports_people_read() {
    let mut rules = String::from("groups:\n  - name: g\n    rules:\n");
    for i in 0..25 {
        rules.push_str(&format!(
            "      - alert: NoRunbook{i}\n        expr: up == 0\n        labels:\n          severity: critical\n        annotations:\n          summary: x\n"
        ));
    }
    let dir = repo_with(&[("monitoring/a.rules.yml", &rules)]);
    let root = dir.path().to_str().unwrap();
    let terminal = stdout(&run(&["check", root]));
    assert_eq!(terminal.matches("has no runbook").count(), 10, "{terminal}");
    assert!(terminal.contains("and 15 more like this"), "{terminal}");
    let markdown = stdout(&run(&[
        "check",
        root,
        "--format",
        "markdown",
        "--max-per-rule",
        "5",
    ]));
    assert!(markdown.contains("and 20 more like this"), "{markdown}");
    let all = stdout(&run(&["check", root, "--all"]));
    assert_eq!(all.matches("has no runbook").count(), 25);
    assert!(!all.contains("more like this"));
    // JSON keeps every finding.
    let r = check_report(root, &[]);
    let failing = findings(&r, "alerts.paging-runbook")
        .iter()
        .filter(|f| f["state"] == "fail")
        .count();
    assert_eq!(failing, 25);
}

#[test]
fn a_runbook_that_cannot_be_checked_warns_rather_than_blocks() {
    // A templated link (as Helm charts and mixins write them): unknown.
    let rules = "groups:\n  - name: g\n    rules:\n      - alert: ApiDown\n        expr: up == 0\n        labels:\n          severity: critical\n        annotations:\n          summary: x\n          runbook_url: '{{ $externalURL }}/runbooks/api-down'\n";
    let dir = repo_with(&[
        ("monitoring/a.rules.yml", rules),
        (
            "readygate.yaml",
            "service: api\ntier: 3\nowners: ['@acme/api']\n",
        ),
    ]);
    let r = report(dir.path());
    let paging = findings(&r, "alerts.paging-runbook");
    let unknown: Vec<_> = paging.iter().filter(|f| f["state"] == "unknown").collect();
    assert_eq!(unknown.len(), 1, "{paging:?}");
    assert_eq!(unknown[0]["counts_against_level"], false);
}

#[test]
fn explain_reads_the_repository_policy_and_suggests_the_rule_meant() {
    let dir = repo_with(&[(
        ".readygate/policy.yaml",
        "name: team\nextends: [builtin:production]\nrules:\n  - id: team.dashboards\n    title: Dashboards are linked\n    level: gold\n    expr: evidence.service.catalog.size() > 0\n    why: On-call starts from a dashboard.\n    remediation: Link one in catalog-info.yaml.\n",
    )]);
    let out = readygate()
        .args(["explain", "team.dashboards"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("On-call starts from a dashboard."));
    let out = readygate()
        .args(["explain", "team.dashbords"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("did you mean `team.dashboards`?"),
        "{}",
        stderr(&out)
    );
}

/// The noise test: 200 alerts in a chart's `testdata/` and 20 in the
/// production rules. Only the 20 are judged; the report says how many were
/// out of scope, and JSON keeps them as skips.
#[test]
fn test_fixtures_and_vendored_code_are_collected_but_not_judged() {
    let alerts = |prefix: &str, n: usize| {
        let mut rules = String::from("groups:\n  - name: g\n    rules:\n");
        for i in 0..n {
            rules.push_str(&format!(
                "      - alert: {prefix}{i}\n        expr: up == 0\n        labels:\n          severity: critical\n"
            ));
        }
        rules
    };
    let dir = repo_with(&[
        ("monitoring/prod.rules.yml", &alerts("Prod", 20)),
        (
            "charts/api/testdata/golden.rules.yml",
            &alerts("Golden", 200),
        ),
        (
            "vendor/github.com/x/mixin/alerts.rules.yml",
            &alerts("Vendored", 5),
        ),
        ("examples/demo.rules.yml", &alerts("Demo", 5)),
        ("tests/fixtures/broken.rules.yml", "groups: [\n"),
    ]);
    let root = dir.path().to_str().unwrap();
    let ev = json(&run(&["evidence", root]));
    assert_eq!(ev["alerts"]["alerts"].as_array().unwrap().len(), 230);
    assert_eq!(ev["scopes"]["files"]["production"], 1);
    assert_eq!(ev["scopes"]["files"]["test"], 2);
    let r = report(dir.path());
    let judged: Vec<&str> = findings(&r, "alerts.paging-runbook")
        .iter()
        .filter(|f| f["state"] == "fail")
        .filter_map(|f| f["target"].as_str())
        .collect();
    assert_eq!(judged.len(), 20);
    assert!(judged.iter().all(|t| t.starts_with("Prod")), "{judged:?}");
    let skipped: Vec<&serde_json::Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["scope"].is_null())
        .collect();
    assert!(skipped.iter().all(|f| f["state"] == "skip"));
    assert!(skipped.iter().any(|f| f["scope"] == "vendored"));
    // The broken fixture is not a readability failure of production.
    assert!(
        findings(&r, "evidence.readable")
            .iter()
            .all(|f| f["state"] != "fail")
    );
    let terminal = stdout(&run(&["check", root]));
    assert!(terminal.contains("files not judged"), "{terminal}");
}

#[test]
fn the_manifest_and_readygateignore_reclassify_paths() {
    let rules = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        labels:\n          severity: critical\n";
    let dir = repo_with(&[
        ("deploy/examples/prod/a.rules.yml", rules),
        ("scratch/b.rules.yml", rules),
        (
            "readygate.yaml",
            "service: x\nscopes:\n  production: ['deploy/examples/prod/**']\n",
        ),
        (".readygateignore", "# experiments\nscratch/\n"),
    ]);
    let r = report(dir.path());
    let paging = findings(&r, "alerts.paging-runbook");
    let failing: Vec<&str> = paging
        .iter()
        .filter(|f| f["state"] == "fail")
        .map(|f| f["location"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["deploy/examples/prod/a.rules.yml"]);
    assert!(paging.iter().any(|f| f["scope"] == "excluded"));
}

/// A pull request that breaks a runbook anchor changes the link's line, not
/// the alert's: the finding is annotated on the line it changed.
#[test]
fn a_broken_runbook_link_is_annotated_on_the_changed_line() {
    let rules = |anchor: &str| {
        format!(
            "groups:\n  - name: g\n    rules:\n      - alert: ApiDown\n        expr: up == 0\n        labels:\n          severity: critical\n        annotations:\n          summary: x\n          runbook_url: docs/runbooks.md#{anchor}\n"
        )
    };
    let dir = repo_with(&[
        ("monitoring/api.rules.yml", &rules("apidown")),
        (
            "docs/runbooks.md",
            "# Runbooks\n\n## ApiDown\n\nRestart it.\n",
        ),
    ]);
    let repo = dir.path();
    git(repo, &["init", "-q"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "base"]);
    git(repo, &["checkout", "-q", "-b", "pr"]);
    write(repo, "monitoring/api.rules.yml", &rules("api-is-down"));
    git(repo, &["commit", "-q", "-am", "rename the anchor"]);
    let r = check_report(
        repo.to_str().unwrap(),
        &[
            "--baseline",
            "main",
            "--annotate",
            "changed",
            "--now",
            "2026-11-22",
        ],
    );
    let f = findings(&r, "alerts.paging-runbook")
        .into_iter()
        .find(|f| f["state"] == "fail")
        .expect("the broken anchor fails");
    assert_eq!(f["on_changed_line"], true, "{f}");
    assert_eq!(f["location"]["line"], 10, "at the runbook_url line: {f}");
    assert_eq!(f["related"][0]["line"], 4, "the alert's name: {f}");
}
