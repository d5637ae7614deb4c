//! The GitHub Action as a runner would run it: the composite steps of
//! `action.yml`, expressions filled in from inputs and context, each `run:`
//! in bash with the runner's files (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY,
//! GITHUB_PATH, GITHUB_ACTION_PATH). With no release for the ref, the
//! install step builds from source with cargo. Also `--github` itself:
//! runner context from real event payloads, and malformed ones.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;
use readygate::yaml::{self, Node};

const EVENTS: &str = "tests/fixtures/github-events";

/// The runner environment for a pull_request run in `temp`.
fn runner_env(temp: &Path) -> BTreeMap<String, String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let t = |name: &str| temp.join(name).display().to_string();
    for file in ["output", "summary", "path"] {
        std::fs::write(temp.join(file), "").unwrap();
    }
    [
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_ACTION_PATH", root.to_string()),
        ("GITHUB_OUTPUT", t("output")),
        ("GITHUB_STEP_SUMMARY", t("summary")),
        ("GITHUB_PATH", t("path")),
        ("RUNNER_TEMP", t("runner")),
        ("RUNNER_OS", "Linux".into()),
        ("RUNNER_ARCH", "X64".into()),
        ("GITHUB_EVENT_NAME", "pull_request".into()),
        (
            "GITHUB_EVENT_PATH",
            format!("{root}/{EVENTS}/pull_request.opened.json"),
        ),
        ("GITHUB_REPOSITORY", "Codertocat/Hello-World".into()),
        (
            "GITHUB_SHA",
            "0000000000000000000000000000000000000000".into(),
        ),
        ("GITHUB_SERVER_URL", "https://github.com".into()),
        ("GITHUB_BASE_REF", "master".into()),
        // Build the fallback in the test profile, reusing this target dir.
        ("READYGATE_CARGO_FLAGS", "--debug".into()),
        ("CARGO_TARGET_DIR", format!("{root}/target")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// `${{ inputs.x }}`, `${{ github.x }}` and `${{ steps.id.outputs.x }}`.
fn expand(
    text: &str,
    inputs: &BTreeMap<String, String>,
    outputs: &BTreeMap<String, String>,
) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        let end = rest[start..].find("}}").unwrap() + start;
        let expr = rest[start + 3..end].trim();
        let value = if let Some(name) = expr.strip_prefix("inputs.") {
            inputs[name].clone()
        } else if let Some(path) = expr.strip_prefix("steps.") {
            let (_, output) = path.split_once(".outputs.").unwrap();
            outputs.get(output).cloned().unwrap_or_default()
        } else {
            match expr {
                // A branch ref: no release asset, so the cargo fallback runs.
                "github.action_ref" => "main".into(),
                "github.action_repository" => "readygate/readygate".into(),
                "github.event.pull_request.base.sha" => {
                    "ec26c3e57ca3a959ca5aad62de7213c562f8c821".into()
                }
                other => panic!("expression the test runner does not know: {other}"),
            }
        };
        out.push_str(&rest[..start]);
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// `$GITHUB_OUTPUT` as the runner reads it: `name=value` lines and the
/// multi-line `name<<DELIMITER` form.
fn outputs_of(file: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((k, v)) = line.split_once('=') {
            out.insert(k.to_string(), v.to_string());
        }
    }
    out
}

/// What one run of the composite action left behind.
struct ActionRun {
    outputs: BTreeMap<String, String>,
    /// The check step's standard output and error, and its exit code.
    stdout: String,
    stderr: String,
    code: i32,
}

/// Run `action.yml`'s steps for `path` with the inputs' defaults, then
/// `inputs`; every step before the check must succeed.
fn run_action(temp: &Path, path: &Path, inputs: &[(&str, &str)]) -> ActionRun {
    let action = yaml::parse_single(&std::fs::read_to_string("action.yml").unwrap()).unwrap();
    let env = runner_env(temp);
    // Inputs: defaults from action.yml, then what a workflow would pass.
    let mut values: BTreeMap<String, String> = action
        .get("inputs")
        .and_then(Node::as_map)
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.name.clone(),
                v.scalar_text_at("default").unwrap_or_default(),
            )
        })
        .collect();
    values.insert("path".into(), path.display().to_string());
    // No token: publishing falls back to the log (tests/publish.rs covers the API).
    values.insert("token".into(), String::new());
    values.insert(
        "sarif-file".into(),
        temp.join("gate.sarif").display().to_string(),
    );
    for (k, v) in inputs {
        assert!(values.contains_key(*k), "action.yml has no input `{k}`");
        values.insert(k.to_string(), v.to_string());
    }
    let mut check = None;
    for step in action
        .path(&["runs", "steps"])
        .and_then(Node::as_seq)
        .unwrap()
    {
        assert_eq!(step.str_at("shell"), Some("bash"));
        let step_env: BTreeMap<String, String> = step
            .get("env")
            .and_then(Node::as_map)
            .unwrap_or_default()
            .iter()
            .map(|(k, v)| {
                (
                    k.name.clone(),
                    expand(
                        &v.scalar_text().unwrap(),
                        &values,
                        &outputs_of(&temp.join("output")),
                    ),
                )
            })
            .collect();
        let out = Command::new("bash")
            .arg("-c")
            .arg(step.str_at("run").unwrap())
            .envs(&env)
            .envs(&step_env)
            .output()
            .unwrap();
        let id = step.str_at("id").unwrap();
        if id == "check" {
            check = Some(out);
            continue;
        }
        assert!(
            out.status.success(),
            "step {id}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let check = check.expect("action.yml has a step with id: check");
    ActionRun {
        outputs: outputs_of(&temp.join("output")),
        stdout: String::from_utf8_lossy(&check.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&check.stderr).into_owned(),
        code: check.status.code().unwrap_or(-1),
    }
}

#[test]
fn the_composite_action_installs_checks_and_reports() {
    let temp = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE);
    // This checkout has not the fixture payload's base commit; the policy
    // from the working tree is what this test is about.
    let run = run_action(temp.path(), &sample, &[("policy-ref", "worktree")]);
    // The sample service warns on a pull request: exit 0.
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let (outputs, stdout_of_check) = (run.outputs, run.stdout);
    assert!(Path::new(&outputs["bin"]).is_file());
    assert_eq!(outputs["verdict"], "not-ready");
    assert_eq!(outputs["level"], "bronze");
    assert_eq!(outputs["failures"], "2");
    let sarif = std::fs::read_to_string(&outputs["sarif-file"]).unwrap();
    assert!(sarif.contains("\"version\": \"2.1.0\""));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&outputs["report-json"]).unwrap()).unwrap();
    assert_eq!(report["verdict"]["branch"], "master");
    assert!(
        std::fs::read_to_string(temp.path().join("path"))
            .unwrap()
            .contains("readygate/bin")
    );
    assert!(
        stdout_of_check
            .contains("::error file=infra/envs/prod/main.tf,title=iac.terraform-lockfile"),
        "{stdout_of_check}"
    );
    let summary = std::fs::read_to_string(temp.path().join("summary")).unwrap();
    assert!(
        summary.starts_with("## ⚠️ readygate: checkout-api"),
        "{summary}"
    );
    // Locations link to the lines at the pull request's head commit.
    assert!(
        summary.contains("(https://github.com/Codertocat/Hello-World/blob/ec26c3e57ca3a959ca5aad62de7213c562f8c821/deploy/monitoring/checkout-api.rules.yml#L50)"),
        "{summary}"
    );
}

