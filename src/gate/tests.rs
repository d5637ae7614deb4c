//! The run's decisions, with a fake environment: what it refuses before it
//! reads anything, and what it reads from the environment when it runs.

use super::env::FakeEnv;
use super::*;

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("readygate.yaml"),
        "service: payments\ntier: 2\nowners: ['@acme/payments']\n",
    )
    .unwrap();
    dir
}

fn plan(root: &Path) -> CheckPlan {
    let mut plan = CheckPlan::new(root);
    plan.now = NaiveDate::from_ymd_opt(2026, 1, 1);
    plan
}

/// Run with output captured.
fn go(plan: CheckPlan, env: &FakeEnv) -> Result<(CheckRun, Captured), Error> {
    let mut console = Captured::default();
    check(plan, env, &mut console).map(|r| (r, console))
}

fn refusal(plan: CheckPlan, env: &FakeEnv) -> String {
    match go(plan, env).map(|(r, _)| r) {
        Err(Error::Config(e)) => e.to_string(),
        Err(other) => panic!("not a configuration error: {other}"),
        Ok(run) => panic!("ran: exit {}", run.exit_code),
    }
}

/// A root that does not exist: a decision that comes before the scan
/// fails with its own message, not "cannot read".
fn nowhere() -> PathBuf {
    PathBuf::from("/nonexistent/readygate-gate-test")
}

#[test]
fn fail_on_new_needs_a_baseline() {
    let mut p = plan(&nowhere());
    p.fail_on = FailOn::New;
    assert!(refusal(p, &FakeEnv::default()).contains("--fail-on new needs --baseline REF"));
}

#[test]
fn annotate_changed_needs_a_pull_request_or_a_baseline() {
    let mut p = plan(&nowhere());
    p.annotate = Annotate::Changed;
    assert!(refusal(p, &FakeEnv::default()).contains("--annotate changed needs a pull request"));
}

#[test]
fn formats_and_outputs_pair_up() {
    let dir = repo();
    let mut p = plan(dir.path());
    p.outputs = vec!["a.json".into(), "b.json".into()];
    assert!(refusal(p, &FakeEnv::default()).contains("more --output than --format"));
    let mut p = plan(dir.path());
    p.formats = vec![Format::Json, Format::Sarif];
    assert!(refusal(p, &FakeEnv::default()).contains("several --format values"));
}

#[test]
fn github_needs_the_runner_environment() {
    let mut p = plan(&nowhere());
    p.github = true;
    assert!(
        refusal(p.clone(), &FakeEnv::default()).contains("needs the GitHub Actions environment")
    );
    let env = FakeEnv::default().with("GITHUB_ACTIONS", "true");
    assert!(refusal(p, &env).contains("GITHUB_EVENT_NAME is not set"));
}

