//! The real binary on fixture repositories: evidence, verdicts, exit codes,
//! policy errors with spans, waivers against an injected clock.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

// ------------------------------------------------------------- evidence --

#[test]
fn evidence_for_every_iac_kind() {
    let out = run(&["evidence", ZOO]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    insta::assert_snapshot!("evidence_iac_zoo", stdout(&out));
}

#[test]
fn evidence_for_service_facts() {
    let out = run(&["evidence", FACTS]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    insta::assert_snapshot!("evidence_service_facts", stdout(&out));
}

#[test]
fn evidence_yaml_is_the_same_document() {
    let from_json = json(&run(&["evidence", FACTS]));
    let yaml = stdout(&run(&["evidence", FACTS, "--format", "yaml"]));
    let from_yaml = readygate::yaml::parse_single(&yaml).unwrap().to_json();
    assert_eq!(from_json, from_yaml);
}

#[test]
fn evidence_validates_against_its_schema() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/evidence.schema.json").unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for dir in [SAMPLE, ZOO, FACTS] {
        let doc = json(&run(&["evidence", dir]));
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{dir}: {errors:?}");
    }
}

#[test]
fn unparseable_evidence_is_a_finding_and_the_gate_goes_on() {
    let out = run(&["check", ZOO, "--format", "json", "--now", "2026-11-21"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json(&out);
    let bad: Vec<_> = findings(&report, "evidence.readable");
    let locations: Vec<String> = bad
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["location"]["path"].as_str().unwrap(),
                f["location"]["line"]
            )
        })
        .collect();
    assert_eq!(locations, ["broken/deployment.yaml:6", "broken/dup.tf:2"]);
    assert!(bad.iter().all(|f| f["state"] == "fail"));
    // The rest of the repository was still evaluated.
    assert_eq!(states(&report, "iac.present"), ["pass"]);
}

// -------------------------------------------------------------- verdicts --

/// The sample as if it were its own checkout: git is not asked past
/// `examples/`, so the branch of the repository the tests run in (which
/// the gate would rightly read) does not reach the snapshots.
fn run_sample(args: &[&str]) -> std::process::Output {
    let ceiling = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    readygate()
        .args(args)
        .env("GIT_CEILING_DIRECTORIES", ceiling)
        .output()
        .unwrap()
}

#[test]
fn sample_service_terminal_report() {
    let out = run_sample(&["check", SAMPLE, "--now", "2026-11-21"]);
    assert_eq!(code(&out), 0, "a local run only warns: {}", stderr(&out));
    insta::assert_snapshot!("check_sample_terminal", stdout(&out));
}

#[test]
fn sample_service_markdown_and_json() {
    let md = run_sample(&[
        "check",
        SAMPLE,
        "--now",
        "2026-11-21",
        "--format",
        "markdown",
    ]);
    insta::assert_snapshot!("check_sample_markdown", stdout(&md));
    let report = check_report(SAMPLE, &["--now", "2026-11-21"]);
    assert_eq!(report["report_version"], 1);
    assert_eq!(report["verdict"]["level_reached"], "bronze");
    assert_eq!(report["verdict"]["level_required"], "silver");
    assert_eq!(
        states(&report, "iac.terraform-remote-backend"),
        ["waived", "pass"]
    );
    let lock = findings(&report, "iac.terraform-lockfile");
    let failed: Vec<_> = lock.iter().filter(|f| f["state"] == "fail").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["target"], "infra/envs/prod");
}

#[test]
fn release_branches_block_feature_pull_requests_warn() {
    let release = run(&[
        "check",
        SAMPLE,
        "--branch",
        "release/2.8",
        "--event",
        "push",
    ]);
    assert_eq!(code(&release), 1);
    assert!(stdout(&release).contains("BLOCKED"));
    let pr = run(&[
        "check",
        SAMPLE,
        "--branch",
        "feature/faster-checkout",
        "--event",
        "pull_request",
    ]);
    assert_eq!(code(&pr), 0);
    assert!(stdout(&pr).contains("not ready (enforcement: warn, not blocking)"));
}

#[test]
fn enforcement_by_branch_and_event() {
    let p = policy("enforcement");
    let cases = [
        ("release/1.0", "push", 1),
        ("release/1.0", "pull_request", 1),
        ("main", "push", 1),
        ("main", "pull_request", 0),
        ("experiments/x", "push", 0),
        ("feature/y", "push", 0),
    ];
    for (branch, event, expected) in cases {
        let out = run(&[
            "check", ZOO, "--policy", &p, "--branch", branch, "--event", event, "--format", "json",
        ]);
        assert_eq!(code(&out), expected, "{branch} {event}: {}", stderr(&out));
        let mode = json(&out)["verdict"]["mode"].clone();
        let want = match (branch, expected) {
            ("experiments/x", _) => "off",
            (_, 1) => "block",
            _ => "warn",
        };
        assert_eq!(mode, want, "{branch} {event}");
    }
}

