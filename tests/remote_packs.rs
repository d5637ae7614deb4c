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

// ------------------------------------------------------- https and GitHub --

use std::sync::{Arc, Mutex};

/// A TLS server config for `127.0.0.1` signed by a CA made here, and the
/// CA's PEM written into `dir`.
fn test_tls(dir: &Path) -> (Arc<rustls::ServerConfig>, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "readygate pack test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let pem = dir.join("ca.pem");
    std::fs::write(&pem, ca.pem()).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (Arc::new(config), pem.to_str().unwrap().to_string())
}

fn sha256_hex(text: &str) -> String {
    readygate::policy::remote::sha256(text.as_bytes())
}

const BASE_PACK: &str = "name: acme-base\nversion: 3.1.0\nextends: [builtin:baseline]\nrules:\n  - id: acme.ci\n    title: CI is mandatory at Acme\n    area: ci\n    level: bronze\n    check: ci-present\n    locked: true\n    why: Every deploy goes through CI.\n    remediation: Add a workflow.\n";

/// A pack server on loopback over TLS: `/packs/base.yaml`, and
/// `/packs/prod.yaml` extending it by relative URL with its digest; what
/// `/packs/prod.yaml` serves can be changed; `/slow.yaml` never answers.
fn pack_server(dir: &Path) -> (Server, String, Arc<Mutex<String>>) {
    let (config, ca) = test_tls(dir);
    let prod = Arc::new(Mutex::new(format!(
        "name: acme-prod\nversion: 3.1.0\nextends:\n  - source: base.yaml\n    sha256: {}\n",
        sha256_hex(BASE_PACK)
    )));
    let served = prod.clone();
    let server = Server::start_tls(config, move |req| match req.path.as_str() {
        "/packs/base.yaml" => Response::new(200, BASE_PACK),
        "/packs/prod.yaml" => Response::new(200, served.lock().unwrap().clone()),
        "/slow.yaml" => Response::stall(),
        // Off https: refused even though the target is the same server.
        "/to-http" => Response::new(302, "").header("Location", "http://127.0.0.1:9/p.yaml"),
        _ => Response::new(404, "not found"),
    });
    (server, ca, prod)
}

