//! `--policy-ref`: on a pull request the policy is read from the base, so
//! an edit in the change under review cannot turn a blocked release into a
//! pass. Each bypass below works without `--policy-ref` (proving the edit
//! is real) and fails with it.

mod common;

use std::path::Path;

use common::*;

const POLICY: &str = ".readygate/policy.yaml";

/// The sample's own policy: the production pack and one waiver, as the
/// last key (so a test can append waivers).
fn base_policy() -> String {
    std::fs::read_to_string(Path::new(SAMPLE).join(POLICY)).unwrap()
}

/// The sample service on `main` (it blocks a release: tier 2 needs silver,
/// the prod Terraform module has no lock file), then a `pr` branch with
/// `edit` applied and committed.
fn repo_with_edit(edit: impl Fn(&Path)) -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path();
    copy_dir(Path::new(SAMPLE), repo);
    git(repo, &["init", "-q"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "base"]);
    git(repo, &["checkout", "-q", "-b", "pr"]);
    edit(repo);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "--allow-empty", "-m", "weaken"]);
    temp
}

fn release_check(repo: &Path, extra: &[&str]) -> std::process::Output {
    release_as(repo, "json", extra)
}

fn release_as(repo: &Path, format: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "check",
        repo.to_str().unwrap(),
        "--branch",
        "release/2.8",
        "--event",
        "push",
        "--now",
        "2026-11-22",
        "--format",
        format,
    ];
    args.extend_from_slice(extra);
    readygate().args(&args).output().unwrap()
}

fn policy_with(extra: &str) -> String {
    format!("{}{extra}", base_policy())
}

#[test]
fn the_base_policy_blocks_whatever_the_head_edits() {
    type Edit = Box<dyn Fn(&Path)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "waiver until 9999",
            Box::new(|r: &Path| {
                write(
                    r,
                    POLICY,
                    &policy_with(
                        "  - rule: iac.terraform-lockfile\n    reason: later\n    owner: '@me'\n    expires: '9999-12-31'\n  - rule: service.slo\n    reason: later\n    owner: '@me'\n    expires: '9999-12-31'\n",
                    ),
                )
            }),
        ),
        (
            "rules disabled",
            Box::new(|r: &Path| {
                write(
                    r,
                    POLICY,
                    &policy_with(
                        "overrides:\n  - rule: iac.terraform-lockfile\n    enabled: false\n  - rule: service.slo\n    enabled: false\n",
                    ),
                )
            }),
        ),
        (
            "enforcement warn",
            Box::new(|r: &Path| write(r, POLICY, &policy_with("enforcement:\n  - mode: warn\n"))),
        ),
        (
            "tier mapping lowered",
            Box::new(|r: &Path| write(r, POLICY, &policy_with("tiers:\n  \"2\": bronze\n"))),
        ),
        (
            "extends a lax pack",
            Box::new(|r: &Path| {
                write(
                    r,
                    ".readygate/lax.yaml",
                    "name: lax\nlevels: [bronze, silver, gold]\ntiers: {default: bronze}\nenforcement: [{mode: warn}]\n",
                );
                write(r, POLICY, "name: checkout-api\nextends: [./lax.yaml]\n");
            }),
        ),
        (
            "manifest tier 4",
            Box::new(|r: &Path| {
                let manifest = std::fs::read_to_string(r.join("readygate.yaml")).unwrap();
                write(r, "readygate.yaml", &manifest.replace("tier: 2", "tier: 4"));
            }),
        ),
    ];
    for (name, edit) in edits {
        let temp = repo_with_edit(edit);
        let repo = temp.path();
        let head = release_check(repo, &[]);
        assert_eq!(
            code(&head),
            0,
            "{name}: the edit should pass on its own: {}",
            stderr(&head)
        );
        let base = release_check(repo, &["--policy-ref", "main"]);
        assert_eq!(code(&base), 1, "{name}: {}", stderr(&base));
        let report = json(&base);
        assert_eq!(report["verdict"]["tier"], 2, "{name}");
        assert_eq!(report["verdict"]["blocked"], true, "{name}");
        // The policy chain names the commit it was read from.
        let source = report["policy"].as_array().unwrap().last().unwrap()["source"].clone();
        assert!(source.as_str().unwrap().contains('@'), "{name}: {source}");
    }
}