#[test]
fn github_runner_environment_picks_branch_and_event() {
    let out = readygate()
        .args(["check", SAMPLE, "--format", "json"])
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_BASE_REF", "release/3.0")
        .env("GITHUB_REF_NAME", "42/merge")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    let report = json(&out);
    assert_eq!(report["verdict"]["branch"], "release/3.0");
    assert_eq!(report["verdict"]["event"], "pull_request");
}

#[test]
fn tier_flag_overrides_the_manifest() {
    let report = check_report(SAMPLE, &["--tier", "3"]);
    assert_eq!(report["verdict"]["tier"], 3);
    assert_eq!(report["verdict"]["level_required"], "bronze");
    assert_eq!(states(&report, "service.oncall"), ["skip"]);
}

#[test]
fn output_file_gets_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let out = run(&[
        "check",
        SAMPLE,
        "--format",
        "json",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("verdict: level bronze reached"));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(report["service"], "checkout-api");
}

// --------------------------------------------------------------- waivers --

#[test]
fn waivers_expire_against_the_injected_clock() {
    let p = policy("waivers");
    let report = check_report(ZOO, &["--policy", &p, "--now", "2026-11-21"]);
    // Expired on 2026-11-01: the failure counts again, and the waiver itself fails.
    assert_eq!(states(&report, "iac.terraform-lockfile"), ["fail", "pass"]);
    let expired = findings(&report, "readygate.waiver-expired");
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["state"], "fail");
    assert_eq!(expired[0]["location"]["path"], p.as_str());
    assert_eq!(expired[0]["location"]["line"], 7);
    // Expires 2026-11-30, nine days away: still waives, and warns.
    assert_eq!(
        states(&report, "iac.terraform-remote-backend"),
        ["waived", "pass"]
    );
    let expiring = findings(&report, "readygate.waiver-expiring");
    assert_eq!(expiring.len(), 1);
    assert!(
        expiring[0]["message"]
            .as_str()
            .unwrap()
            .contains("(9 days)")
    );
    // A waiver without a target covers the rule wherever it fails.
    assert_eq!(states(&report, "repo.codeowners"), ["waived"]);

    // A month later both have expired.
    let later = check_report(ZOO, &["--policy", &p, "--now", "2026-12-21"]);
    assert_eq!(findings(&later, "readygate.waiver-expired").len(), 2);
    assert!(findings(&later, "readygate.waiver-expiring").is_empty());
}

#[test]
fn enable_on_warns_until_the_date() {
    let p = policy("waivers");
    let before = check_report(ZOO, &["--policy", &p, "--tier", "1", "--now", "2026-12-14"]);
    let slo = findings(&before, "service.slo");
    assert_eq!(slo[0]["state"], "warn");
    assert!(
        slo[0]["message"]
            .as_str()
            .unwrap()
            .ends_with("(enforced from 2026-12-15)")
    );
    let after = check_report(ZOO, &["--policy", &p, "--tier", "1", "--now", "2026-12-15"]);
    assert_eq!(states(&after, "service.slo"), ["fail"]);
}

// ------------------------------------------------------------------- CEL --

#[test]
fn cel_rules_read_the_evidence() {
    let p = policy("cel-rules");
    let facts = check_report(FACTS, &["--policy", &p]);
    assert_eq!(states(&facts, "team.slo-three-nines"), ["pass"]);
    let zoo = check_report(ZOO, &["--policy", &p, "--tier", "1"]);
    let ns = findings(&zoo, "team.k8s-namespaced");
    assert_eq!(ns[0]["state"], "fail");
    assert_eq!(
        ns[0]["message"],
        "some Kubernetes objects have no namespace and land in whatever the kubectl context says"
    );
    // An expression over evidence that does not exist is unknown, never a crash.
    let missing = findings(&zoo, "team.uses-missing-key");
    assert_eq!(missing[0]["state"], "unknown");
    assert_eq!(missing[0]["counts_against_level"], false);
}