#[test]
fn the_action_compares_with_a_baseline_and_annotates_changed_lines() {
    let temp = tempfile::tempdir().unwrap();
    let repo = feature_repo("");
    let inputs = [
        ("format", "terminal"),
        ("annotate", "changed"),
        ("baseline", "main"),
        ("fail-on", "new"),
        // Passed through to --policy-ref.
        ("policy-ref", "main"),
    ];
    let run = run_action(temp.path(), repo.path(), &inputs);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // The terminal format in the log, so no workflow commands.
    assert!(
        !run.stdout.lines().any(|l| l.starts_with("::")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Against main ("), "{}", run.stdout);
    // No token to read the pull request's files: git diff instead, said once.
    assert!(
        run.stderr.contains(
            "cannot read the files of #2 (no GITHUB_TOKEN); using git diff against the baseline"
        ),
        "{}",
        run.stderr
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&run.outputs["report-json"]).unwrap())
            .unwrap();
    assert_eq!(report["comparison"]["fail_on"], "new");
    assert_eq!(report["comparison"]["new"], 1);
    assert_eq!(report["changes"]["source"], "git diff main");
    let summary = std::fs::read_to_string(temp.path().join("summary")).unwrap();
    assert!(summary.contains("🆕 **new**"), "{summary}");
    assert!(summary.contains("### Fixed since main"), "{summary}");

    // A value the action does not know is named as the input.
    let run = run_action(
        temp.path(),
        repo.path(),
        &[("annotate", "some\n::error::x")],
    );
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stdout.trim(),
        "::error title=readygate::input 'annotate' must be one of: all, changed (not 'some%0A::error::x')"
    );
}

fn github_check(env: &BTreeMap<String, String>) -> std::process::Output {
    readygate()
        .args(["check", SAMPLE, "--github"])
        .envs(env)
        .output()
        .unwrap()
}

#[test]
fn push_events_and_summaries_append() {
    let temp = tempfile::tempdir().unwrap();
    let mut env = runner_env(temp.path());
    env.insert("GITHUB_EVENT_NAME".into(), "push".into());
    env.insert("GITHUB_EVENT_PATH".into(), format!("{EVENTS}/push.json"));
    env.insert("GITHUB_REF_NAME".into(), "release/2.8".into());
    std::fs::write(temp.path().join("summary"), "earlier step\n").unwrap();
    let out = github_check(&env);
    assert_eq!(code(&out), 1, "release branches block: {}", stderr(&out));
    let summary = std::fs::read_to_string(temp.path().join("summary")).unwrap();
    assert!(
        summary.starts_with("earlier step\n## ❌ readygate"),
        "{summary}"
    );
    assert!(summary.contains("/blob/0000000000000000000000000000000000000000/"));
    assert_eq!(
        outputs_of(&temp.path().join("output"))["verdict"],
        "blocked"
    );
}

#[test]
fn malformed_event_payloads_name_the_field() {
    let temp = tempfile::tempdir().unwrap();
    let mut env = runner_env(temp.path());
    let cases = [
        (
            "{\"pull_request\": {\"number\": 7, \"head\": {}}}",
            "`pull_request.head.sha` is missing",
        ),
        (
            "{\"pull_request\": {\"number\": \"7\"}}",
            "`pull_request.number` must be a positive integer",
        ),
        ("{\"pull_request\": [1,", "not JSON"),
    ];
    for (payload, expected) in cases {
        let path = temp.path().join("event.json");
        std::fs::write(&path, payload).unwrap();
        env.insert("GITHUB_EVENT_PATH".into(), path.display().to_string());
        let out = github_check(&env);
        assert_eq!(code(&out), 2, "{payload}");
        let err = stderr(&out);
        assert!(
            err.contains(expected) && err.contains("event.json:"),
            "{payload}: {err}"
        );
    }
    // Outside a runner, --github is a usage error.
    let out = readygate()
        .args(["check", SAMPLE, "--github"])
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_EVENT_PATH")
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("GitHub Actions environment"));
}