#[test]
fn a_bad_event_payload_stops_the_run_before_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let payload = dir.path().join("event.json");
    std::fs::write(&payload, "{\"pull_request\": [").unwrap();
    let env = FakeEnv::default()
        .with("GITHUB_ACTIONS", "true")
        .with("GITHUB_EVENT_NAME", "pull_request")
        .with("GITHUB_REPOSITORY", "acme/payments")
        .with("GITHUB_EVENT_PATH", payload.to_string_lossy());
    let mut p = plan(&nowhere());
    p.github = true;
    match go(p, &env) {
        Err(Error::Input(e)) => assert!(e.to_string().contains("the event payload is not JSON")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn event_and_branch_come_from_the_environment_unless_given() {
    let dir = repo();
    let env = FakeEnv::default()
        .with("GITHUB_EVENT_NAME", "push")
        .with("GITHUB_REF_NAME", "release/2.8");
    let (run, _) = go(plan(dir.path()), &env).unwrap();
    assert_eq!(run.report.verdict.event, "push");
    assert_eq!(run.report.verdict.branch.as_deref(), Some("release/2.8"));
    let mut p = plan(dir.path());
    p.branch = Some("main".into());
    p.event = Some("local".into());
    let (run, _) = go(p, &env).unwrap();
    assert_eq!(run.report.verdict.event, "local");
    assert_eq!(run.report.verdict.branch.as_deref(), Some("main"));
    // Nothing from the runner at all: a local run.
    let (run, _) = go(plan(dir.path()), &FakeEnv::default()).unwrap();
    assert_eq!(run.report.verdict.event, "local");
}

#[test]
fn colour_only_on_a_terminal_without_no_color() {
    let dir = repo();
    let tty = FakeEnv {
        terminal: true,
        ..FakeEnv::default()
    };
    let stdout = |env: &FakeEnv| go(plan(dir.path()), env).unwrap().1.stdout;
    assert!(stdout(&tty).contains('\u{1b}'));
    assert!(!stdout(&tty.clone().with("NO_COLOR", "1")).contains('\u{1b}'));
    assert!(!stdout(&FakeEnv::default()).contains('\u{1b}'));
}

#[test]
fn an_output_named_for_a_format_needs_that_format() {
    let dir = repo();
    let mut p = plan(dir.path());
    p.outputs = vec![dir.path().join("report.json")];
    let refused = refusal(p, &FakeEnv::default());
    assert!(
        refused.contains("without --format: it would hold the terminal report"),
        "{refused}"
    );
    assert!(refused.contains("add --format json"), "{refused}");
}

#[test]
fn colour_choices_no_color_and_clicolor_force() {
    let dir = repo();
    let stdout = |colour: Colour, env: &FakeEnv| {
        let mut p = plan(dir.path());
        p.colour = colour;
        go(p, env).unwrap().1.stdout.contains('\u{1b}')
    };
    let pipe = FakeEnv::default();
    let tty = FakeEnv {
        terminal: true,
        ..FakeEnv::default()
    };
    assert!(stdout(Colour::Always, &pipe));
    assert!(stdout(Colour::Always, &pipe.clone().with("NO_COLOR", "1")));
    assert!(!stdout(Colour::Never, &tty));
    assert!(stdout(
        Colour::Auto,
        &pipe.clone().with("CLICOLOR_FORCE", "1")
    ));
    assert!(!stdout(
        Colour::Auto,
        &pipe.clone().with("CLICOLOR_FORCE", "0")
    ));
    // NO_COLOR wins over the force; an empty NO_COLOR is not set.
    let both = pipe
        .clone()
        .with("CLICOLOR_FORCE", "1")
        .with("NO_COLOR", "1");
    assert!(!stdout(Colour::Auto, &both));
    assert!(stdout(Colour::Auto, &tty.clone().with("NO_COLOR", "")));
}

#[test]
fn quiet_says_the_verdict_and_verbose_the_phases() {
    let dir = repo();
    let mut p = plan(dir.path());
    p.quiet = true;
    let (_, out) = go(p, &FakeEnv::default()).unwrap();
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(out.stdout.starts_with("verdict: "));
    let mut p = plan(dir.path());
    p.timings = true;
    let (_, out) = go(p, &FakeEnv::default()).unwrap();
    for phase in ["scan", "policy and evaluation", "report and publish"] {
        assert!(
            out.stderr
                .iter()
                .any(|l| l.starts_with(&format!("readygate: {phase} "))),
            "{:?}",
            out.stderr
        );
    }
}

#[test]
fn every_format_to_a_file_leaves_stdout_empty_and_says_the_verdict() {
    let dir = repo();
    let out = dir.path().join("report.json");
    let mut p = plan(dir.path());
    p.formats = vec![Format::Json];
    p.outputs = vec![out.clone()];
    let (_, console) = go(p, &FakeEnv::default()).unwrap();
    assert!(console.stdout.is_empty());
    assert!(console.stderr.iter().any(|m| m.starts_with("verdict: ")));
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    assert_eq!(written["service"], "payments");
}

#[test]
fn the_report_stays_printed_when_required_publishing_fails() {
    let dir = repo();
    let env = FakeEnv::default()
        .with("GITHUB_ACTIONS", "true")
        .with("GITHUB_EVENT_NAME", "push")
        .with("GITHUB_REPOSITORY", "acme/payments");
    let mut p = plan(dir.path());
    p.github = true;
    p.require_publish = true;
    let mut console = Captured::default();
    match check(p, &env, &mut console) {
        Err(Error::Network(e)) => assert!(e.0.contains("--require-publish")),
        other => panic!("{other:?}"),
    }
    // The annotations and the reason publishing failed were already out.
    assert!(console.stdout.contains("::"), "{}", console.stdout);
    assert!(console.stderr.iter().any(|l| l.contains("no GITHUB_TOKEN")));
}

#[test]
fn flag_errors_found_before_the_scan_win_over_a_missing_root() {
    let mut p = plan(&nowhere());
    p.fail_on = FailOn::New;
    assert!(refusal(p, &FakeEnv::default()).contains("--fail-on new"));
    // Formats are checked where they always were: after the scan.
    let mut p = plan(&nowhere());
    p.formats = vec![Format::Json, Format::Sarif];
    match go(p, &FakeEnv::default()) {
        Err(Error::Input(e)) => assert!(e.to_string().contains("cannot read")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_root_is_an_input_error() {
    match go(plan(&nowhere()), &FakeEnv::default()) {
        Err(Error::Input(e)) => assert!(e.to_string().contains("cannot read")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn release_branches_block_and_others_warn() {
    let dir = repo();
    let mut p = plan(dir.path());
    p.branch = Some("release/1.0".into());
    p.event = Some("push".into());
    let (blocked, _) = go(p, &FakeEnv::default()).unwrap();
    assert!(blocked.report.verdict.blocked);
    assert_eq!(blocked.exit_code, 1);
    let mut p = plan(dir.path());
    p.branch = Some("feature/x".into());
    let (warned, _) = go(p, &FakeEnv::default()).unwrap();
    assert_eq!(warned.exit_code, 0);
}

#[test]
fn a_proxy_stops_online_probes_unless_private_targets_are_allowed() {
    let dir = repo();
    std::fs::write(
        dir.path().join("alerts.rules.yml"),
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        annotations:\n          runbook_url: https://runbooks.example.com/a\n",
    )
    .unwrap();
    let env = FakeEnv::default().with("HTTPS_PROXY", "http://proxy.internal:3128");
    let mut p = plan(dir.path());
    p.scan.online = Some(Online::default());
    match go(p.clone(), &env) {
        Err(Error::Network(e)) => {
            assert!(e.0.starts_with("HTTPS_PROXY is set"), "{e}");
            assert!(e.0.contains("--online-allow-private"));
        }
        other => panic!("{other:?}"),
    }
    // Offline, the proxy does not matter.
    p.scan.online = None;
    assert!(go(p, &env).is_ok());
}

#[test]
fn gitlab_merge_requests_are_judged_for_their_target_branch() {
    let dir = repo();
    let env = FakeEnv::default()
        .with("CI_PIPELINE_SOURCE", "merge_request_event")
        .with("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "release/3.0")
        .with("CI_COMMIT_REF_NAME", "feature/x");
    let (run, _) = go(plan(dir.path()), &env).unwrap();
    assert_eq!(run.report.verdict.event, "pull_request");
    assert_eq!(run.report.verdict.branch.as_deref(), Some("release/3.0"));
    let env = FakeEnv::default()
        .with("CI_PIPELINE_SOURCE", "push")
        .with("CI_COMMIT_REF_NAME", "main");
    let (run, _) = go(plan(dir.path()), &env).unwrap();
    assert_eq!(run.report.verdict.event, "push");
    assert_eq!(run.report.verdict.branch.as_deref(), Some("main"));
}

#[test]
fn the_branch_comes_from_git_in_a_subdirectory_too() {
    let dir = tempfile::tempdir().unwrap();
    let service = dir.path().join("services/api");
    std::fs::create_dir_all(&service).unwrap();
    std::fs::write(service.join("readygate.yaml"), "service: api\n").unwrap();
    let git = |args: &[&str]| crate::git::for_tests(dir.path(), args);
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "x"]);
    git(&["checkout", "-q", "-b", "release/9"]);
    let (run, _) = go(plan(&service), &FakeEnv::default()).unwrap();
    assert_eq!(run.report.verdict.branch.as_deref(), Some("release/9"));
}

#[test]
fn the_lock_is_written_inside_the_repository_replacing_a_symlink() {
    let repo = repo();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "keep\n").unwrap();
    std::fs::create_dir(repo.path().join(".readygate")).unwrap();
    let lock = lock_path(repo.path());
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    write_in_repo(repo.path(), &lock, "version: 1\n").unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep\n");
    assert!(
        !std::fs::symlink_metadata(&lock)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // A directory that leads out of the repository is refused.
    std::fs::remove_dir_all(repo.path().join(".readygate")).unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.path().join(".readygate")).unwrap();
    let err = write_in_repo(repo.path(), &lock, "version: 1\n").unwrap_err();
    assert!(
        err.to_string().contains("not inside the repository"),
        "{err}"
    );
    assert!(!outside.path().join("readygate.lock").exists());
}