#[test]
fn https_packs_are_pinned_by_digest_fetched_once_and_refused_when_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, ca, prod) = pack_server(tmp.path());
    let url = format!("https://127.0.0.1:{}/packs/prod.yaml", server.port);
    let digest = sha256_hex(&prod.lock().unwrap());
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let fetch = [
        "--cache-dir",
        cache_dir,
        "--pack-allow-private",
        "--pack-ca-file",
        &ca,
    ];
    let check = |policy: &str, extra: &[&str]| {
        let args = [
            &["check", SAMPLE, "--format", "json", "--policy", policy][..],
            &fetch,
            extra,
        ]
        .concat();
        run(&args)
    };

    // Pinned: loaded with the relative, pinned base beside it.
    let pinned = format!("{url}#sha256={digest}");
    let out = check(&pinned, &[]);
    assert_ne!(code(&out), 2, "{}", stderr(&out));
    let report = json(&out);
    let chain = packs(&report);
    assert!(
        chain.iter().any(|p| p.starts_with("acme-prod \"3.1.0\"")
            && p.contains(&format!("(sha256:{})", &digest[..12]))),
        "{chain:?}"
    );
    assert!(
        chain.iter().any(|p| p.contains("/packs/base.yaml")),
        "{chain:?}"
    );
    assert_eq!(findings(&report, "acme.ci").len(), 1);
    let fetched = server.requests().len();
    // Pinned and cached: not fetched again, even online.
    assert_ne!(code(&check(&pinned, &[])), 2);
    assert_eq!(server.requests().len(), fetched, "served from the cache");

    // A digest that does not match: exit 2 naming both digests.
    let wrong = "0".repeat(64);
    let out = check(&format!("{url}#sha256={wrong}"), &[]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains(&digest) && err.contains(&wrong), "{err}");

    // Unpinned: refused unless the workflow allows it.
    let out = check(&url, &[]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("is not pinned"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--allow-unpinned"),
        "{}",
        stderr(&out)
    );
    let out = check(&url, &["--allow-unpinned"]);
    assert_ne!(code(&out), 2, "{}", stderr(&out));

    // 404, and a server that never answers, within the fetch timeout.
    let missing = format!("https://127.0.0.1:{}/nope.yaml", server.port);
    let out = check(&missing, &["--allow-unpinned"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("answered 404"), "{}", stderr(&out));
    let out = check(
        &format!("https://127.0.0.1:{}/to-http", server.port),
        &["--allow-unpinned"],
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("cannot fetch"), "{}", stderr(&out));
    let slow = format!("https://127.0.0.1:{}/slow.yaml", server.port);
    let started = std::time::Instant::now();
    let out = check(&slow, &["--allow-unpinned", "--pack-timeout", "1"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));

    // The address guard holds without --pack-allow-private; a certificate
    // from an unknown CA is refused.
    let out = run(&[
        "check",
        SAMPLE,
        "--policy",
        &pinned,
        "--cache-dir",
        tempfile::tempdir().unwrap().path().to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("127.0.0.1"), "{}", stderr(&out));
    let fresh = tempfile::tempdir().unwrap();
    let out = run(&[
        "check",
        SAMPLE,
        "--policy",
        &pinned,
        "--cache-dir",
        fresh.path().to_str().unwrap(),
        "--pack-allow-private",
    ]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("cannot fetch"), "{}", stderr(&out));

    // The server is gone: --offline serves the pinned pack from the cache.
    drop(server);
    let out = check(&pinned, &["--offline"]);
    assert_ne!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn a_repository_locks_an_https_pack_and_a_changed_pack_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, ca, prod) = pack_server(tmp.path());
    let url = format!("https://127.0.0.1:{}/packs/prod.yaml", server.port);
    let repo = tempfile::tempdir().unwrap();
    copy_dir(Path::new(SAMPLE), repo.path());
    let root = repo.path().to_str().unwrap();
    write(
        repo.path(),
        ".readygate/policy.yaml",
        &format!("name: checkout\nextends: [\"{url}\"]\n"),
    );
    let cache = tempfile::tempdir().unwrap();
    let fetch = [
        "--cache-dir",
        cache.path().to_str().unwrap(),
        "--pack-allow-private",
        "--pack-ca-file",
        &ca,
    ];
    // Unpinned and unlocked: refused.
    let out = run(&[&["check", root][..], &fetch].concat());
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("is not pinned"), "{}", stderr(&out));
    // `policy update` records its digest (an https pack has no commit).
    let out = run(&[&["policy", "update", root][..], &fetch].concat());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lock = std::fs::read_to_string(repo.path().join(".readygate/readygate.lock")).unwrap();
    let digest = sha256_hex(&prod.lock().unwrap());
    assert!(lock.contains(&digest), "{lock}");
    assert!(lock.contains(&format!("source: \"{url}\"")), "{lock}");
    assert_eq!(lock.matches("commit:").count(), 0, "{lock}");
    // Locked: checked without --allow-unpinned.
    let out = run(&[&["check", root, "--format", "json"][..], &fetch].concat());
    assert_ne!(code(&out), 2, "{}", stderr(&out));
    // The server now serves something else: refused with both digests.
    // A fresh cache, so the new text is really fetched.
    *prod.lock().unwrap() = "name: acme-prod\nversion: 3.2.0\nextends: [builtin:baseline]\n".into();
    let cache = tempfile::tempdir().unwrap();
    let out = run(&[
        &["check", root, "--cache-dir", cache.path().to_str().unwrap()][..],
        &fetch[2..],
    ]
    .concat());
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    let now = sha256_hex(&prod.lock().unwrap());
    assert!(err.contains(&digest) && err.contains(&now), "{err}");
    assert!(err.contains("readygate.lock"), "{err}");
}

/// A fake GitHub: `acme/policies` with tag `v1`; the pack is private, so
/// the contents API wants the token.
fn fake_github() -> (Server, String) {
    let commit = "1f".repeat(20);
    let c = commit.clone();
    let server = Server::start(move |req| {
        let authorized = req.header("authorization") == Some("Bearer ghs_secret_token");
        let raw = req.header("accept") == Some("application/vnd.github.raw+json");
        let sha = req.header("accept") == Some("application/vnd.github.sha");
        let contents = |path: &str| format!("/repos/acme/policies/contents/{path}?ref={c}");
        match req.path.as_str() {
            "/repos/acme/policies/commits/v1" if authorized && sha => Response::new(200, c.clone()),
            p if !authorized => Response::new(404, format!("{{\"message\": \"Not Found {p}\"}}")),
            p if p == contents("packs/prod.yaml") && raw => Response::new(
                200,
                "name: acme-prod\nversion: 4.0.0\nextends: [base.yaml]\n",
            ),
            p if p == contents("packs/base.yaml") && raw => Response::new(200, BASE_PACK),
            // An answer without end would be read into memory whole.
            "/repos/acme/huge/commits/v1" => Response::new(200, "f".repeat(1 << 20)),
            _ => Response::new(404, "{\"message\": \"Not Found\"}"),
        }
    });
    (server, commit)
}