/// The `junit` input: one glob per line, blank lines and padding ignored,
/// each passed as `--junit=GLOB`.
#[test]
fn the_junit_input_names_test_reports() {
    let temp = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    common::write(
        repo.path(),
        "readygate.yaml",
        "service: s\nowners: ['@o/t']\n",
    );
    common::write(
        repo.path(),
        "out/junit.xml",
        "<testsuite name=\"s\" time=\"2\"><testcase name=\"a\" classname=\"c\"/><testcase name=\"b\" classname=\"c\"><failure message=\"it broke\"/></testcase></testsuite>\n",
    );
    let run = run_action(
        temp.path(),
        repo.path(),
        &[
            ("policy-ref", "worktree"),
            ("junit", "  out/*.xml\n\n-missing/*.xml  \n"),
        ],
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&run.outputs["report-json"]).unwrap())
            .unwrap();
    let passing: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "tests.passing")
        .collect();
    assert_eq!(passing.len(), 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(passing[0]["message"], "`c::b` failed: it broke");
    assert!(run.stdout.contains("title=tests.passing"), "{}", run.stdout);
}

/// The install step on a SHA pin: the commit is resolved to its release tag
/// through the (fake, local) GitHub's git endpoint, the release asset is
/// downloaded and checked against SHA256SUMS; a tampered asset stops the
/// job; an untagged commit builds from source and says why.
#[test]
fn a_sha_pinned_action_installs_the_release_tagged_at_it() {
    let fake = tempfile::tempdir().unwrap();
    let server = fake.path();
    // The action's repository, with release v9.9.9 as an annotated tag.
    let repo = server.join("acme/readygate");
    std::fs::create_dir_all(&repo).unwrap();
    write(&repo, "README.md", "readygate\n");
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "release"]);
    git(&repo, &["tag", "-a", "v9.9.9", "-m", "v9.9.9"]);
    let sha = git(&repo, &["rev-parse", "HEAD"]).trim().to_string();
    // Its release: a binary that says its version, and SHA256SUMS.
    let release = server.join("acme/readygate/releases/download/v9.9.9");
    let staging = server.join("staging");
    write(&staging, "readygate", "#!/bin/sh\necho 'readygate 9.9.9'\n");
    let status = Command::new("chmod")
        .arg("+x")
        .arg(staging.join("readygate"))
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::create_dir_all(&release).unwrap();
    let asset = "readygate-v9.9.9-x86_64-unknown-linux-gnu.tar.gz";
    let status = Command::new("tar")
        .arg("-czf")
        .arg(release.join(asset))
        .arg("-C")
        .arg(&staging)
        .arg("readygate")
        .status()
        .unwrap();
    assert!(status.success());
    let sums = Command::new("sha256sum")
        .arg(asset)
        .current_dir(&release)
        .output()
        .unwrap();
    std::fs::write(release.join("SHA256SUMS"), &sums.stdout).unwrap();

    let install = |temp: &Path, action_ref: &str| {
        let mut env = runner_env(temp);
        env.insert("ACTION_REF".into(), action_ref.into());
        env.insert("ACTION_REPOSITORY".into(), "acme/readygate".into());
        env.insert(
            "GITHUB_SERVER_URL".into(),
            format!("file://{}", server.display()),
        );
        Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("action/install.sh"))
            .envs(&env)
            .output()
            .unwrap()
    };
    let temp = tempfile::tempdir().unwrap();
    let out = install(temp.path(), &sha);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!("The action's commit {sha} is release v9.9.9")),
        "{said}"
    );
    assert!(
        said.contains(
            "readygate 9.9.9: release v9.9.9 for x86_64-unknown-linux-gnu (checksum verified)"
        ),
        "{said}"
    );

    // A tampered asset: the job stops before running it.
    std::fs::write(
        release.join("SHA256SUMS"),
        format!("{}  {asset}\n", "0".repeat(64)),
    )
    .unwrap();
    let out = install(tempfile::tempdir().unwrap().path(), &sha);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("does not match the SHA256SUMS"));

    // An untagged commit: built from source, saying why first (cargo is
    // left off PATH here, so the build itself is not run).
    let untagged = "1234567890abcdef1234567890abcdef12345678";
    let temp = tempfile::tempdir().unwrap();
    let mut env = runner_env(temp.path());
    env.insert("ACTION_REF".into(), untagged.into());
    env.insert("ACTION_REPOSITORY".into(), "acme/readygate".into());
    env.insert(
        "GITHUB_SERVER_URL".into(),
        format!("file://{}", server.display()),
    );
    env.insert("PATH".into(), "/usr/bin:/bin".into());
    let out = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("action/install.sh"))
        .envs(&env)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!(
            "Building readygate from source with cargo: commit {untagged} is not a release tag"
        )),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