/// The rules that keep the service below its next level lead the report,
/// then the rest by level, whatever their areas are called.
#[test]
fn next_level_blockers_come_first_in_every_report() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "readygate.yaml", "service: x\ntier: 1\n");
    write(
        dir.path(),
        "policy.yaml",
        "name: order\nlevels: [bronze, silver, gold]\nrules:\n  - {id: aaa.gold, title: G, area: aaa, level: gold, expr: 'false', why: w, remediation: r}\n  - {id: mmm.silver, title: S, area: mmm, level: silver, expr: 'false', why: w, remediation: r}\n  - {id: zzz.bronze, title: B, area: zzz, level: bronze, expr: 'false', why: w, remediation: r}\n",
    );
    let root = dir.path().to_str().unwrap();
    let policy = dir.path().join("policy.yaml");
    let policy = policy.to_str().unwrap();
    let report = check_report(root, &["--policy", policy]);
    let order: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["zzz.bronze", "mmm.silver", "aaa.gold"]);
    let out = run(&["check", root, "--policy", policy, "--event", "local"]);
    let text = stdout(&out);
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} in {text}"));
    // A section across areas for what blocks the next level, then the areas.
    assert!(at("to reach bronze, fix: zzz.bronze (1)") < at("\nblocking bronze\n"));
    assert!(at("\nblocking bronze\n") < at("FAIL    zzz.bronze"));
    assert!(at("FAIL    zzz.bronze") < at("FAIL    mmm.silver"));
    assert!(at("FAIL    mmm.silver") < at("FAIL    aaa.gold"));
    let out = run(&[
        "check", root, "--policy", policy, "--event", "local", "--format", "markdown",
    ]);
    let md = stdout(&out);
    let at = |s: &str| md.find(s).unwrap_or_else(|| panic!("{s} in {md}"));
    assert!(at("### Blocking bronze") < at("`zzz.bronze`"));
    assert!(at("`zzz.bronze`") < at("### mmm") && at("### mmm") < at("### aaa"));
}

// --------------------------------------------------------- policy errors --

#[test]
fn policy_errors_point_at_file_line_and_key() {
    let cases = [
        (
            "unknown-level",
            "unknown-level.yaml:4:5: rule `team.iac` has unknown level `platinum`",
        ),
        (
            "unknown-key",
            "unknown-key.yaml:9:5: `rules[0].remedation`: unknown key",
        ),
        ("bad-yaml", "bad-yaml.yaml:4:12: not valid YAML"),
        (
            "waiver-unknown-rule",
            "waiver-unknown-rule.yaml:4:5: waiver for unknown rule `iac.terraform-lockfiles`",
        ),
        (
            "bad-cel",
            "bad-cel.yaml:7:5: `rules[0].expr`: invalid CEL expression",
        ),
        (
            "cycle-a",
            "cycle-b.yaml:2:11: `extends`: `cycle-a.yaml` extends itself",
        ),
    ];
    for (name, expected) in cases {
        let out = run(&["policy", "lint", &policy(name)]);
        assert_eq!(code(&out), 2, "{name}");
        let err = stderr(&out);
        assert!(err.contains(expected), "{name}: {err}");
        assert!(err.contains("hint: "), "{name} has no hint: {err}");
        // The same error stops `check` too.
        let out = run(&["check", SAMPLE, "--policy", &policy(name)]);
        assert_eq!(code(&out), 2, "check with {name}");
    }
}

