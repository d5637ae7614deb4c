//! Repository content written to crash or exhaust the gate: each reproducer
//! is generated here (no checked-in bombs) and must end in a clear error or
//! a problem finding naming the file, within a memory limit, never a crash.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

/// Address-space limit for a hostile run (KiB): allocations past it fail,
/// so a run that would grow past it aborts and the test fails. Address
/// space bounds resident memory from above: 256 MiB, the issue's bound.
const MEMORY_LIMIT_KB: u64 = 256 * 1024;

/// `readygate ARGS` under the memory limit (`ulimit -v`, where the shell
/// has it).
fn limited(args: &[&str]) -> Output {
    let bin = assert_cmd::cargo::cargo_bin("readygate");
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!(
        "ulimit -v {MEMORY_LIMIT_KB} 2>/dev/null; exec '{}' {}",
        bin.display(),
        quoted.join(" ")
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .env_remove("GITHUB_EVENT_NAME")
        .output()
        .unwrap()
}

fn repo_with(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// The evidence's problems as (path, line, message).
fn problems(root: &Path) -> Vec<(String, u64, String)> {
    let out = limited(&["evidence", root.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    json(&out)["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["location"]["path"].as_str().unwrap().to_string(),
                p["location"]["line"].as_u64().unwrap(),
                p["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn nested_complex_keys_do_not_grow_key_text() {
    // 90 bytes that used to double memory per level (16 GB).
    let dir = repo_with(&[("x.rules.yml", format!("groups:\n{}x\n", "? ".repeat(40)))]);
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "x.rules.yml");
}

#[test]
fn deep_sequences_and_mappings_are_problems_not_stack_overflows() {
    let dir = repo_with(&[
        (
            "seq.rules.yml",
            format!("groups:\n{}x\n", "- ".repeat(4_200)),
        ),
        (
            "map.rules.yml",
            format!("groups: {}1{}\n", "{a: ".repeat(5_000), "}".repeat(5_000)),
        ),
        (
            "k8s/rule.yaml",
            format!(
                "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nspec: {}1{}\n",
                "[".repeat(20_000),
                "]".repeat(20_000)
            ),
        ),
    ]);
    let found = problems(dir.path());
    assert_eq!(found.len(), 3, "{found:?}");
    for (path, line, message) in &found {
        // Ours, or the YAML scanner's own limit for flow collections.
        assert!(
            message.contains("nested deeper than 128 levels")
                || message.contains("recursion limit exceeded"),
            "{path}: {message}"
        );
        assert!(*line >= 1);
    }
}

#[test]
fn a_deep_manifest_or_policy_is_a_config_error_naming_the_file() {
    let dir = repo_with(&[(
        "readygate.yaml",
        format!("service: x\nowners:\n{}a\n", "- ".repeat(5_000)),
    )]);
    let out = limited(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("readygate.yaml:3:"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("nested deeper than 128 levels"));

    let dir = repo_with(&[(
        "pack.yaml",
        format!(
            "name: p\nextends:\n{}builtin:baseline\n",
            "- ".repeat(20_000)
        ),
    )]);
    let pack = dir.path().join("pack.yaml");
    let out = limited(&["policy", "lint", pack.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("nested deeper than 128 levels"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hostile_cel_is_refused_at_load_naming_the_rule() {
    let rule = |expr: &str| {
        format!(
            "name: p\nextends: [builtin:baseline]\nrules:\n  - id: team.x\n    title: t\n    level: bronze\n    expr: '{expr}'\n    why: w\n    remediation: r\n"
        )
    };
    for (expr, says) in [
        (format!("{}1 > 0", "1 + ".repeat(50_000)), "limit is"),
        (format!("{}x{}", " ".repeat(70_000), " == 1"), "limit is"),
        (
            "[1,2,3].map(a, [1,2,3].map(b, [1,2,3].map(c, [a, b, c]))).size() > 0".into(),
            "builds a list",
        ),
    ] {
        let dir = repo_with(&[("pack.yaml", rule(&expr))]);
        let pack = dir.path().join("pack.yaml");
        let out = limited(&["policy", "lint", pack.to_str().unwrap()]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("pack.yaml:7:"), "{err}");
        assert!(err.contains(says), "{err}");
    }
}

// ------------------------------------------------------------ injection --

/// No output line may start a workflow command or carry a legacy one, and
/// no hidden character may reach a reader as itself.
fn assert_inert(what: &str, text: &str) {
    for line in text.lines() {
        let t = line.trim_start();
        assert!(
            !(t.starts_with("::error::Pwned") || t.starts_with("::error file=README.md")),
            "{what}: an injected command: {line:?}"
        );
        assert!(!line.contains("##["), "{what}: a legacy command: {line:?}");
    }
    for c in ['\u{202e}', '\u{fffe}', '\u{1b}'] {
        assert!(!text.contains(c), "{what}: raw {c:?}");
    }
}

fn rules_with_alert(name: &str) -> String {
    format!(
        "groups:\n  - name: g\n    rules:\n      - alert: \"{name}\"\n        expr: up == 0\n        labels:\n          severity: critical\n"
    )
}

#[test]
fn config_errors_echo_repository_text_inertly() {
    let dir = repo_with(&[(
        "readygate.yaml",
        "service: x\n\"x\\n::error file=README.md,line=1::Pwned ##[add-mask]y\": 1\n".into(),
    )]);
    let out = limited(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert_inert("stderr", &stderr(&out));
    assert!(stderr(&out).contains("x\\n::error"), "{}", stderr(&out));

    let dir = repo_with(&[
        ("readygate.yaml", "service: x\n".into()),
        (
            ".readygate/policy.yaml",
            "name: p\nextends: [builtin:production]\nwaivers:\n  - rule: \"nope\\n::error::Pwned\"\n    reason: r\n    owner: o\n    expires: '2027-01-01'\n".into(),
        ),
    ]);
    let out = limited(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert_inert("stderr", &stderr(&out));
}

#[test]
fn hostile_names_are_inert_in_every_format() {
    let evil_alert = "Evil\\u202e ##[add-mask]secret \\ufffe\\n::error::Pwned";
    let mut files = vec![
        ("readygate.yaml", "service: x\ntier: 1\n".to_string()),
        ("mon/a b#c?.rules.yml", rules_with_alert(evil_alert)),
        ("mon/evil\n::error::Pwned.rules.yml", "groups: [\n".into()),
    ];
    // More than ten findings, so the GitHub format's plain-line overflow is
    // used too.
    for i in 0..12 {
        files.push((
            Box::leak(format!("mon/extra{i}.rules.yml").into_boxed_str()),
            rules_with_alert(&format!("Extra{i} ##[error]Pwned")),
        ));
    }
    let dir = repo_with(&files);
    let root = dir.path().to_str().unwrap();
    for format in ["terminal", "github", "markdown", "json", "sarif", "junit"] {
        let out = limited(&["check", root, "--format", format, "--now", "2026-01-01"]);
        assert!(code(&out) < 2, "{format}: {}", stderr(&out));
        let text = stdout(&out);
        assert_inert(format, &text);
        assert_inert(&format!("{format} stderr"), &stderr(&out));
        match format {
            "junit" => {
                let mut reader = quick_xml::Reader::from_str(&text);
                loop {
                    match reader.read_event() {
                        Ok(quick_xml::events::Event::Eof) => break,
                        Ok(_) => {}
                        Err(e) => panic!("JUnit XML does not parse: {e}"),
                    }
                }
            }
            "sarif" => {
                let sarif: serde_json::Value = serde_json::from_str(&text).unwrap();
                let uris: Vec<String> = sarif["runs"][0]["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                            .as_str()
                            .unwrap()
                            .to_string()
                    })
                    .collect();
                assert!(
                    uris.contains(&"mon/a%20b%23c%3F.rules.yml".to_string()),
                    "{uris:?}"
                );
                assert!(
                    uris.iter().all(|u| !u.contains(['\n', ' ', '#', '?'])),
                    "{uris:?}"
                );
            }
            _ => {}
        }
    }
}

#[test]
fn evidence_json_is_inert_and_the_same_data() {
    let dir = repo_with(&[(
        "mon/x.rules.yml",
        rules_with_alert("A\\u202e ##[add-mask]b"),
    )]);
    let out = limited(&["evidence", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0);
    assert_inert("evidence", &stdout(&out));
    assert_eq!(
        json(&out)["alerts"]["alerts"][0]["name"],
        "A\u{202e} ##[add-mask]b"
    );
}

#[test]
fn step_outputs_cannot_be_forged_by_a_level_name() {
    let dir = repo_with(&[
        ("readygate.yaml", "service: x\n".into()),
        (
            ".readygate/policy.yaml",
            "name: p\nlevels: [\"bronze\\nverdict=ready\"]\nrules: []\n".into(),
        ),
    ]);
    let outputs = dir.path().join("outputs");
    std::fs::write(&outputs, "").unwrap();
    let out = readygate()
        .args([
            "check",
            dir.path().to_str().unwrap(),
            "--github",
            "--policy-from-worktree",
        ])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_REPOSITORY", "acme/x")
        .env("GITHUB_OUTPUT", &outputs)
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    assert!(code(&out) < 2, "{}", stderr(&out));
    // Read as the runner does: `name<<DELIMITER` blocks.
    let text = std::fs::read_to_string(&outputs).unwrap();
    let mut outputs = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (name, delimiter) = line
            .split_once("<<")
            .expect("every output uses a delimiter");
        let value: Vec<&str> = lines.by_ref().take_while(|l| l != &delimiter).collect();
        outputs.push((name.to_string(), value.join("\n")));
    }
    let names: Vec<&str> = outputs.iter().map(|(n, _)| n.as_str()).collect();
    // One verdict, and the level name whole inside its own output.
    assert_eq!(names, ["verdict", "level", "required-level", "failures"]);
    assert_eq!(outputs[1].1, "bronze\nverdict=ready");
}

// --------------------------------------------------------- no silent skip --

#[test]
fn gitignore_hides_only_untracked_files_and_dot_ignore_nothing() {
    let dir = repo_with(&[(
        "monitoring/app.rules.yml",
        rules_with_alert("TrackedButIgnored"),
    )]);
    let repo = dir.path();
    git(repo, &["init", "-q"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "rules"]);
    // The change under review tries to hide its rule file.
    write(repo, ".gitignore", "monitoring/\n");
    write(repo, ".ignore", "*.yml\n");
    // An untracked, ignored file stays hidden, as in git.
    write(
        repo,
        "monitoring/scratch.rules.yml",
        &rules_with_alert("Untracked"),
    );
    let out = limited(&["evidence", repo.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = json(&out);
    let names: Vec<&str> = ev["alerts"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["TrackedButIgnored"]);
    assert_eq!(ev["files"]["recognised"]["prometheus-rules"]["by_name"], 1);
}

// ------------------------------------------------------------- budgets --

#[test]
fn a_runbook_with_a_thousand_anchors_is_indexed_once() {
    // 7 MB of Markdown with 1,000 explicit anchors and no headings, each
    // linked by its own alert: every section runs to the end of the page,
    // which used to be copied per anchor (7 GB).
    let filler = "lorem ipsum dolor sit amet ".repeat(260);
    let mut page = String::new();
    let mut rules = String::from("groups:\n  - name: g\n    rules:\n");
    for i in 0..1_000 {
        page.push_str(&format!("<a name=\"step{i}\"></a>\n{filler}\n"));
        rules.push_str(&format!(
            "      - alert: Alert{i}\n        expr: up == 0\n        annotations:\n          runbook_url: docs/runbook.md#step{i}\n"
        ));
    }
    assert!(page.len() > 7_000_000);
    let dir = repo_with(&[("docs/runbook.md", page), ("mon/x.rules.yml", rules)]);
    let out = limited(&["evidence", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = json(&out);
    let alerts = ev["alerts"]["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1_000);
    assert!(alerts.iter().all(|a| a["runbook"]["state"] == "resolved"));
}

#[test]
fn an_8_mib_rule_file_is_a_problem_not_gigabytes() {
    let mut rules = String::from("groups:\n  - name: g\n    rules:\n");
    let mut i = 0;
    while rules.len() < 8 * 1024 * 1024 - 64 {
        rules.push_str(&format!("      - alert: A{i}\n        expr: up == 0\n"));
        i += 1;
    }
    let dir = repo_with(&[("mon/x.rules.yml", rules)]);
    let root = dir.path().to_str().unwrap();
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].2.contains("YAML nodes"), "{found:?}");
    // The whole check too, policy and reports included.
    let out = limited(&["check", root, "--format", "json"]);
    assert!(code(&out) < 2, "{}", stderr(&out));
}

#[test]
fn too_many_alerts_in_one_file_is_a_problem_finding() {
    let mut rules = String::from("groups:\n  - name: g\n    rules:\n");
    for i in 0..10_050 {
        rules.push_str(&format!("      - {{alert: A{i}, expr: up == 0}}\n"));
    }
    let dir = repo_with(&[("mon/x.rules.yml", rules)]);
    let out = limited(&["evidence", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = json(&out);
    assert!(ev["alerts"]["alerts"].as_array().unwrap().len() <= 10_000);
    let problems = ev["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0]["kind"], "over-budget");
    assert_eq!(problems[0]["location"]["path"], "mon/x.rules.yml");
}

// ----------------------------------------- found attacking the boundary --

#[test]
fn more_spellings_of_a_rule_file_do_not_hide_alerts() {
    let body = "  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n        labels: {severity: critical}\n";
    let dir = repo_with(&[
        ("m/bom.yaml", format!("\u{feff}groups:\n{body}")),
        (
            "m/dash.yaml",
            "--- {groups: [{name: g, rules: [{alert: Down, expr: up == 0}]}]}\n".into(),
        ),
        ("m/tag.yaml", format!("!!str groups:\n{body}")),
        ("m/anchor.yaml", format!("&a groups:\n{body}")),
        ("m/cr.yaml", format!("groups:\n{body}").replace('\n', "\r")),
        (
            "m/padded.rules.yml",
            format!(
                "{}groups:\n{body}",
                "# a comment line that pads the file out\n".repeat(2_000)
            ),
        ),
        // Past the first 64 KiB, in a file named only `*.yaml`.
        (
            "m/padded.yaml",
            format!(
                "{}groups:\n{body}",
                "# a comment line that pads the file out\n".repeat(2_000)
            ),
        ),
        (
            "m/flowcomment.yaml",
            "{ # generated\n  \"groups\": [{name: g, rules: [{alert: Down, expr: up == 0}]}]}\n"
                .into(),
        ),
        (
            "m/escaped.yaml",
            format!(
                "\"\\x67roups\":\n{}",
                body.replace("rules:", "\"\\u0072ules\":")
            ),
        ),
        ("m/upper.YML", format!("groups:\n{body}")),
        // Found attacking the sniff a second time.
        (
            "m/indented.yaml",
            format!("groups:\n{body}")
                .lines()
                .map(|l| format!(" {l}\n"))
                .collect(),
        ),
        (
            "m/merge.yaml",
            "<<: {groups: [{name: g, rules: [{alert: Down, expr: up == 0}]}]}\n".into(),
        ),
        (
            "m/tagged-flow.yaml",
            "!!map {groups: [{name: g, rules: [{alert: Down, expr: up == 0}]}]}\n".into(),
        ),
        (
            "m/explicit-flow.yaml",
            "{? groups : [{name: g, rules: [{alert: Down, expr: up == 0}]}]}\n".into(),
        ),
        ("m/block-key.yaml", format!("? |-\n  groups\n:\n{body}")),
        (
            "m/cr-lf.yaml",
            format!("# c\rgroups:\r{}\n", body.replace('\n', "\r")),
        ),
        (
            "m/string-api.yaml",
            "{\"groups\":[{\"name\":\"g\",\"rules\":[{\"alert\":\"Down\",\"expr\":\"up == 0\",\"annotations\":{\"summary\":\"down,apiVersion: v1\"}}]}]}\n".into(),
        ),
        (
            "m/templates/alerts.yml",
            format!("groups:\n{}", body.replace("labels: {severity: critical}", "annotations: {summary: \"{{ $labels.instance }} down\"}")),
        ),
    ]);
    // UTF-16 with a byte-order mark, which promtool reads.
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            format!("groups:\n{body}")
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    std::fs::write(dir.path().join("m/utf16.rules.yml"), utf16).unwrap();
    let out = limited(&["evidence", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = json(&out);
    let mut files: Vec<&str> = ev["alerts"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "m/anchor.yaml",
            "m/block-key.yaml",
            "m/bom.yaml",
            "m/cr-lf.yaml",
            "m/cr.yaml",
            "m/dash.yaml",
            "m/escaped.yaml",
            "m/explicit-flow.yaml",
            "m/flowcomment.yaml",
            "m/indented.yaml",
            "m/merge.yaml",
            "m/padded.rules.yml",
            "m/padded.yaml",
            "m/string-api.yaml",
            "m/tag.yaml",
            "m/tagged-flow.yaml",
            "m/templates/alerts.yml",
            "m/upper.YML",
            "m/utf16.rules.yml"
        ],
        "{}",
        ev["problems"]
    );
    assert_eq!(
        ev["alerts"]["alerts"].as_array().unwrap().len(),
        files.len()
    );
}

#[test]
fn problems_and_datadog_messages_have_budgets() {
    // 390k non-mapping rules used to be 390k problems (1 GB, 363 MB of JSON).
    let rules = format!(
        "groups: [{{name: g, rules: [{}1]}}]\n",
        "1, ".repeat(100_000)
    );
    // A 6 MB Datadog message of URLs took minutes (quadratic).
    let message = "http://a ".repeat(300_000);
    let monitor = format!(
        "{{\"name\": \"m\", \"type\": \"query alert\", \"query\": \"q\", \"message\": \"{message}\"}}"
    );
    let dir = repo_with(&[("mon/x.rules.yml", rules), ("dd/monitor.json", monitor)]);
    let out = limited(&["evidence", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = json(&out);
    let problems = ev["problems"].as_array().unwrap();
    assert!(problems.len() <= 101, "{}", problems.len());
    assert!(problems.iter().any(|p| p["kind"] == "over-budget"));
    assert_eq!(ev["alerts"]["alerts"].as_array().unwrap().len(), 1);
}

#[test]
fn pack_names_and_levels_are_inert_everywhere_they_are_printed() {
    let dir = repo_with(&[
        ("readygate.yaml", "service: x\n".into()),
        (
            ".readygate/policy.yaml",
            "name: \"p\\n::error::Pwned ##[add-mask]x\"\nversion: \"1 ##[error]Pwned\"\nlevels: [\"bronze\\n::error::Pwned\"]\nrules:\n  - id: team.x\n    title: \"t ##[error]Pwned \\u202e\"\n    level: \"bronze\\n::error::Pwned\"\n    expr: 'true'\n    why: \"w\\n::error::Pwned\"\n    remediation: r\n".into(),
        ),
        ("mon/a.rules.yml", rules_with_alert("A ##[error]legacy \\u202e")),
    ]);
    let root = dir.path().to_str().unwrap();
    let policy = dir.path().join(".readygate/policy.yaml");
    let policy = policy.to_str().unwrap();
    for args in [
        vec!["check", root],
        vec!["policy", "lint", policy],
        vec!["explain", "team.x", "--policy", policy],
        vec![
            "explain", "--all", "--format", "markdown", "--policy", policy,
        ],
        vec!["evidence", root, "--format", "yaml"],
    ] {
        let out = limited(&args);
        assert!(code(&out) < 2, "{args:?}: {}", stderr(&out));
        assert_inert(&format!("{args:?}"), &stdout(&out));
        assert_inert(&format!("{args:?} stderr"), &stderr(&out));
    }
}

#[test]
fn an_ignore_file_that_is_a_fifo_or_a_link_is_not_read() {
    let dir = repo_with(&[("readygate.yaml", "service: x\n".into())]);
    let repo = dir.path();
    git(repo, &["init", "-q"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "base"]);
    let fifo = repo.join(".readygateignore");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // A read of a FIFO nobody writes would block the run forever.
    let out = limited(&["check", repo.to_str().unwrap(), "--policy-ref", "HEAD"]);
    assert!(code(&out) < 2, "{}", stderr(&out));
    std::fs::remove_file(&fifo).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &fifo).unwrap();
    let out = limited(&["evidence", repo.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        json(&out)["scopes"]["rules"]["exclude"],
        serde_json::json!([])
    );
}

/// A FIFO named like evidence (a local tree; git cannot carry one) is a
/// problem, not a walk that waits forever.
#[cfg(unix)]
#[test]
fn a_fifo_named_like_evidence_does_not_block_the_walk() {
    let dir = repo_with(&[("readygate.yaml", "service: x\n".into())]);
    let fifo = dir.path().join("rules.yml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return; // no mkfifo on this machine
    }
    let out = limited(&["evidence", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = json(&out);
    let problems = ev["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["location"]["path"], "rules.yml");
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .contains("not a regular file")
    );
}
