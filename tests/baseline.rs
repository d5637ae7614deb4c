//! Regression mode (`--baseline REF`, `--fail-on new`) and diff-aware
//! annotation from `git diff` (`--annotate changed`), on real git
//! repositories built from the sample service: a base commit on `main` and
//! a feature branch that adds a paging alert without a runbook, moves the
//! existing rules down and adds the missing SLO.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn gate(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["check", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    readygate().args(&args).output().unwrap()
}

fn by_baseline<'a>(report: &'a Value, state: &str) -> Vec<(&'a str, &'a str)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["baseline"] == state)
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["target"].as_str().unwrap_or(""),
            )
        })
        .collect()
}

/// The base read from git found what the checkout found: nothing new,
/// nothing fixed.
fn same_as_base(report: &Value, what: &str) {
    let c = &report["comparison"];
    assert_eq!(c["new"], 0, "{what}: {c}");
    assert_eq!(c["fixed"], serde_json::json!([]), "{what}: {c}");
}

#[test]
fn new_unchanged_and_fixed_against_the_base_branch() {
    let temp = feature_repo("");
    let repo = temp.path();
    // Staged work of the user's own must survive the run untouched.
    write(repo, "docs/notes.md", "draft\n");
    git(repo, &["add", "docs/notes.md"]);
    let staged = git(repo, &["diff", "--cached", "--name-only"]);
    let worktrees = git(repo, &["worktree", "list"]);

    let out = gate(repo, &["--baseline", "main", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json(&out);
    let c = &report["comparison"];
    assert_eq!(c["baseline_ref"], "main");
    assert_eq!(
        c["baseline_commit"].as_str().unwrap(),
        git(repo, &["rev-parse", "main"]).trim()
    );
    assert_eq!(c["baseline_level"], "bronze");
    assert_eq!(
        by_baseline(&report, "new"),
        vec![("alerts.paging-runbook", "CheckoutApiDown")]
    );
    // Moved three lines down, still the same finding.
    assert_eq!(
        by_baseline(&report, "unchanged"),
        vec![
            ("iac.terraform-lockfile", "infra/envs/prod"),
            ("alerts.runbook", "CheckoutApiQueueBacklog")
        ]
    );
    assert_eq!(c["new"], 1);
    assert_eq!(c["regressions"], 1);
    let fixed = c["fixed"].as_array().unwrap();
    assert_eq!(fixed.len(), 1);
    assert_eq!(fixed[0]["rule"], "service.slo");
    assert_eq!(fixed[0]["was"], "fail");
    assert_eq!(fixed[0]["now"], "pass");

    assert_eq!(git(repo, &["diff", "--cached", "--name-only"]), staged);
    assert_eq!(git(repo, &["worktree", "list"]), worktrees);

    // The terminal says the same in words.
    let text = stdout(&gate(repo, &["--baseline", "main"]));
    assert!(
        text.contains("new   alert `CheckoutApiDown` has no runbook"),
        "{text}"
    );
    assert!(text.contains("FIXED   service.slo"), "{text}");
    assert!(text.contains("Against main ("), "{text}");
}

#[test]
fn fail_on_new_blocks_only_on_regressions() {
    let temp = feature_repo("");
    let repo = temp.path();
    let release = ["--branch", "release/2.8", "--event", "push"];
    let blocking = |extra: &[&str]| {
        let mut args = release.to_vec();
        args.extend_from_slice(extra);
        gate(repo, &args)
    };
    // The policy blocks release branches below silver, new failure or not.
    assert_eq!(code(&blocking(&["--baseline", "main"])), 1);
    let out = blocking(&["--baseline", "main", "--fail-on", "new"]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("BLOCKED (1 new failing against main)"),
        "{}",
        stdout(&out)
    );

    // A change that only fixes things: below the level still, but nothing
    // new, so `--fail-on new` lets it through.
    git(repo, &["checkout", "-q", "-b", "fix-only", "main"]);
    add_slo(repo);
    git(repo, &["commit", "-q", "-am", "add the SLO"]);
    assert_eq!(code(&blocking(&["--baseline", "main"])), 1);
    let out = blocking(&["--baseline", "main", "--fail-on", "new", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let report = json(&out);
    assert_eq!(report["verdict"]["blocked"], false);
    assert_eq!(report["comparison"]["policy_blocks"], true);
    assert_eq!(report["comparison"]["regressions"], 0);
    let text = stdout(&blocking(&["--baseline", "main", "--fail-on", "new"]));
    assert!(
        text.contains("nothing new fails against main: not blocking (--fail-on new)"),
        "{text}"
    );
}

#[test]
fn annotate_changed_from_git_diff_annotates_only_touched_lines() {
    let temp = feature_repo("");
    let repo = temp.path();
    let out = gate(
        repo,
        &[
            "--baseline",
            "main",
            "--annotate",
            "changed",
            "--format",
            "github",
        ],
    );
    let log = stdout(&out);
    let annotations: Vec<&str> = log.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 1, "{log}");
    let rules = std::fs::read_to_string(repo.join(RULES)).unwrap();
    let line = rules
        .lines()
        .position(|l| l.contains("alert: CheckoutApiDown"))
        .unwrap()
        + 1;
    assert!(
        annotations[0].starts_with(&format!(
            "::error file={RULES},line={line},col=9,title=new%3A alerts.paging-runbook"
        )),
        "{log}"
    );
    // The moved alert and the untouched Terraform are listed, not annotated.
    assert!(log.contains("readygate: 2 finding(s) not on changed lines, not annotated:"));
    assert!(log.contains("  warn alerts.runbook at deploy/monitoring/checkout-api.rules.yml:"));
    assert!(log.contains("  fail iac.terraform-lockfile at infra/envs/prod/main.tf"));
    assert!(log.contains("readygate: Annotated: 1 finding on lines changed in git diff main (2 files); 2 elsewhere only listed."), "{log}");

    // Uncommitted edits count too: the working tree is what is checked.
    let prod = repo.join("infra/envs/prod/main.tf");
    let tf = std::fs::read_to_string(&prod).unwrap();
    std::fs::write(&prod, format!("# touched\n{tf}")).unwrap();
    let report = json(&gate(
        repo,
        &[
            "--baseline",
            "main",
            "--annotate",
            "changed",
            "--format",
            "json",
        ],
    ));
    let lockfile = &findings(&report, "iac.terraform-lockfile")
        .into_iter()
        .find(|f| f["state"] == "fail")
        .unwrap()
        .clone();
    // The finding is about the whole module file (its line is 0 or 1).
    assert_eq!(lockfile["on_changed_line"], true, "{lockfile}");
    assert_eq!(report["changes"]["files"], 3);
}

#[test]
fn a_service_in_a_subdirectory_compares_its_own_files_and_sarif_says_so() {
    let temp = feature_repo("services/checkout");
    let service = temp.path().join("services/checkout");
    let out = gate(&service, &["--baseline", "main", "--format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors: Vec<String> = sarif_validator()
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let states: Vec<(&str, &str)> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| Some((r["ruleId"].as_str()?, r["baselineState"].as_str()?)))
        .collect();
    assert_eq!(
        states,
        vec![
            ("alerts.paging-runbook", "new"),
            ("iac.terraform-lockfile", "unchanged"),
            ("alerts.runbook", "unchanged")
        ]
    );

    // The service did not exist on the base: an empty baseline, all new.
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path();
    write(repo, "README.md", "monorepo\n");
    git(repo, &["init", "-q"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "empty"]);
    copy_dir(Path::new(SAMPLE), &repo.join("services/checkout"));
    let report = json(&gate(
        &repo.join("services/checkout"),
        &["--baseline", "main", "--format", "json"],
    ));
    assert!(by_baseline(&report, "unchanged").is_empty());
    assert_eq!(by_baseline(&report, "new").len(), 3);
    assert_eq!(report["comparison"]["baseline_level"], Value::Null);
}

#[test]
fn baseline_mistakes_are_usage_errors() {
    let temp = feature_repo("");
    let repo = temp.path();
    let out = gate(repo, &["--baseline", "origin/nope"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("`origin/nope` names no commit in this repository"));
    assert!(
        stderr(&out).contains("git fetch origin origin/nope"),
        "{}",
        stderr(&out)
    );

    // Never read as an option by git.
    let out = gate(repo, &["--baseline=--output=/tmp/x"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("is not a git ref"),
        "{}",
        stderr(&out)
    );

    let out = gate(repo, &["--fail-on", "new"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--fail-on new needs --baseline REF"));

    let out = gate(repo, &["--annotate", "changed"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out)
            .contains("--annotate changed needs a pull request (--github) or --baseline REF")
    );

    let plain = tempfile::tempdir().unwrap();
    copy_dir(Path::new(SAMPLE), plain.path());
    let out = gate(plain.path(), &["--baseline", "main"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("is not inside a git repository"),
        "{}",
        stderr(&out)
    );
}

/// A cancelled job (SIGTERM) or Ctrl-C (SIGINT) during --baseline leaves no
/// checkout of the base behind.
#[test]
fn an_interrupted_baseline_leaves_no_temporary_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    // Enough files that checking out and scanning the base takes a while.
    for i in 0..6000 {
        write(
            &root,
            &format!("k8s/app{}/svc{i}.yaml", i % 50),
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\ndata: {{a: b}}\n"),
        );
    }
    write(&root, "readygate.yaml", "service: s\nowners: ['@o/t']\n");
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "base"]);
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_readygate"))
        .args([
            "check",
            root.to_str().unwrap(),
            "--baseline",
            "main",
            "--event",
            "local",
        ])
        .env("TMPDIR", &tmp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let live = || std::fs::read_dir(&tmp).unwrap().count();
    while live() == 0 && start.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(live(), 1, "the base was never checked out");
    let pid = child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    // Signalled as soon as the base's directory appeared, before 6 000
    // files were checked out and scanned: the run was interrupted.
    assert_eq!(out.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    assert_eq!(live(), 0, "a temporary tree was left behind");
}

/// The base is written without the files no area reads (source, media):
/// with nothing changed, every finding is the base's too, runbook pages
/// and all.
#[test]
fn a_partial_base_finds_what_a_full_checkout_finds() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_dir(Path::new("examples/sample-service"), root);
    for i in 0..300 {
        write(root, &format!("pkg/ingester/f{i}.go"), "package ingester\n");
    }
    write(root, "web/logo.png", "not really a png");
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "base"]);
    let report = check_report(
        root.to_str().unwrap(),
        &["--baseline", "main", "--event", "local"],
    );
    same_as_base(&report, "");
    assert_eq!(
        report["comparison"]["baseline_level"],
        report["verdict"]["level_reached"]
    );
    // Every finding needing attention was there on the base too (the
    // runbook pages the sample links to were read there as well).
    let attention: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["state"] == "fail" || f["state"] == "warn")
        .collect();
    assert!(!attention.is_empty());
    assert!(
        attention.iter().all(|f| f["baseline"] == "unchanged"),
        "{attention:?}"
    );
}

/// In a partial clone (`--filter=blob:none`, as actions/checkout can make)
/// the base's blobs the gate reads are fetched from the remote on demand;
/// those it never reads (source code) are never fetched.
#[test]
fn a_partial_clone_fetches_only_what_the_base_needs() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    copy_dir(Path::new("examples/sample-service"), &src);
    write(&src, "main.go", "package main // v1\n");
    git(&src, &["init", "-q", "-b", "main"]);
    git(&src, &["config", "uploadpack.allowFilter", "true"]);
    git(&src, &["config", "uploadpack.allowAnySHA1InWant", "true"]);
    git(&src, &["add", "-A"]);
    git(&src, &["commit", "-qm", "base"]);
    let rules = src.join("deploy/monitoring/checkout-api.rules.yml");
    let text = std::fs::read_to_string(&rules).unwrap();
    std::fs::write(&rules, format!("{text}# touched\n")).unwrap();
    write(&src, "main.go", "package main // v2\n");
    git(&src, &["commit", "-qam", "head"]);
    let clone = dir.path().join("clone");
    let url = format!("file://{}", src.display());
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            "--filter=blob:none",
            &url,
            clone.to_str().unwrap(),
        ],
    );
    let missing = || {
        git(
            &clone,
            &["rev-list", "--objects", "--missing=print", "--all"],
        )
        .lines()
        .filter(|l| l.starts_with('?'))
        .count()
    };
    // The base's rule file and its main.go were never fetched.
    assert_eq!(missing(), 2);
    let report = check_report(
        clone.to_str().unwrap(),
        &["--baseline", "HEAD~1", "--event", "local"],
    );
    assert_eq!(report["comparison"]["new"], 0, "{}", report["comparison"]);
    // The rule file was fetched to be read; main.go was not needed.
    assert_eq!(missing(), 1);
}

/// The base is read from git, the head from disk: on a clean checkout with
/// itself as the base, every fixture repository must read the same both
/// ways (no finding new, none fixed), symlinks and ignore files included.
#[test]
fn every_fixture_reads_the_same_from_git_as_from_disk() {
    for fixture in [
        "examples/sample-service",
        "tests/fixtures/alerts-zoo",
        "tests/fixtures/iac-zoo",
        "tests/fixtures/flags",
        "tests/fixtures/rollout",
        "tests/fixtures/service-facts",
        "tests/fixtures/tests",
        "tests/fixtures/tls",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        copy_dir(Path::new(fixture), root);
        // Symlinks inside the tree, one out of it, and an ignore file.
        write(
            root,
            "linked/real.yaml",
            "groups:\n  - name: linked\n    rules:\n      - alert: LinkedDown\n        expr: up == 0\n        labels: {severity: critical}\n",
        );
        std::os::unix::fs::symlink("real.yaml", root.join("linked/alias.rules.yml")).unwrap();
        std::os::unix::fs::symlink("linked", root.join("linked-dir")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", root.join("outside.rules.yml")).unwrap();
        write(root, ".readygateignore", "scratch/\n");
        write(root, "scratch/ignored.rules.yml", "groups: []\n");
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["add", "-A"]);
        git(root, &["commit", "-qm", "base"]);
        let report = check_report(
            root.to_str().unwrap(),
            &["--baseline", "main", "--event", "local"],
        );
        same_as_base(&report, fixture);
        let moved: Vec<&Value> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                (f["state"] == "fail" || f["state"] == "warn") && f["baseline"] != "unchanged"
            })
            .collect();
        assert!(moved.is_empty(), "{fixture}: {moved:?}");
    }
}