#[test]
fn locked_rules_cannot_be_weakened_or_waived() {
    for name in ["weaken-locked", "waive-locked"] {
        let out = run(&["policy", "lint", &policy(name)]);
        assert_eq!(code(&out), 2, "{name}");
        let err = stderr(&out);
        assert!(err.contains(&format!("{name}.yaml:4:5")), "{err}");
        assert!(
            err.contains("is locked by tests/fixtures/policies/org-locked.yaml:6:5"),
            "{err}"
        );
    }
    insta::assert_snapshot!(
        "locked_weaken_error",
        stderr(&run(&["policy", "lint", &policy("weaken-locked")]))
    );
    // Making a locked rule stricter is allowed.
    let out = run(&["policy", "lint", &policy("strengthen-locked")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn overrides_merge_params_key_by_key_and_lint_shows_them() {
    let out = run(&["policy", "lint", &policy("override-params")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("tls.certificate-expiring params: {\"min_days\":30,\"endpoint_min\":true}"),
        "{text}"
    );
    assert!(
        text.contains("tls.certificate-expired params: {\"min_days\":7,\"endpoint_min\":false}"),
        "{text}"
    );
}

#[test]
fn workloads_carry_containers_replicas_and_the_budgets_that_select_them() {
    let ev = evidence(ZOO, &[]);
    let web = &ev["iac"]["workloads"][0];
    assert_eq!(web["name"], "web");
    assert_eq!(web["replicas"], 3);
    assert_eq!(web["containers"][0]["image"], "ghcr.io/acme/web:1.16.0");
    assert_eq!(web["containers"][0]["limits"], serde_json::json!({}));
    assert_eq!(web["pod_disruption_budgets"], serde_json::json!(["web"]));
    assert_eq!(
        ev["iac"]["pod_disruption_budgets"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // What a platform team's for_each rule reads.
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("limits.yaml");
    std::fs::write(&pack, "name: limits\nextends: [builtin:baseline]\nrules:\n  - id: team.limits\n    title: Containers set a memory limit\n    level: bronze\n    for_each: evidence.iac.workloads\n    expr: item.containers.all(c, 'memory' in c.limits)\n    message: a container has no memory limit\n    why: w\n    remediation: r\n").unwrap();
    let report = check_report(ZOO, &["--policy", pack.to_str().unwrap(), "--all"]);
    let f = findings(&report, "team.limits");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["state"], "fail");
    assert_eq!(f[0]["target"], "web");
    assert_eq!(f[0]["location"]["path"], "k8s/app.yaml");
}

#[test]
fn for_each_rules_judge_each_item_at_its_location_and_waive_by_target() {
    let report = check_report(ZOO, &["--policy", &policy("for-each"), "--all"]);
    let got: Vec<String> = findings(&report, "team.namespaced")
        .iter()
        .map(|f| {
            format!(
                "{} {} {}:{} {}",
                f["state"].as_str().unwrap(),
                f["target"].as_str().unwrap_or("-"),
                f["location"]["path"].as_str().unwrap_or("-"),
                f["location"]["line"],
                f["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "fail web-config k8s/config-list.yaml:4 web-config: no namespace",
            "waived web-secret k8s/config-list.yaml:8 web-secret: no namespace",
        ],
        "{got:#?}"
    );
    // A for_each over something that is not a list, or without expr: load errors.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "name: bad\nrules:\n  - id: t.x\n    title: x\n    level: bronze\n    for_each: iac.kubernetes\n    expr: item.name != ''\n    why: w\n    remediation: r\n").unwrap();
    let out = run(&["policy", "lint", bad.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("must name a list in the evidence"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn waiver_rules_set_by_a_pack_hold_in_every_pack_extending_it() {
    let dir = tempfile::tempdir().unwrap();
    let day = |d: i64| (chrono::Utc::now().date_naive() + chrono::Duration::days(d)).to_string();
    std::fs::write(
        dir.path().join("org.yaml"),
        "name: org\nextends: [builtin:baseline]\nwaiver_rules:\n  max_days: 90\n  ticket: '^OPS-[0-9]+$'\n  owners: '^@acme/'\n",
    )
    .unwrap();
    let team = |waivers: &str| {
        let path = dir.path().join("team.yaml");
        std::fs::write(
            &path,
            format!("name: team\nextends: [org.yaml]\nwaivers:\n{waivers}"),
        )
        .unwrap();
        run(&["policy", "lint", path.to_str().unwrap()])
    };
    let ok = team(&format!(
        "  - {{rule: ci.present, ticket: OPS-12, reason: r, owner: '@acme/team', expires: '{}'}}\n",
        day(30)
    ));
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));
    let bad = team(&format!(
        "  - {{rule: ci.present, reason: r, owner: '@acme/team', expires: '{}'}}\n  - {{rule: repo.codeowners, ticket: JIRA-1, reason: r, owner: someone, expires: '{}'}}\n",
        day(200),
        day(10)
    ));
    assert_eq!(code(&bad), 2);
    let err = stderr(&bad);
    for says in [
        "team.yaml:4:5",
        "more than 90 days from today",
        "has no `ticket`",
        "team.yaml:5:5",
        "ticket `JIRA-1` does not match `^OPS-[0-9]+$`",
        "owner `someone` does not match `^@acme/`",
        "org.yaml:3:1",
    ] {
        assert!(err.contains(says), "{says}: {err}");
    }
}

#[test]
fn policy_show_names_the_pack_behind_each_changed_field() {
    let out = run(&["policy", "show", &policy("show-override")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let block = |id: &str| {
        let start = text
            .find(&format!("\n{id}\n"))
            .unwrap_or_else(|| panic!("{id}: {text}"));
        text[start + 1..].split("\n\n").next().unwrap().to_string()
    };
    let slo = block("service.slo");
    assert!(
        slo.contains("defined by production at policies/production.yaml")
            || slo.contains("defined by production at builtin:production"),
        "{slo}"
    );
    assert!(
        slo.contains("enable_on from team at tests/fixtures/policies/show-override.yaml:8:5"),
        "{slo}"
    );
    assert!(
        slo.contains("severity from team at tests/fixtures/policies/show-override.yaml:8:5"),
        "{slo}"
    );
    let tls = block("tls.certificate-expiring");
    assert!(
        tls.contains("{\"min_days\":30,\"endpoint_min\":true}"),
        "{tls}"
    );
    assert!(
        tls.contains("params from team at tests/fixtures/policies/show-override.yaml:6:5"),
        "{tls}"
    );
    assert!(!block("tls.certificate-expired").contains(" from team"));
}

#[test]
fn policy_test_runs_the_builtin_packs_cases_and_shows_what_differs() {
    for cases in ["policies/tests", "examples/org-policy/tests"] {
        let out = run(&["policy", "test", cases]);
        assert_eq!(code(&out), 0, "{cases}: {}{}", stdout(&out), stderr(&out));
        assert!(stdout(&out).contains("0 failed"));
    }
    let out = run(&[
        "policy",
        "lint",
        "examples/org-policy/packs/production.yaml",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // A case over a saved evidence document, with wrong expectations.
    let dir = tempfile::tempdir().unwrap();
    let ev = run(&["evidence", ZOO, "--format", "json"]);
    std::fs::write(dir.path().join("zoo.json"), &ev.stdout).unwrap();
    std::fs::copy(policy("for-each"), dir.path().join("pack.yaml")).unwrap();
    std::fs::write(
        dir.path().join("namespaced.case.yaml"),
        "policy: pack.yaml\nevidence: zoo.json\nexpect:\n  team.namespaced: {web-config: pass, web-secret: waived}\n  ci.present: pass\n  team.nope: pass\n",
    )
    .unwrap();
    let out = run(&["policy", "test", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("FAIL"), "{text}");
    assert!(
        text.contains("team.namespaced [web-config]: expected pass, got fail"),
        "{text}"
    );
    assert!(
        text.contains("team.nope: expected pass, but the rule is not in the report"),
        "{text}"
    );
    assert!(
        !text.contains("[web-secret]"),
        "the waived target holds: {text}"
    );
    assert!(text.contains("1 case(s), 1 failed"), "{text}");
    // A case file that is not one: exit 2 naming it.
    std::fs::write(
        dir.path().join("bad.case.yaml"),
        "policy: pack.yaml\nexpect: {}\nextra: 1\n",
    )
    .unwrap();
    let out = run(&["policy", "test", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("bad.case.yaml"), "{}", stderr(&out));

    // Evidence that is no file (a device that never ends) is refused, not
    // read until memory runs out.
    std::fs::write(
        dir.path().join("bad.case.yaml"),
        "policy: builtin:baseline\nevidence: /dev/zero\nexpect: {ci.present: pass}\n",
    )
    .unwrap();
    let out = run(&["policy", "test", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("cannot read /dev/zero")
            && stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn policy_docs_renders_any_packs_catalogue() {
    let out = run(&["policy", "docs", &policy("for-each")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("team.namespaced"), "{text}");
    assert!(
        text.contains("Objects without a namespace land in whatever the kubectl context says.")
    );
    // The built-in catalogue is the same generator's.
    let builtin = stdout(&run(&["policy", "docs", "builtin:production"]));
    assert_eq!(builtin, std::fs::read_to_string("docs/rules.md").unwrap());

    // A pack's text is published (a job summary): it renders inert.
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("pack.yaml");
    std::fs::write(
        &pack,
        "name: p\nlevels: [bronze]\nrules:\n  - id: team.r\n    title: '<img src=x onerror=alert(1)>'\n    level: bronze\n    check: ci-present\n    why: '[l](javascript:alert(1)) @admin <details>'\n    remediation: Run `terraform init`.\n",
    )
    .unwrap();
    let text = stdout(&run(&["policy", "docs", pack.to_str().unwrap()]));
    assert!(
        text.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{text}"
    );
    assert!(
        text.contains("\\[l\\](javascript:alert(1)) &#64;admin &lt;details&gt;"),
        "{text}"
    );
    assert!(text.contains("Run `terraform init`."), "{text}");
    assert!(
        !text.contains("<img") && !text.contains("<details>"),
        "{text}"
    );
}

#[test]
fn lint_warns_of_waivers_that_expire_or_match_nothing_and_suggests_rule_ids() {
    let dir = tempfile::tempdir().unwrap();
    let ev = run(&["evidence", ZOO, "--format", "json"]);
    let ev_path = dir.path().join("zoo.json");
    std::fs::write(&ev_path, &ev.stdout).unwrap();
    let soon = (chrono::Utc::now().date_naive() + chrono::Duration::days(5)).to_string();
    let pack = dir.path().join("pack.yaml");
    std::fs::write(
        &pack,
        format!(
            "name: team\nextends: [{}]\nwaivers:\n  - {{rule: team.namespaced, target: web-config, reason: r, owner: o, expires: '{soon}'}}\n  - {{rule: team.namespaced, target: gone, reason: r, owner: o, expires: '2099-01-01'}}\n",
            std::fs::canonicalize(policy("for-each")).unwrap().display()
        ),
    )
    .unwrap();
    let out = run(&[
        "policy",
        "lint",
        pack.to_str().unwrap(),
        "--evidence",
        ev_path.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("pack.yaml:4:5: waiver of `team.namespaced` expires on"),
        "{text}"
    );
    assert!(text.contains("(5 days)"), "{text}");
    assert!(
        text.contains(
            "pack.yaml:5:5: waiver of `team.namespaced` for `gone` matches no finding in"
        ),
        "{text}"
    );
    assert!(
        !text.contains("for `web-config` matches no finding"),
        "{text}"
    );
    // The repository itself, scanned: the same verdict on each waiver.
    let out = run(&["policy", "lint", pack.to_str().unwrap(), "--evidence", ZOO]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("waiver of `team.namespaced` for `gone` matches no finding in"),
        "{text}"
    );
    assert!(
        !text.contains("for `web-config` matches no finding"),
        "{text}"
    );
    // A misspelt rule id: the one meant.
    let out = run(&["policy", "lint", &policy("waiver-unknown-rule")]);
    assert!(
        stderr(&out).contains("did you mean `iac.terraform-lockfile`?"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn builtin_packs_lint_clean() {
    for pack in ["builtin:baseline", "builtin:production"] {
        let out = run(&["policy", "lint", pack]);
        assert_eq!(code(&out), 0, "{pack}: {}", stderr(&out));
    }
    let out = run(&["policy", "lint", "builtin:nope"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("built-in packs: baseline, production"));
}

// ------------------------------------------------------------- bad input --

#[test]
fn missing_path_is_a_usage_error() {
    let out = run(&["check", "does/not/exist"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("cannot read does/not/exist"));
    let out = run(&["check", "--tier", "9", SAMPLE]);
    assert_eq!(code(&out), 2);
    let out = run(&["check", SAMPLE, "--now", "yesterday"]);
    assert_eq!(code(&out), 2);
}

#[test]
fn malformed_manifest_stops_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "readygate.yaml",
        "service: api\ntier: critical\nowners: [\"@a/b\"]\n",
    );
    let out = run(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("readygate.yaml:2:1: `tier`: value is not of types"),
        "{err}"
    );
    write(dir.path(), "readygate.yaml", "service: api\n  tier: 1\n");
    let out = run(&["evidence", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("readygate.yaml:2:"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hostile_and_odd_files_are_reported_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Over the size cap, but it looks like a Kubernetes manifest.
    write(
        root,
        "k8s/huge.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\ndata:\n  blob: \"{}\"\n",
            "x".repeat(4096)
        ),
    );
    // Not UTF-8, second line.
    std::fs::write(
        root.join("k8s/latin1.yaml"),
        b"apiVersion: v1\nkind: ConfigMap # caf\xe9\n",
    )
    .unwrap();
    // A billion-laughs document must be rejected, not expanded.
    let mut bomb =
        String::from("apiVersion: v1\nkind: ConfigMap\na0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        bomb.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 9].join(", ")
        ));
    }
    write(root, "k8s/bomb.yaml", &bomb);
    // Binary, ignored, and an empty file.
    std::fs::write(root.join("k8s/image.yaml"), b"apiVersion: v1\0\0kind").unwrap();
    write(root, ".gitignore", "generated/\n");
    write(root, "generated/main.tf", "this is { not hcl");
    write(root, "k8s/empty.yaml", "");
    // Malformed JSON that still looks like a CloudFormation template.
    write(
        root,
        "cfn/stack.json",
        "{\n  \"AWSTemplateFormatVersion\": \"2010-09-09\",\n  \"Resources\": {\n    \"B\": {\"Type\": \"AWS::S3::Bucket\",}\n",
    );
    let outside = tempfile::tempdir().unwrap(); // lives until the walk is done
    #[cfg(unix)]
    {
        std::fs::write(
            outside.path().join("secret.tf"),
            "resource \"x\" \"y\" {}\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.tf"), root.join("escape.tf"))
            .unwrap();
        std::os::unix::fs::symlink(root.join("nowhere.tf"), root.join("dangling.tf")).unwrap();
    }
    let out = run(&[
        "evidence",
        root.to_str().unwrap(),
        "--max-file-size",
        "2048",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = json(&out);
    let problems: Vec<String> = ev["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {}:{}",
                p["kind"].as_str().unwrap(),
                p["location"]["path"].as_str().unwrap(),
                p["location"]["line"]
            )
        })
        .collect();
    let mut expected = vec![
        "unparseable cfn/stack.json:5",
        "oversize k8s/huge.yaml:0",
        "not-utf8 k8s/latin1.yaml:2",
        "unparseable k8s/bomb.yaml:8",
    ];
    if cfg!(unix) {
        expected.extend([
            "unreadable dangling.tf:0",
            "symlink-outside-root escape.tf:0",
        ]);
    }
    let mut got = problems.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "{problems:?}");
    assert_eq!(ev["files"]["binary"], 1);
    assert!(
        ev["iac"]["terraform"].as_array().unwrap().is_empty(),
        "gitignored files are not evidence"
    );
}

// ------------------------------------------------ explain, init, schemas --

#[test]
fn explain_prints_why_and_fix() {
    let out = run(&["explain", "iac.terraform-lockfile"]);
    assert_eq!(code(&out), 0);
    insta::assert_snapshot!("explain_lockfile", stdout(&out));
    let out = run(&["explain", "no.such-rule"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("rules: evidence.readable"));
}

#[test]
fn init_writes_a_manifest_that_validates() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ledger\nspec:\n  owner: group:finance\n  lifecycle: production\n",
    );
    write(
        root,
        "infra/main.tf",
        "resource \"aws_s3_bucket\" \"b\" {}\n",
    );
    let out = run(&["init", root.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(root.join("readygate.yaml")).unwrap();
    assert!(
        text.contains("service: \"ledger\"  # named after the catalog Component"),
        "{text}"
    );
    assert!(
        text.contains("tier: 3  # guessed: in production, nothing pages yet"),
        "{text}"
    );
    assert!(text.contains("owners: [\"group:finance\"]"), "{text}");
    assert!(
        text.contains("# Infrastructure as code found: terraform"),
        "{text}"
    );
    let ev = json(&run(&["evidence", root.to_str().unwrap()]));
    assert_eq!(ev["service"]["manifest"]["service"], "ledger");
    assert_eq!(ev["service"]["manifest"]["lifecycle"], "production");
    // A second run refuses to overwrite.
    let again = run(&["init", root.to_str().unwrap()]);
    assert_eq!(code(&again), 2);
    assert!(stderr(&again).contains("--force"));

    // No catalog: named after the git remote, not the (temporary)
    // directory; the manifest describes the service and sets a tier.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    git(
        root,
        &[
            "remote",
            "add",
            "origin",
            "git@github.com:acme/payments-api.git",
        ],
    );
    assert_eq!(code(&run(&["init", root.to_str().unwrap()])), 0);
    let text = std::fs::read_to_string(root.join("readygate.yaml")).unwrap();
    assert!(
        text.contains("service: \"payments-api\"  # named after the git remote"),
        "{text}"
    );
    let report = check_report(root.to_str().unwrap(), &["--event", "local"]);
    assert_eq!(states(&report, "service.described"), ["pass"]);
    assert_eq!(states(&report, "service.tier"), ["pass"]);
}

#[test]
fn committed_schemas_are_current() {
    for (name, schema) in readygate::gate::schemas() {
        let committed = std::fs::read_to_string(format!("schemas/{name}")).unwrap_or_default();
        let current = format!("{}\n", serde_json::to_string_pretty(&schema).unwrap());
        assert!(
            committed == current,
            "schemas/{name} is stale: run `cargo run -- schema --write schemas`"
        );
    }
}

#[test]
fn rule_docs_are_current() {
    let out = run(&["explain", "--all", "--format", "markdown"]);
    let committed = std::fs::read_to_string("docs/rules.md").unwrap_or_default();
    assert!(
        committed == stdout(&out),
        "docs/rules.md is stale: run `cargo run -- explain --all --format markdown > docs/rules.md`"
    );
}

#[test]
fn every_builtin_rule_has_why_remediation_and_docs() {
    let policy = readygate::policy::load("builtin:production", Path::new("")).unwrap();
    let docs = std::fs::read_to_string("docs/rules.md").unwrap();
    for rule in &policy.rules {
        assert!(rule.why.len() > 40, "{}: why is too thin", rule.id);
        assert!(
            rule.remediation.len() > 20,
            "{}: remediation is too thin",
            rule.id
        );
        let anchor = rule
            .docs
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no docs link", rule.id));
        assert_eq!(
            anchor,
            format!("docs/rules.md#{}", rule.id.replace('.', ""))
        );
        assert!(
            docs.contains(&format!("### {}\n", rule.id)),
            "{} missing from docs/rules.md",
            rule.id
        );
    }
}

/// `schema NAME` prints one schema as JSON; the JSON report validates
/// against the report schema; `--write` into a missing directory says so.
#[test]
fn one_schema_by_name_and_the_report_validates() {
    let out = run(&["schema", "report"]);
    assert_eq!(code(&out), 0);
    let schema: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        schema["$id"],
        "https://readygate.dev/schemas/report.schema.json"
    );
    let validator = jsonschema::validator_for(&schema).unwrap();
    let report = json(&run(&[
        "check",
        "examples/sample-service",
        "--format",
        "json",
        "--event",
        "local",
    ]));
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let missing = run(&["schema", "--write", "/nonexistent/readygate-schemas"]);
    assert_eq!(code(&missing), 2);
    assert!(stderr(&missing).contains("/nonexistent/readygate-schemas: no such directory"));
}

/// Completion scripts for the common shells name the commands and flags;
/// the man page renders, and one page per command is written.
#[test]
fn completions_and_man_pages() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef readygate"),
        ("fish", "complete -c readygate"),
    ] {
        let out = run(&["completions", shell]);
        assert_eq!(code(&out), 0, "{shell}");
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: {script:.200}");
        assert!(script.contains("--junit-history"), "{shell}");
    }
    let man = run(&["man"]);
    assert_eq!(code(&man), 0);
    assert!(stdout(&man).contains(".TH readygate 1"));
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["man", "--write", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(dir.path().join("readygate.1").is_file());
    assert!(dir.path().join("readygate-check.1").is_file());
}

#[test]
fn two_packs_sharing_a_rule_id_run_both_under_full_ids() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "  - id: ci.present\n    title: t\n    level: bronze\n    check: ci-present\n    why: w\n    remediation: r\n";
    write(
        dir.path(),
        "org.yaml",
        &format!("name: org\nextends: [builtin:baseline]\nrules:\n{rule}"),
    );
    write(
        dir.path(),
        "team.yaml",
        &format!("name: team\nextends: [org.yaml]\nrules:\n{rule}"),
    );
    let team = dir.path().join("team.yaml");
    let team = team.to_str().unwrap();
    let out = run(&["policy", "lint", team]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("rule id `ci.present` is defined by 3 packs, and each rule runs"),
        "{text}"
    );
    // The built-in rule keeps its id; the others take their full ids.
    assert!(text.contains("`ci.present` (builtin:baseline:"), "{text}");
    assert!(
        text.contains("`org/ci.present` (") && text.contains("org.yaml:4:5"),
        "{text}"
    );
    assert!(
        text.contains("`team/ci.present` (") && text.contains("team.yaml:4:5"),
        "{text}"
    );
    let report = check_report(SAMPLE, &["--policy", team]);
    for id in ["ci.present", "org/ci.present", "team/ci.present"] {
        assert_eq!(findings(&report, id).len(), 1, "{id}");
    }
    // The bare id names the built-in rule; the full ids the others.
    let out = run(&["explain", "ci.present", "--policy", team]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("builtin:baseline"),
        "{}",
        stdout(&out)
    );
    let out = run(&["explain", "team/ci.present", "--policy", team]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Without a built-in rule of that id, a bare reference is ambiguous.
    write(
        dir.path(),
        "team.yaml",
        &format!(
            "name: team\nextends: [org.yaml]\nrules:\n{}",
            rule.replace("ci.present", "ci.mine")
        ),
    );
    write(
        dir.path(),
        "org.yaml",
        &format!(
            "name: org\nextends: [builtin:baseline]\nrules:\n{}",
            rule.replace("ci.present", "ci.mine")
        ),
    );
    let out = run(&["explain", "ci.mine", "--policy", team]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("`org/ci.mine`") && err.contains("`team/ci.mine`"),
        "{err}"
    );
    assert!(err.contains("write the full id"), "{err}");
}

#[test]
fn lint_warns_of_evidence_fields_an_expression_reads_that_do_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "team.yaml",
        "name: team\nextends: [builtin:baseline]\nrules:\n  - id: team.replicas\n    title: t\n    level: bronze\n    for_each: evidence.iac.workloads\n    expr: item.replicas >= 2 && item.containers.all(c, has(c.limts))\n    why: w\n    remediation: r\n  - id: team.ns\n    title: t\n    level: bronze\n    expr: evidence.iac.workloads.all(w, w.namespce != '')\n    why: w\n    remediation: r\n",
    );
    let out = run(&[
        "policy",
        "lint",
        dir.path().join("team.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "warnings, not errors: {}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("team.yaml:4:5: rule `team.replicas` reads `evidence.iac.workloads[].containers[].limts`, which the evidence schema does not have (did you mean `limits`?)"),
        "{text}"
    );
    assert!(
        text.contains("team.yaml:11:5: rule `team.ns` reads `evidence.iac.workloads[].namespce`, which the evidence schema does not have (did you mean `namespace`?)"),
        "{text}"
    );
    // The fixture that reads a missing key on purpose is flagged too.
    let out = run(&["policy", "lint", &policy("cel-rules")]);
    assert!(
        stdout(&out).contains("rule `team.uses-missing-key` reads `evidence.service.runbooks`"),
        "{}",
        stdout(&out)
    );
}