#[test]
fn github_packs_are_read_through_the_api_with_the_token() {
    let (server, commit) = fake_github();
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let api = server.url("");
    let gh = |spec: &str, token: &str, extra: &[&str]| {
        readygate()
            .args([
                "check",
                SAMPLE,
                "--format",
                "json",
                "--policy",
                spec,
                "--cache-dir",
                cache_dir,
            ])
            .args(extra)
            .env("GITHUB_API_URL", &api)
            .env("GITHUB_TOKEN", token)
            .output()
            .unwrap()
    };
    let spec = "github:acme/policies@v1//packs/prod.yaml";
    let out = gh(spec, "ghs_secret_token", &[]);
    assert_ne!(code(&out), 2, "{}", stderr(&out));
    let report = json(&out);
    let chain = packs(&report);
    assert!(
        chain
            .iter()
            .any(|p| p.starts_with("acme-prod \"4.0.0\"") && p.contains(&commit[..12])),
        "{chain:?}"
    );
    // The relative extends is read at the resolved commit.
    assert!(
        chain
            .iter()
            .any(|p| p.contains(&format!("github:acme/policies@{commit}//packs/base.yaml"))),
        "{chain:?}"
    );
    assert_eq!(findings(&report, "acme.ci").len(), 1);
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(requests.iter().all(|r| r.method == "GET"));
    // The token never appears in what readygate prints.
    assert!(!stdout(&out).contains("ghs_secret") && !stderr(&out).contains("ghs_secret"));

    // A wrong token: GitHub hides private repositories behind a 404; the
    // hint says what the token needs.
    let other = tempfile::tempdir().unwrap();
    let out = readygate()
        .args([
            "check",
            SAMPLE,
            "--policy",
            spec,
            "--cache-dir",
            other.path().to_str().unwrap(),
        ])
        .env("GITHUB_API_URL", &api)
        .env("GITHUB_TOKEN", "wrong")
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("404") && err.contains("contents: read"),
        "{err}"
    );
    assert!(!err.contains("wrong"), "{err}");

    // An answer far longer than a SHA: refused, not read whole.
    let out = gh("github:acme/huge@v1//p.yaml", "ghs_secret_token", &[]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("over 256 bytes"), "{}", stderr(&out));

    // A missing file, and --offline from the cache once GitHub is gone.
    let out = gh(
        "github:acme/policies@v1//packs/nope.yaml",
        "ghs_secret_token",
        &[],
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("GitHub refused the file"),
        "{}",
        stderr(&out)
    );
    drop(server);
    let out = gh(spec, "", &["--offline"]);
    assert_ne!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn a_lock_file_that_is_a_symlink_or_leads_out_is_refused_and_never_quoted() {
    let repo = tempfile::tempdir().unwrap();
    copy_dir(Path::new(SAMPLE), repo.path());
    let root = repo.path().to_str().unwrap();
    write(
        repo.path(),
        ".readygate/policy.yaml",
        "name: checkout\nextends: [\"github:acme/policies@main//p.yaml\"]\n",
    );
    let secret = tempfile::tempdir().unwrap();
    write(secret.path(), "env", "GITHUB_TOKEN=ghs_FILESECRET\n");
    let lock = repo.path().join(".readygate/readygate.lock");
    std::os::unix::fs::symlink(secret.path().join("env"), &lock).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out = run(&["check", root, "--cache-dir", cache.path().to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("is a symlink"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("FILESECRET"), "{}", stderr(&out));
    // A regular lock with content that is not a lock: not quoted either.
    std::fs::remove_file(&lock).unwrap();
    std::fs::write(&lock, "GITHUB_TOKEN=ghs_FILESECRET\n").unwrap();
    let out = run(&["check", root, "--cache-dir", cache.path().to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(!stderr(&out).contains("FILESECRET"), "{}", stderr(&out));
}

/// Runs sharing a cache (a self-hosted runner) take turns in a pack
/// repository: one run fetching a pinned old commit while another resolves
/// `main` must not hand the second the first's commit (FETCH_HEAD is the
/// repository's, not the run's), nor make either fail.
#[test]
fn runs_sharing_a_cache_never_take_each_others_commit() {
    let (packs_dir, v1, url) = pack_repo();
    let main = git(packs_dir.path(), &["rev-parse", "main"]);
    let main = format!("({})", &main.trim()[..12]);
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap().to_string();
    let show = |spec: String| {
        readygate()
            .args(["policy", "show", &spec, "--cache-dir", &cache_dir])
            .output()
            .unwrap()
    };
    std::thread::scope(|scope| {
        let pinned = scope.spawn(|| {
            for _ in 0..15 {
                let out = show(format!("{url}@{v1}//packs/prod.yaml"));
                assert_eq!(code(&out), 0, "{}", stderr(&out));
                assert!(!stdout(&out).contains(&main), "{}", stdout(&out));
            }
        });
        for _ in 0..15 {
            let out = show(format!("{url}@main//packs/prod.yaml"));
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            assert!(stdout(&out).contains(&main), "{}", stdout(&out));
        }
        pinned.join().unwrap();
    });
}