/// Shapes a change can give the base that once read differently from git
/// than from disk: a runbook reached through ten symlinks, `rule_files`
/// through a symlinked directory, a `\` in a file name, two file names
/// that are not UTF-8 and read alike, a test report that is a symlink.
#[test]
fn awkward_paths_read_the_same_from_git_as_from_disk() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_dir(Path::new(SAMPLE), root);
    let rules = std::fs::read_to_string(root.join(RULES)).unwrap();
    let renamed = |name: &str| rules.replace("CheckoutApi", name);
    // docs/sub/up leads back to docs: ten hops to the runbook page.
    std::fs::create_dir_all(root.join("docs/sub")).unwrap();
    std::os::unix::fs::symlink("../../docs", root.join("docs/sub/up")).unwrap();
    let far = format!("../../docs/{}runbooks.md", "sub/up/".repeat(10));
    write(
        root,
        "deploy/monitoring/far.rules.yml",
        &renamed("Far").replace("../../docs/runbooks.md", &far),
    );
    write(root, "conf/real/named.conf", &renamed("Named"));
    std::os::unix::fs::symlink("real", root.join("conf/linkdir")).unwrap();
    write(
        root,
        "conf/prometheus.yml",
        "global:\n  scrape_interval: 15s\nrule_files:\n  - linkdir/*.conf\n",
    );
    write(
        root,
        "deploy/monitoring/back\\slash.rules.yml",
        &renamed("Back"),
    );
    for (byte, name) in [(0xfe, "Odd"), (0xff, "Other")] {
        let mut file = b"deploy/monitoring/bad".to_vec();
        file.extend([byte]);
        file.extend(b".rules.yml");
        std::fs::write(root.join(std::ffi::OsStr::from_bytes(&file)), renamed(name)).unwrap();
    }
    std::fs::create_dir_all(root.join("real")).unwrap();
    std::fs::rename(
        root.join("reports/junit.xml"),
        root.join("real/junit-real.xml"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../real/junit-real.xml", root.join("reports/junit.xml")).unwrap();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "base"]);
    let report = check_report(
        root.to_str().unwrap(),
        &["--baseline", "main", "--event", "local"],
    );
    same_as_base(&report, "");
    assert_eq!(
        report["comparison"]["baseline_level"],
        report["verdict"]["level_reached"]
    );
    // The head read them all: the shapes are there to be compared.
    let ev = evidence(root.to_str().unwrap(), &[]);
    let alerts = ev["alerts"].to_string();
    for name in [
        "FarErrorRate",
        "NamedErrorRate",
        "BackErrorRate",
        "OddErrorRate",
        "OtherErrorRate",
    ] {
        assert!(alerts.contains(name), "{name} not collected");
    }
    assert!(
        alerts.contains("back\\\\slash.rules.yml"),
        "a `\\` is a name's"
    );
}

/// A base git cannot give in full (a partial clone whose remote is gone, a
/// damaged repository) stops the run: compared in part, every file after
/// the missing one would count as new.
#[test]
fn a_base_that_cannot_be_read_whole_stops_the_run() {
    let temp = feature_repo("");
    let repo = temp.path();
    let base = git(repo, &["rev-parse", "main:.github/workflows/ci.yml"]);
    let base = base.trim();
    std::fs::remove_file(repo.join(format!(".git/objects/{}/{}", &base[..2], &base[2..]))).unwrap();
    let out = gate(repo, &["--baseline", "main", "--event", "local"]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("cannot read main (") && stderr(&out).contains("from git"),
        "{}",
        stderr(&out)
    );

    // `^main` verifies as a negation, not a commit.
    let out = gate(repo, &["--baseline", "^main"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("`^main` is not a git ref"),
        "{}",
        stderr(&out)
    );
}

/// The base's test reports are written to a temporary directory; a base
/// whose names collide once made UTF-8 (a link out as `d\xff.xml`, a
/// directory as `d\xfe.xml`) must not lead a write through the link.
#[test]
fn base_reports_are_never_written_through_a_link() {
    use std::os::unix::ffi::OsStrExt;
    let temp = feature_repo("");
    let repo = temp.path();
    let victim = tempfile::tempdir().unwrap();
    std::fs::write(victim.path().join("settings.xml"), "ORIGINAL\n").unwrap();
    git(repo, &["checkout", "-q", "-b", "evil", "main"]);
    let dir = repo.join(std::ffi::OsStr::from_bytes(b"d\xfe.xml"));
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("settings.xml"), "<testsuite name=\"PWNED\"/>\n").unwrap();
    std::os::unix::fs::symlink(
        victim.path(),
        repo.join(std::ffi::OsStr::from_bytes(b"d\xff.xml")),
    )
    .unwrap();
    std::os::unix::fs::symlink("../../escape", repo.join("reports/out.xml")).unwrap();
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", "evil"]);
    git(repo, &["checkout", "-q", "feature"]);
    let out = gate(repo, &["--baseline", "evil", "--event", "local"]);
    assert!(matches!(code(&out), 0 | 1), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(victim.path().join("settings.xml")).unwrap(),
        "ORIGINAL\n"
    );
}
