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