#[test]
fn the_report_lists_what_the_head_would_weaken() {
    let temp = repo_with_edit(|r| {
        write(
            r,
            POLICY,
            &policy_with(
                "  - rule: service.slo\n    reason: later\n    owner: '@me'\n    expires: '9999-12-31'\noverrides:\n  - rule: iac.terraform-lockfile\n    enabled: false\nenforcement:\n  - mode: warn\n",
            ),
        );
        let manifest = std::fs::read_to_string(r.join("readygate.yaml")).unwrap();
        write(r, "readygate.yaml", &manifest.replace("tier: 2", "tier: 4"));
    });
    let repo = temp.path();
    let report = json(&release_check(repo, &["--policy-ref", "main"]));
    let changes = report["policy_ref"]["head_changes"].as_array().unwrap();
    let kinds: Vec<&str> = changes
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["waiver-added", "rule-disabled", "enforcement", "manifest"],
        "{changes:#?}"
    );
    assert!(
        changes[0]["message"]
            .as_str()
            .unwrap()
            .contains("expires 9999-12-31")
    );
    let at = changes[0]["location"]["path"].as_str().unwrap();
    assert!(at.ends_with(".readygate/policy.yaml"), "{at}");
    assert!(
        changes[3]["message"]
            .as_str()
            .unwrap()
            .contains("tier 4 instead of 2")
    );
    assert_eq!(report["policy_ref"]["policy_ref"], "main");
    // First in the Markdown (the pull request comment), and in the terminal.
    let out = release_as(repo, "markdown", &["--policy-ref", "main"]);
    let md = stdout(&out);
    let first = md.find("does not count yet").unwrap();
    assert!(first < md.find("level").unwrap(), "{md}");
    assert!(md.contains("adds a waiver for service.slo"), "{md}");
    let out = release_as(repo, "terminal", &["--policy-ref", "main"]);
    assert!(stdout(&out).contains("disables it"), "{}", stdout(&out));
    let out = release_as(repo, "github", &["--policy-ref", "main"]);
    let gh = stdout(&out);
    let warning = gh
        .lines()
        .find(|l| l.contains("policy changes not in force"))
        .unwrap();
    assert!(warning.starts_with("::warning title="), "{warning}");
    // Nothing changed: says so.
    let temp = repo_with_edit(|_| {});
    let report = json(&release_check(temp.path(), &["--policy-ref", "main"]));
    assert_eq!(
        report["policy_ref"]["head_changes"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn the_policy_is_read_from_git_objects_not_the_working_tree() {
    let temp = repo_with_edit(|r| write(r, POLICY, &policy_with("enforcement:\n  - mode: warn\n")));
    let repo = temp.path();
    // Uncommitted too: the working tree never counts.
    write(repo, POLICY, &policy_with("tiers: {\"2\": bronze}\n"));
    let out = release_check(repo, &["--policy-ref", "main"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let packs = json(&out)["policy"].clone();
    let sources: Vec<&str> = packs
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["source"].as_str().unwrap())
        .collect();
    let main = git(repo, &["rev-parse", "main"]);
    assert!(
        sources.contains(&format!(".readygate/policy.yaml@{}", &main.trim()[..12]).as_str()),
        "{sources:?}"
    );
}

#[test]
fn a_ref_that_is_not_in_the_clone_is_exit_2_never_the_head() {
    let temp = repo_with_edit(|r| write(r, POLICY, &policy_with("enforcement:\n  - mode: warn\n")));
    let out = release_check(temp.path(), &["--policy-ref", "origin/main"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("`origin/main` names no commit"), "{err}");
    assert!(err.contains("git fetch"), "{err}");
    // Outside a git repository there is no base to read.
    let plain = tempfile::tempdir().unwrap();
    copy_dir(Path::new(SAMPLE), plain.path());
    let out = release_check(plain.path(), &["--policy-ref", "main"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("not inside a git repository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn extends_may_not_leave_the_repository() {
    // In the working tree: the repository's own policy is confined.
    let outer = tempfile::tempdir().unwrap();
    let repo = outer.path().join("repo");
    copy_dir(Path::new(SAMPLE), &repo);
    write(
        outer.path(),
        "outside.yaml",
        "name: outside\nsecret_key_name: 1\n",
    );
    write(&repo, POLICY, "name: p\nextends: [../../outside.yaml]\n");
    let out = release_check(&repo, &[]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("`../../outside.yaml` is outside the repository"),
        "{err}"
    );
    assert!(!err.contains("secret_key_name"), "{err}");
    // At a commit: the same.
    let temp = repo_with_edit(|_| {});
    let repo = temp.path();
    write(repo, POLICY, "name: p\nextends: [../../../outside.yaml]\n");
    git(repo, &["commit", "-q", "-am", "climb"]);
    let out = release_check(repo, &["--policy-ref", "pr"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("outside the repository"),
        "{}",
        stderr(&out)
    );
    // A device is not a policy.
    let out = release_check(repo, &["--policy", "/dev/zero"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
}

/// A pull_request run on GitHub: the payload's base commit is where the
/// policy comes from unless the workflow says otherwise.
fn pull_request_run(repo: &Path, base_sha: Option<&str>, extra: &[&str]) -> std::process::Output {
    let payload = repo.join("../event.json");
    let base = match base_sha {
        Some(sha) => format!(", \"sha\": \"{sha}\""),
        None => String::new(),
    };
    std::fs::write(
        &payload,
        format!(
            "{{\"pull_request\": {{\"number\": 7, \"head\": {{\"sha\": \"{}\"}}, \"base\": {{\"ref\": \"release/2.8\"{base}}}}}}}",
            "1".repeat(40)
        ),
    )
    .unwrap();
    let mut args = vec![
        "check",
        repo.to_str().unwrap(),
        "--github",
        "--now",
        "2026-11-22",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    readygate()
        .args(&args)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", &payload)
        .env("GITHUB_REPOSITORY", "acme/checkout")
        .env("GITHUB_BASE_REF", "release/2.8")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap()
}

#[test]
fn on_a_pull_request_the_base_commit_is_the_default() {
    let outer = tempfile::tempdir().unwrap();
    let repo = outer.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let temp = repo_with_edit(|r| write(r, POLICY, &policy_with("enforcement:\n  - mode: warn\n")));
    copy_dir(temp.path(), &repo);
    let main = git(&repo, &["rev-parse", "main"]).trim().to_string();
    let out = pull_request_run(&repo, Some(&main), &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(json(&out)["policy_ref"]["commit"], main.as_str());
    // The workflow's author may choose the change's own policy.
    let out = pull_request_run(&repo, Some(&main), &["--policy-from-worktree"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // A payload without the base commit: no silent fallback to the head.
    let out = pull_request_run(&repo, None, &[]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("pull_request.base.sha"),
        "{}",
        stderr(&out)
    );
    // A base commit the clone does not have: the fetch hint, exit 2.
    let out = pull_request_run(&repo, Some(&"2".repeat(40)), &[]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("git fetch"), "{}", stderr(&out));
}

// ------------------------------------------ found attacking the boundary --

/// A service in `services/api` with a policy that blocks its release.
fn subdir_repo() -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path();
    let api = repo.join("services/api");
    write(
        &api,
        ".readygate/policy.yaml",
        "name: org\nlevels: [bronze]\nenforcement: [{branches: [\"release/*\"], mode: block}]\nrules: [{id: org.rb, title: t, level: bronze, check: alert-runbook, why: w, remediation: r}]\n",
    );
    write(&api, "readygate.yaml", "service: api\n");
    write(
        &api,
        "rules.yml",
        "groups: [{name: g, rules: [{alert: Down, expr: up == 0, labels: {severity: critical}}]}]\n",
    );
    write(
        &repo.join("services/sandbox"),
        ".readygate/policy.yaml",
        "name: lax\nlevels: [bronze]\nrules: []\n",
    );
    git(repo, &["init", "-q"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "base"]);
    temp
}

fn check_at(repo: &Path, path: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "check",
        path,
        "--branch",
        "release/1",
        "--event",
        "push",
        "--policy-ref",
        "main",
    ];
    args.extend_from_slice(extra);
    readygate().args(&args).current_dir(repo).output().unwrap()
}

#[test]
fn a_repository_planted_in_the_service_directory_runs_nothing_and_fails_closed() {
    let temp = subdir_repo();
    let repo = temp.path();
    let api = repo.join("services/api");
    let marker = repo.join("pwned");
    write(&api, "HEAD", "ref: refs/heads/main\n");
    write(&api, "objects/info/alternates", "../../../.git/objects\n");
    write(&api, "refs/heads/.keep", "");
    write(
        &api,
        "config",
        &format!(
            "[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tworktree = .\n\tfsmonitor = \"touch {}; false\"\n",
            marker.display()
        ),
    );
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "plant"]);
    let out = check_at(repo, "services/api", &[]);
    assert!(!marker.exists(), "the planted fsmonitor ran");
    assert_ne!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_service_directory_replaced_by_a_link_is_refused() {
    let temp = subdir_repo();
    let repo = temp.path();
    std::fs::copy(
        repo.join("services/api/rules.yml"),
        repo.join("services/sandbox/rules.yml"),
    )
    .unwrap();
    std::fs::remove_dir_all(repo.join("services/api")).unwrap();
    std::os::unix::fs::symlink("sandbox", repo.join("services/api")).unwrap();
    let out = check_at(repo, "services/api", &[]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
}

#[test]
fn an_absolute_policy_path_inside_the_repository_is_read_from_the_base() {
    let temp = subdir_repo();
    let repo = temp.path();
    git(repo, &["checkout", "-q", "-b", "pr"]);
    write(
        &repo.join("services/api"),
        ".readygate/policy.yaml",
        "name: org\nlevels: [bronze]\nrules: []\n",
    );
    git(repo, &["commit", "-q", "-am", "weaken"]);
    let abs = repo.join("services/api/.readygate/policy.yaml");
    let out = check_at(repo, "services/api", &["--policy", abs.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
}

#[test]
fn the_catalog_lifecycle_is_read_from_the_base_too() {
    let temp = subdir_repo();
    let repo = temp.path();
    let api = repo.join("services/api");
    write(
        &api,
        ".readygate/policy.yaml",
        "name: org\nlevels: [bronze]\nenforcement: [{branches: [\"release/*\"], mode: block}]\nrules: [{id: org.rb, title: t, level: bronze, check: alert-runbook, applies_to: {lifecycle: [production]}, why: w, remediation: r}]\n",
    );
    write(
        &api,
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: api}\nspec: {type: service, owner: team, lifecycle: production}\n",
    );
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "catalog"]);
    git(repo, &["branch", "-f", "base"]);
    write(
        &api,
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: api}\nspec: {type: service, owner: team, lifecycle: experimental}\n",
    );
    git(repo, &["commit", "-q", "-am", "experimental"]);
    let out = readygate()
        .args([
            "check",
            "services/api",
            "--branch",
            "release/1",
            "--event",
            "push",
            "--policy-ref",
            "base",
            "--format",
            "json",
        ])
        .current_dir(repo)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let changes = json(&out)["policy_ref"]["head_changes"].clone();
    assert!(
        changes
            .to_string()
            .contains("lifecycle experimental instead of production"),
        "{changes}"
    );
}

#[test]
fn head_changes_see_levels_expressions_and_checks_swapped() {
    let temp = repo_with_edit(|r| {
        write(
            r,
            POLICY,
            &policy_with("overrides:\n  - rule: iac.terraform-lockfile\n    level: gold\n"),
        )
    });
    let report = json(&release_check(temp.path(), &["--policy-ref", "main"]));
    let text = report["policy_ref"]["head_changes"].to_string();
    assert!(text.contains("moves it from silver to gold"), "{text}");
}
