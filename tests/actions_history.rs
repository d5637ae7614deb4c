//! Test history from GitHub Actions artifacts, against a local server that
//! speaks the REST endpoints (list runs, list a run's artifacts, download an
//! artifact: a 302 to storage, then the zip) and records every request: a
//! 429 with Retry-After is waited out, a 403 on one download is a note and
//! the rest goes on, and a second call downloads nothing new.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::{Value, json};

const TOKEN: &str = "ghs_actions_history_token_do_not_print";
const API: &str = "/api/v3";
const REPO: &str = "/repos/octo-org/shop";

/// A zip holding `files` (name, text), as upload-artifact makes it.
fn zip(files: &[(&str, String)]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in files {
        out.start_file(*name, options).unwrap();
        out.write_all(text.as_bytes()).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn report(cases: &[(&str, bool)]) -> String {
    let cases: String = cases
        .iter()
        .map(|(name, passed)| {
            if *passed {
                format!("<testcase classname=\"shop.Cart\" name=\"{name}\" time=\"0.2\"/>")
            } else {
                format!("<testcase classname=\"shop.Cart\" name=\"{name}\" time=\"0.2\"><failure message=\"boom\"/></testcase>")
            }
        })
        .collect();
    format!("<testsuite name=\"shop.Cart\" time=\"1\">{cases}</testsuite>")
}

/// A workflow run as GitHub lists it (the fields the gate reads, and some
/// it does not).
fn workflow_run(id: u64, sha: &str, attempt: u64, day: u32) -> Value {
    json!({
        "id": id,
        "name": "CI",
        "head_branch": "main",
        "head_sha": sha,
        "run_number": id - 100,
        "run_attempt": attempt,
        "event": "push",
        "status": "completed",
        "conclusion": "success",
        "created_at": format!("2026-11-{day:02}T09:00:00Z"),
        "run_started_at": format!("2026-11-{day:02}T09:00:05Z"),
        "html_url": format!("https://github.com/octo-org/shop/actions/runs/{id}"),
    })
}

fn artifact(id: u64, name: &str, run: u64, size: usize) -> Value {
    json!({
        "id": id,
        "name": name,
        "size_in_bytes": size,
        "archive_download_url": format!("https://api.github.com{REPO}/actions/artifacts/{id}/zip"),
        "expired": false,
        "workflow_run": {"id": run, "head_branch": "main"},
    })
}

struct Fake {
    /// run id → its artifacts (id, name, zip).
    artifacts: BTreeMap<u64, Vec<(u64, String, Vec<u8>)>>,
    runs: Vec<Value>,
    /// Artifact downloads answered 403.
    refused: Vec<u64>,
    /// Answer the next download with a 429 first.
    limited_once: bool,
}

fn server(fake: Arc<Mutex<Fake>>) -> Server {
    Server::start(move |req| {
        let mut fake = fake.lock().unwrap();
        let path = req.path.split('?').next().unwrap().to_string();
        if let Some(id) = path.strip_prefix("/storage/") {
            // Storage: no token may arrive here from another host; this
            // test's storage is the same host, so the check is only that
            // the path is served.
            let id: u64 = id.parse().unwrap();
            let zip = fake
                .artifacts
                .values()
                .flatten()
                .find(|(a, _, _)| *a == id)
                .map(|(_, _, z)| z.clone())
                .unwrap();
            return Response::bytes(200, zip).header("Content-Type", "application/zip");
        }
        if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            return Response::new(401, r#"{"message":"Bad credentials"}"#);
        }
        let Some(rest) = path.strip_prefix(&format!("{API}{REPO}/actions/")) else {
            return Response::new(404, r#"{"message":"Not Found"}"#);
        };
        if rest == "runs" {
            assert!(req.path.contains("branch=main"), "{}", req.path);
            assert!(req.path.contains("status=completed"), "{}", req.path);
            return Response::new(
                200,
                json!({"total_count": fake.runs.len(), "workflow_runs": fake.runs}).to_string(),
            );
        }
        if let Some(run) = rest
            .strip_prefix("runs/")
            .and_then(|r| r.strip_suffix("/artifacts"))
        {
            let run: u64 = run.parse().unwrap();
            let list: Vec<Value> = fake
                .artifacts
                .get(&run)
                .into_iter()
                .flatten()
                .map(|(id, name, zip)| artifact(*id, name, run, zip.len()))
                .collect();
            return Response::new(
                200,
                json!({"total_count": list.len(), "artifacts": list}).to_string(),
            );
        }
        if let Some(id) = rest
            .strip_prefix("artifacts/")
            .and_then(|r| r.strip_suffix("/zip"))
        {
            let id: u64 = id.parse().unwrap();
            if fake.limited_once {
                fake.limited_once = false;
                return Response::new(429, r#"{"message":"API rate limit exceeded"}"#)
                    .header("Retry-After", "1");
            }
            if fake.refused.contains(&id) {
                return Response::new(
                    403,
                    r#"{"message":"Resource not accessible by integration"}"#,
                );
            }
            return Response::new(302, "").header("Location", &format!("/storage/{id}"));
        }
        Response::new(404, r#"{"message":"Not Found"}"#)
    })
}

fn runner_env(api: &str, cache: &Path) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_EVENT_NAME", "push".into()),
        (
            "GITHUB_EVENT_PATH",
            format!(
                "{}/tests/fixtures/github-events/push.json",
                env!("CARGO_MANIFEST_DIR")
            ),
        ),
        ("GITHUB_REPOSITORY", "octo-org/shop".into()),
        ("GITHUB_REF_NAME", "main".into()),
        ("GITHUB_API_URL", api.into()),
        ("GITHUB_TOKEN", TOKEN.into()),
        ("XDG_CACHE_HOME", cache.display().to_string()),
    ])
}

/// Four runs of main: `checkout` fails in one run of a commit and passes
/// in another run of the same commit (a flake); the newest run's artifact
/// download is refused (403); one download is rate limited first (429,
/// Retry-After); coverage artifacts and non-XML files are left alone.
#[test]
fn artifacts_of_past_runs_become_the_test_history() {
    let mut artifacts = BTreeMap::new();
    let mut add = |run: u64, id: u64, cases: &[(&str, bool)]| {
        artifacts.insert(
            run,
            vec![
                (
                    id,
                    "test-results-linux".to_string(),
                    zip(&[
                        ("TEST-shop.Cart.xml", report(cases)),
                        ("notes.txt", "not a report".into()),
                    ]),
                ),
                (
                    id + 1,
                    "coverage".to_string(),
                    zip(&[("cov.xml", "<coverage/>".into())]),
                ),
            ],
        );
    };
    add(101, 1010, &[("checkout", false), ("total", true)]);
    add(102, 1020, &[("checkout", true), ("total", true)]);
    add(103, 1030, &[("checkout", true), ("total", true)]);
    add(104, 1040, &[("checkout", true), ("total", true)]);
    let fake = Arc::new(Mutex::new(Fake {
        artifacts,
        // Newest first, as GitHub lists them; 101 and 102 ran the same
        // commit (a workflow started again by hand).
        runs: vec![
            workflow_run(104, "c3", 1, 4),
            workflow_run(103, "c2", 2, 3),
            workflow_run(102, "c1", 1, 2),
            workflow_run(101, "c1", 1, 1),
        ],
        refused: vec![1040],
        limited_once: true,
    }));
    let server = server(fake.clone());
    let repo = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    write(
        repo.path(),
        "readygate.yaml",
        "service: shop\nowners: ['@o/t']\n",
    );
    let env = runner_env(&server.url(API), cache.path());
    let gate = || {
        let out = readygate()
            .args([
                "check",
                repo.path().to_str().unwrap(),
                "--github",
                "--policy-from-worktree",
                "--format",
                "json",
                "--actions-history",
                "test-results-*",
            ])
            .envs(&env)
            .output()
            .unwrap();
        for text in [stdout(&out), stderr(&out)] {
            assert!(!text.contains(TOKEN), "the token leaked: {text}");
        }
        out
    };
    let out = gate();
    let log = stderr(&out);
    assert!(
        log.contains("test history: 4 runs of octo-org/shop (3 downloaded, 0 from the cache)"),
        "{log}"
    );
    assert!(
        log.contains("run 104: artifact `test-results-linux` not downloaded: refused (the token needs `actions: read`)"),
        "{log}"
    );
    let report = json(&out);
    let rate: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "tests.flaky")
        .collect();
    assert_eq!(rate.len(), 1, "{rate:?}");
    assert_eq!(rate[0]["target"], "shop.Cart::checkout");
    assert!(
        rate[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("`shop.Cart::checkout` flaked in 1 of 3 runs"),
        "{}",
        rate[0]["message"]
    );
    // Only matching artifacts were downloaded; the 429 was waited out.
    let downloads: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .filter(|p| p.ends_with("/zip"))
        .collect();
    assert_eq!(downloads.len(), 5, "{downloads:?}");
    assert!(
        downloads
            .iter()
            .all(|p| !p.contains("/1011/") && !p.contains("/1021/"))
    );
    assert_eq!(
        server.hits("/storage/1010") + server.hits("/storage/1020"),
        2
    );

    // Again: every run comes from the cache (a refused artifact is a note,
    // not worth asking again); only the run list is fetched.
    let before = server.requests().len();
    let out = gate();
    assert!(
        stderr(&out).contains("(0 downloaded, 4 from the cache)"),
        "{}",
        stderr(&out)
    );
    // (Publishing the check run is not under test here.)
    let again: Vec<String> = server.requests()[before..]
        .iter()
        .map(|r| r.path.clone())
        .filter(|p| p.contains("/actions/") || p.starts_with("/storage/"))
        .collect();
    assert_eq!(again.len(), 1, "only the run list: {again:?}");
}

#[test]
fn actions_history_needs_the_runner_and_a_token() {
    let repo = tempfile::tempdir().unwrap();
    write(
        repo.path(),
        "readygate.yaml",
        "service: shop\nowners: ['@o/t']\n",
    );
    let out = run(&[
        "check",
        repo.path().to_str().unwrap(),
        "--actions-history",
        "test-results-*",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--github"), "{}", stderr(&out));
}
