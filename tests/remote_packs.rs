//! Policy packs from another git repository: fetched by ref into a cache,
//! relative `extends` resolved at the same commit, `--offline` served from
//! the cache, and what a repository's own policy may not name.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// A platform team's policy repository: `packs/prod.yaml` extends
/// `base.yaml` beside it; tag `v1`, then a `main` that changes prod.
fn pack_repo() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    write(
        repo,
        "packs/base.yaml",
        "name: acme-base\nversion: 1.0.0\nextends: [builtin:baseline]\nrules:\n  - id: acme.ci\n    title: CI is mandatory at Acme\n    area: ci\n    level: bronze\n    check: ci-present\n    locked: true\n    why: Every deploy goes through CI.\n    remediation: Add a workflow.\n",
    );
    write(
        repo,
        "packs/prod.yaml",
        "name: acme-prod\nversion: 1.0.0\nextends: [base.yaml]\n",
    );
    git(repo, &["add", "."]);
    git(repo, &["commit", "-qm", "v1"]);
    git(repo, &["tag", "v1"]);
    let v1 = git(repo, &["rev-parse", "HEAD"]).trim().to_string();
    write(
        repo,
        "packs/prod.yaml",
        "name: acme-prod\nversion: 2.0.0\nextends: [base.yaml]\n",
    );
    git(repo, &["commit", "-qam", "v2"]);
    let url = format!("git+file://{}", repo.display());
    (dir, v1, url)
}

fn packs(report: &Value) -> Vec<String> {
    report["policy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {} {}",
                p["name"].as_str().unwrap(),
                p["version"],
                p["source"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_pack_from_another_repository_by_tag_and_offline_from_the_cache() {
    let (packs_dir, v1, url) = pack_repo();
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let spec = format!("{url}@v1//packs/prod.yaml");
    let args = ["--policy", spec.as_str(), "--cache-dir", cache_dir];
    let report = check_report(SAMPLE, &args);
    let chain = packs(&report);
    // The tag's commit, not main's; base.yaml at the same commit.
    assert!(
        chain
            .iter()
            .any(|p| p.starts_with("acme-prod \"1.0.0\"") && p.contains(&v1[..12])),
        "{chain:?}"
    );
    assert!(
        chain
            .iter()
            .any(|p| p.starts_with("acme-base") && p.contains(&format!("@{v1}//packs/base.yaml"))),
        "{chain:?}"
    );
    assert!(findings(&report, "acme.ci").len() == 1);

    // The source is gone: --offline is served from the cache.
    drop(packs_dir);
    let mut offline = args.to_vec();
    offline.push("--offline");
    let report = check_report(SAMPLE, &offline);
    assert!(
        packs(&report)
            .iter()
            .any(|p| p.starts_with("acme-prod \"1.0.0\""))
    );

    // Without --offline the fetch fails and says so; nothing half-loaded.
    let out = run(&[&["check", SAMPLE][..], &args].concat());
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    assert!(stderr(&out).contains("cannot fetch"), "{}", stderr(&out));

    // An empty cache and --offline: a clear refusal.
    let empty = tempfile::tempdir().unwrap();
    let out = run(&[
        "check",
        SAMPLE,
        "--policy",
        &spec,
        "--cache-dir",
        empty.path().to_str().unwrap(),
        "--offline",
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("not in the cache and --offline forbids fetching it"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_commit_pin_a_missing_ref_and_a_missing_file() {
    let (_packs, v1, url) = pack_repo();
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let pinned = format!("{url}@{v1}//packs/prod.yaml");
    let report = check_report(SAMPLE, &["--policy", &pinned, "--cache-dir", cache_dir]);
    assert!(
        packs(&report)
            .iter()
            .any(|p| p.starts_with("acme-prod \"1.0.0\""))
    );
    for (spec, says) in [
        (format!("{url}@v9//packs/prod.yaml"), "cannot fetch"),
        (
            format!("{url}@v1//packs/nope.yaml"),
            "no file packs/nope.yaml at commit",
        ),
        (
            format!("{url}@--upload-pack=touch//p.yaml"),
            "the ref must be a tag, branch or commit name",
        ),
    ] {
        let out = run(&["check", SAMPLE, "--policy", &spec, "--cache-dir", cache_dir]);
        assert_eq!(code(&out), 2, "{spec}");
        assert!(stderr(&out).contains(says), "{spec}: {}", stderr(&out));
    }
}

#[test]
fn a_repository_policy_names_remote_packs_only_pinned_and_never_by_path() {
    let (_packs, _v1, url) = pack_repo();
    let cache = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    copy_dir(Path::new(SAMPLE), repo.path());
    let root = repo.path().to_str().unwrap();
    let policy = |extends: &str| {
        write(
            repo.path(),
            ".readygate/policy.yaml",
            &format!("name: checkout\nextends: [\"{extends}\"]\n"),
        )
    };
    policy(&format!("{url}@v1//packs/prod.yaml"));
    let out = run(&["check", root, "--cache-dir", cache.path().to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("may not name git+file"),
        "{}",
        stderr(&out)
    );
    // An unpinned https pack: refused before any network is touched.
    policy("git+https://github.com/acme/policies@v1//packs/prod.yaml");
    let out = run(&["check", root, "--cache-dir", cache.path().to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("is not pinned"), "{err}");
    assert!(err.contains("readygate policy update"), "{err}");
    assert!(
        err.contains(".readygate/policy.yaml:2"),
        "names the extends entry: {err}"
    );
}

#[test]
fn a_lock_holds_across_three_levels_and_two_remote_sources() {
    // Org (locks acme.ci) in one repository, a division pack extending it
    // from another, and a team's local pack trying to waive the rule.
    let (org, _, org_url) = pack_repo();
    let division = tempfile::tempdir().unwrap();
    let d = division.path();
    git(d, &["init", "-q", "-b", "main"]);
    write(
        d,
        "division.yaml",
        &format!("name: division\nextends: [\"{org_url}@v1//packs/prod.yaml\"]\n"),
    );
    git(d, &["add", "."]);
    git(d, &["commit", "-qm", "division"]);
    let division_url = format!("git+file://{}", d.display());
    let team = tempfile::tempdir().unwrap();
    write(
        team.path(),
        "team.yaml",
        &format!(
            "name: team\nextends: [\"{division_url}@main//division.yaml\"]\nwaivers:\n  - rule: acme.ci\n    reason: later\n    owner: '@team'\n    expires: '2099-01-01'\n"
        ),
    );
    let cache = tempfile::tempdir().unwrap();
    let out = run(&[
        "policy",
        "lint",
        team.path().join("team.yaml").to_str().unwrap(),
        "--cache-dir",
        cache.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("team.yaml:4:5"), "{err}");
    assert!(err.contains("is locked by git+file://"), "{err}");
    assert!(
        err.contains("packs/base.yaml"),
        "names the locking pack's source: {err}"
    );
    drop(org);
}

#[test]
fn a_schema_error_in_a_fetched_pack_names_the_pack_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    write(
        repo,
        "bad.yaml",
        "name: bad\nrules:\n  - id: x.y\n    colour: red\n",
    );
    git(repo, &["add", "."]);
    git(repo, &["commit", "-qm", "bad"]);
    let spec = format!("git+file://{}@main//bad.yaml", repo.display());
    let cache = tempfile::tempdir().unwrap();
    let out = run(&[
        "policy",
        "lint",
        &spec,
        "--cache-dir",
        cache.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("//bad.yaml"), "{err}");
    assert!(
        err.contains(":3:") || err.contains(":4:"),
        "a line in the fetched file: {err}"
    );
}
