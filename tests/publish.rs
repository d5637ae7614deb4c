//! Publishing through the GitHub API, against a local server that speaks the
//! REST endpoints the gate uses (answers shaped like GitHub's examples) and
//! records every request: the exact sequence, batching at 50, the sticky
//! comment updated in place, read-only tokens, retries, 422s, GHES paths,
//! and a token that never appears in output. Request bodies are validated
//! against GitHub's own request schemas.

mod common;

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::{Value, json};

const TOKEN: &str = "ghs_test_token_do_not_print_123";
const REPO: &str = "/repos/Codertocat/Hello-World";

/// (method, path prefix, status, extra header): served once, in order.
type Injected = (
    &'static str,
    String,
    u16,
    Option<(&'static str, &'static str)>,
);

/// A fake GitHub: comments it holds, and failures to inject, in order.
#[derive(Default)]
struct FakeGitHub {
    comments: Vec<(u64, String)>,
    failures: VecDeque<Injected>,
    /// The pull request's files, served 100 per page like GitHub.
    files: Vec<Value>,
    /// Check runs created, as GitHub lists them for the commit.
    check_runs: Vec<Value>,
    /// Requests (method, path) to carry out but answer with a 502, as when
    /// a proxy loses GitHub's answer.
    lost_answers: VecDeque<(&'static str, String)>,
}

/// One entry of `GET /pulls/{n}/files`, shaped like GitHub's example.
fn pr_file(name: &str, status: &str, patch: Option<&str>) -> Value {
    let sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
    let mut file = json!({
        "sha": "bbcd538c8e72b8c175046e27cc8f907076331401",
        "filename": name,
        "status": status,
        "additions": 1,
        "deletions": 0,
        "changes": 1,
        "blob_url": format!("https://github.com/Codertocat/Hello-World/blob/{sha}/{name}"),
        "raw_url": format!("https://github.com/Codertocat/Hello-World/raw/{sha}/{name}"),
        "contents_url": format!("https://api.github.com/repos/Codertocat/Hello-World/contents/{name}?ref={sha}"),
    });
    if let Some(patch) = patch {
        file["patch"] = json!(patch);
    }
    file
}

/// `page` and `per_page` from a request's query.
fn page_of(path: &str) -> (usize, usize) {
    let query = path.split_once('?').map(|(_, q)| q).unwrap_or("");
    let param = |name: &str, default: usize| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    (param("page", 1), param("per_page", 30))
}

fn github(prefix: &'static str, state: Arc<Mutex<FakeGitHub>>) -> Server {
    Server::start(move |req| {
        let mut gh = state.lock().unwrap();
        let response = respond(&mut gh, prefix, req);
        let path = req.path.split('?').next().unwrap();
        if let Some(i) = gh
            .lost_answers
            .iter()
            .position(|(m, p)| *m == req.method && path == format!("{prefix}{p}"))
        {
            gh.lost_answers.remove(i);
            return Response::new(502, "<html>502 Bad Gateway</html>");
        }
        response
    })
}

fn respond(gh: &mut FakeGitHub, prefix: &str, req: &Request) -> Response {
    {
        let path = req.path.split('?').next().unwrap().to_string();
        let Some(path) = path.strip_prefix(prefix).map(str::to_string) else {
            return Response::new(404, r#"{"message":"Not Found"}"#);
        };
        if let Some(i) = gh
            .failures
            .iter()
            .position(|(m, p, _, _)| *m == req.method && path.starts_with(p.as_str()))
        {
            let (_, _, status, header) = gh.failures.remove(i).unwrap();
            let mut r = Response::new(
                status,
                json!({"message": format!("injected {status}")}).to_string(),
            );
            if let Some((k, v)) = header {
                r = r.header(k, v);
            }
            return r;
        }
        let ok = |status, body: Value| {
            Response::new(status, body.to_string()).header("Content-Type", "application/json")
        };
        match (req.method.as_str(), path.as_str()) {
            ("GET", p) if p == format!("{REPO}/pulls/2/files") => {
                let (page, per_page) = page_of(&req.path);
                let files: Vec<Value> = gh.files.iter().skip((page - 1) * per_page).take(per_page).cloned().collect();
                ok(200, Value::Array(files))
            }
            ("POST", p) if p == format!("{REPO}/check-runs") => {
                let mut run = req.json();
                run["id"] = json!(4 + gh.check_runs.len() as u64);
                gh.check_runs.push(run.clone());
                ok(201, run)
            }
            ("GET", p) if p.starts_with(&format!("{REPO}/commits/")) && p.ends_with("/check-runs") => ok(
                200,
                json!({"total_count": gh.check_runs.len(), "check_runs": gh.check_runs}),
            ),
            ("PATCH", p) if p.starts_with(&format!("{REPO}/check-runs/")) => {
                let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
                ok(200, json!({"id": id}))
            }
            ("GET", p) if p == format!("{REPO}/issues/2/comments") => ok(
                200,
                Value::Array(gh.comments.iter().map(|(id, body)| json!({"id": id, "body": body, "user": {"login": "github-actions[bot]"}})).collect()),
            ),
            ("POST", p) if p == format!("{REPO}/issues/2/comments") => {
                let id = 1000 + gh.comments.len() as u64;
                gh.comments.push((id, req.json()["body"].as_str().unwrap_or_default().to_string()));
                ok(201, json!({"id": id}))
            }
            ("PATCH", p) if p.starts_with(&format!("{REPO}/issues/comments/")) => {
                let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
                let body = req.json()["body"].as_str().unwrap_or_default().to_string();
                match gh.comments.iter_mut().find(|(i, _)| *i == id) {
                    Some(c) => {
                        c.1 = body;
                        ok(200, json!({"id": id}))
                    }
                    None => Response::new(404, r#"{"message":"Not Found"}"#),
                }
            }
            _ => Response::new(404, r#"{"message":"Not Found"}"#),
        }
    }
}

fn run_env(temp: &Path, api: &str) -> BTreeMap<&'static str, String> {
    let root = env!("CARGO_MANIFEST_DIR");
    BTreeMap::from([
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_EVENT_NAME", "pull_request".into()),
        (
            "GITHUB_EVENT_PATH",
            format!("{root}/tests/fixtures/github-events/pull_request.opened.json"),
        ),
        ("GITHUB_REPOSITORY", "Codertocat/Hello-World".into()),
        ("GITHUB_API_URL", api.into()),
        ("GITHUB_TOKEN", TOKEN.into()),
        (
            "GITHUB_STEP_SUMMARY",
            temp.join("summary").display().to_string(),
        ),
        ("GITHUB_OUTPUT", temp.join("output").display().to_string()),
    ])
}

fn gate(dir: &str, env: &BTreeMap<&'static str, String>, extra: &[&str]) -> std::process::Output {
    // Publishing, not the policy's source, is under test here.
    let mut args = vec!["check", dir, "--github", "--policy-from-worktree"];
    args.extend_from_slice(extra);
    let out = readygate().args(&args).envs(env).output().unwrap();
    for text in [stdout(&out), stderr(&out)] {
        assert!(!text.contains(TOKEN), "the token leaked: {text}");
    }
    out
}

/// (method, path without query) of every request.
fn sequence(server: &Server) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path.split('?').next().unwrap()))
        .collect()
}

/// Every write validates against GitHub's request schema for its operation.
fn assert_valid_requests(server: &Server, prefix: &str) {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string("tests/fixtures/github-api/openapi-subset.json").unwrap(),
    )
    .unwrap();
    for req in server.requests().iter().filter(|r| r.method != "GET") {
        assert_eq!(
            req.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        let path = req.path.strip_prefix(prefix).unwrap();
        let op = if path.contains("/check-runs/") {
            "checks/update"
        } else if path.ends_with("/check-runs") {
            "checks/create"
        } else if path.contains("/issues/comments/") {
            "issues/update-comment"
        } else {
            "issues/create-comment"
        };
        let validator = jsonschema::validator_for(&spec[op]["request_schema"]).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&req.json())
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{op}: {errors:?}");
    }
}

#[test]
fn a_pull_request_gets_a_check_run_and_one_sticky_comment() {
    let state = Arc::new(Mutex::new(FakeGitHub::default()));
    let server = github("", state.clone());
    let temp = tempfile::tempdir().unwrap();
    let env = run_env(temp.path(), &server.url(""));
    let out = gate(SAMPLE, &env, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        sequence(&server),
        [
            format!("POST {REPO}/check-runs"),
            format!("PATCH {REPO}/check-runs/4"),
            format!("GET {REPO}/issues/2/comments"),
            format!("POST {REPO}/issues/2/comments"),
        ]
    );
    let complete = server.requests()[1].json();
    assert_eq!(complete["conclusion"], "neutral");
    // Two findings have a line; the missing SLO is repository-wide (summary only).
    assert_eq!(
        complete["output"]["annotations"].as_array().unwrap().len(),
        2
    );
    assert!(
        complete["output"]["summary"]
            .as_str()
            .unwrap()
            .contains("/blob/ec26c3e57ca3a959ca5aad62de7213c562f8c821/")
    );
    assert_valid_requests(&server, "");

    // The same run again edits the comment instead of adding one.
    let out = gate(SAMPLE, &env, &[]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        sequence(&server)[4..].last().unwrap(),
        &format!("PATCH {REPO}/issues/comments/1000")
    );
    assert!(
        !sequence(&server)[4..]
            .iter()
            .any(|r| r.starts_with("POST") && r.contains("comments"))
    );
    assert_eq!(state.lock().unwrap().comments.len(), 1);
}

#[test]
fn annotations_go_in_batches_of_fifty() {
    let state = Arc::new(Mutex::new(FakeGitHub::default()));
    let server = github("", state);
    let temp = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: g\n    rules:\n");
    for i in 0..120 {
        rules.push_str(&format!("      - alert: Paging{i}\n        expr: up == 0\n        labels: {{severity: critical}}\n        annotations: {{summary: s}}\n"));
    }
    write(temp.path(), "repo/alerts.rules.yml", &rules);
    let out = gate(
        temp.path().join("repo").to_str().unwrap(),
        &run_env(temp.path(), &server.url("")),
        &[],
    );
    assert_ne!(code(&out), 2, "{}", stderr(&out));
    let patches: Vec<Value> = server
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.contains("check-runs"))
        .map(|r| r.json())
        .collect();
    let sizes: Vec<usize> = patches
        .iter()
        .map(|p| p["output"]["annotations"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes[..2], [50, 50]);
    assert_eq!(sizes.len(), 3, "{sizes:?}");
    assert!(patches[..2].iter().all(|p| p["status"].is_null()));
    assert_eq!(patches[2]["status"], "completed");
    assert_valid_requests(&server, "");
}

#[test]
fn a_read_only_token_falls_back_to_the_log() {
    let state = Arc::new(Mutex::new(FakeGitHub::default()));
    {
        let mut gh = state.lock().unwrap();
        gh.failures
            .push_back(("POST", format!("{REPO}/check-runs"), 403, None));
        gh.failures
            .push_back(("POST", format!("{REPO}/issues/2/comments"), 403, None));
        gh.failures
            .push_back(("POST", format!("{REPO}/check-runs"), 403, None));
        gh.failures
            .push_back(("POST", format!("{REPO}/issues/2/comments"), 403, None));
    }
    let server = github("", state);
    let temp = tempfile::tempdir().unwrap();
    let env = run_env(temp.path(), &server.url(""));
    let out = gate(SAMPLE, &env, &[]);
    assert_eq!(
        code(&out),
        0,
        "publishing failures do not change the verdict"
    );
    let err = stderr(&out);
    assert!(
        err.contains("could not create the check run (403") && err.contains("read-only token"),
        "{err}"
    );
    assert!(
        err.contains("could not write the pull request comment (403"),
        "{err}"
    );
    // No retry of a refused write, and the annotations are still in the log.
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count(),
        2
    );
    assert!(stdout(&out).contains("::error file=infra/envs/prod/main.tf"));
    assert_eq!(code(&gate(SAMPLE, &env, &["--require-publish"])), 2);
}

#[test]
fn server_errors_are_retried_and_rejections_reported() {
    let state = Arc::new(Mutex::new(FakeGitHub::default()));
    {
        let mut gh = state.lock().unwrap();
        // A secondary rate limit refuses the POST: safe to send again.
        gh.failures.push_back((
            "POST",
            format!("{REPO}/check-runs"),
            429,
            Some(("Retry-After", "1")),
        ));
        gh.failures.push_back((
            "PATCH",
            format!("{REPO}/check-runs/4"),
            502,
            Some(("Retry-After", "1")),
        ));
        gh.failures
            .push_back(("GET", format!("{REPO}/issues/2/comments"), 500, None));
        gh.failures
            .push_back(("POST", format!("{REPO}/issues/2/comments"), 422, None));
    }
    let server = github("", state);
    let temp = tempfile::tempdir().unwrap();
    let out = gate(SAMPLE, &run_env(temp.path(), &server.url("")), &[]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        sequence(&server),
        [
            format!("POST {REPO}/check-runs"),
            format!("POST {REPO}/check-runs"),
            format!("PATCH {REPO}/check-runs/4"),
            format!("PATCH {REPO}/check-runs/4"),
            format!("GET {REPO}/issues/2/comments"),
            format!("GET {REPO}/issues/2/comments"),
            format!("POST {REPO}/issues/2/comments"),
        ]
    );
    let err = stderr(&out);
    assert!(err.contains("check run 4 completed"), "{err}");
    assert!(
        err.contains("(422: injected 422) — GitHub rejected the request as invalid"),
        "{err}"
    );
}

#[test]
fn enterprise_server_paths_and_an_all_clear_comment() {
    let state = Arc::new(Mutex::new(FakeGitHub::default()));
    state.lock().unwrap().comments.push((
        77,
        format!("{}\nold failures", "<!-- readygate:sticky-comment -->"),
    ));
    let server = github("/api/v3", state.clone());
    let temp = tempfile::tempdir().unwrap();
    write(
        temp.path(),
        "repo/.readygate/policy.yaml",
        "name: tiny\nlevels: [bronze]\nrules:\n  - id: x.ok\n    title: Always true\n    area: x\n    level: bronze\n    expr: \"true\"\n    why: a test\n    remediation: none\n",
    );
    let env = run_env(temp.path(), &server.url("/api/v3"));
    let out = gate(temp.path().join("repo").to_str().unwrap(), &env, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.path.starts_with("/api/v3/repos/"))
    );
    assert_eq!(server.requests()[1].json()["conclusion"], "success");
    let comments = state.lock().unwrap().comments.clone();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].1.contains("Everything passes now"),
        "{}",
        comments[0].1
    );
    assert_valid_requests(&server, "/api/v3");
}

#[test]
fn annotate_changed_uses_the_pull_request_files() {
    let state = Arc::new(Mutex::new(FakeGitHub::default()));
    {
        // 100 unrelated files, then the rules file the pull request edits
        // (line 29: the alert without a runbook), so the list takes 2 pages.
        let mut gh = state.lock().unwrap();
        for i in 0..100 {
            gh.files.push(pr_file(
                &format!("docs/page{i}.md"),
                "added",
                Some("@@ -0,0 +1 @@\n+x"),
            ));
        }
        gh.files.push(pr_file(
            "examples/sample-service/deploy/monitoring/checkout-api.rules.yml",
            "modified",
            Some("@@ -27,2 +27,4 @@ groups:\n       # Deliberate gap: a ticket-level alert with no runbook yet (warns).\n-      - alert: CheckoutApiQueue\n+      - alert: CheckoutApiQueueBacklog\n+        expr: sum(checkout_api_queue_depth) > 500\n+        for: 30m"),
        ));
        gh.files.push(pr_file(
            "examples/sample-service/old-logo.png",
            "removed",
            None,
        ));
    }
    let server = github("", state.clone());
    let temp = tempfile::tempdir().unwrap();
    let mut env = run_env(temp.path(), &server.url(""));
    // The service is a subdirectory of the checkout: paths become the
    // repository's.
    env.insert("GITHUB_WORKSPACE", env!("CARGO_MANIFEST_DIR").into());
    let out = gate(SAMPLE, &env, &["--annotate", "changed"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        sequence(&server)[..3],
        [
            format!("GET {REPO}/pulls/2/files"),
            format!("GET {REPO}/pulls/2/files"),
            format!("POST {REPO}/check-runs"),
        ]
    );
    let complete = server.requests()[3].json();
    let annotations = complete["output"]["annotations"].as_array().unwrap();
    assert_eq!(annotations.len(), 1, "{annotations:#?}");
    assert_eq!(
        annotations[0]["path"],
        "examples/sample-service/deploy/monitoring/checkout-api.rules.yml"
    );
    assert_eq!(annotations[0]["start_line"], 29);
    let summary = complete["output"]["summary"].as_str().unwrap();
    assert!(summary.contains("Annotated: 1 finding on lines changed in pull request \\#2 (1 file); 2 elsewhere only listed."), "{summary}");
    assert!(
        summary.contains(
            "<details><summary>2 more, not on lines changed in pull request \\#2</summary>"
        )
    );
    assert!(summary.contains("/blob/ec26c3e57ca3a959ca5aad62de7213c562f8c821/examples/sample-service/infra/envs/prod/main.tf"));
    let log = stdout(&out);
    let commands: Vec<&str> = log.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), 1, "{log}");
    assert!(commands[0].starts_with(
        "::warning file=examples/sample-service/deploy/monitoring/checkout-api.rules.yml,line=29,"
    ));
    assert_valid_requests(&server, "");

    // A token that cannot read the files: every finding is annotated, and
    // the log says why.
    state
        .lock()
        .unwrap()
        .failures
        .push_back(("GET", format!("{REPO}/pulls/2/files"), 403, None));
    let out = gate(SAMPLE, &env, &["--annotate", "changed"]);
    assert_eq!(code(&out), 0);
    assert!(
        stderr(&out).contains(
            "readygate: cannot read the files of #2 (403: injected 403); annotating every finding"
        ),
        "{}",
        stderr(&out)
    );
    // Both located findings and the repository-wide missing SLO.
    assert_eq!(
        stdout(&out).lines().filter(|l| l.starts_with("::")).count(),
        3
    );
}

#[test]
fn a_lost_answer_to_a_post_never_makes_a_duplicate() {
    let state = Arc::new(Mutex::new(FakeGitHub::default()));
    {
        let mut gh = state.lock().unwrap();
        // GitHub creates the check run and the comment, but the answers
        // are lost: both are found and used, not created twice.
        gh.lost_answers
            .push_back(("POST", format!("{REPO}/check-runs")));
        gh.lost_answers
            .push_back(("POST", format!("{REPO}/issues/2/comments")));
    }
    let server = github("", state.clone());
    let temp = tempfile::tempdir().unwrap();
    let mut env = run_env(temp.path(), &server.url(""));
    env.insert("GITHUB_RUN_ID", "6012345678".into());
    env.insert("GITHUB_RUN_ATTEMPT", "2".into());
    let out = gate(SAMPLE, &env, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let sha = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
    assert_eq!(
        sequence(&server),
        [
            format!("POST {REPO}/check-runs"),
            format!("GET {REPO}/commits/{sha}/check-runs"),
            format!("PATCH {REPO}/check-runs/4"),
            format!("GET {REPO}/issues/2/comments"),
            format!("POST {REPO}/issues/2/comments"),
            format!("GET {REPO}/issues/2/comments"),
        ]
    );
    let gh = state.lock().unwrap();
    assert_eq!(gh.check_runs.len(), 1);
    assert_eq!(gh.check_runs[0]["external_id"], "readygate/6012345678/2");
    assert_eq!(gh.comments.len(), 1);
    drop(gh);
    assert!(stderr(&out).contains("readygate: commented on #2 (1000)"));

    // A 503 before GitHub acted: nothing to find, so the POST goes again.
    let state = Arc::new(Mutex::new(FakeGitHub::default()));
    state
        .lock()
        .unwrap()
        .failures
        .push_back(("POST", format!("{REPO}/check-runs"), 503, None));
    let server = github("", state.clone());
    env.insert("GITHUB_API_URL", server.url(""));
    let out = gate(SAMPLE, &env, &[]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        sequence(&server)[..4],
        [
            format!("POST {REPO}/check-runs"),
            format!("GET {REPO}/commits/{sha}/check-runs"),
            format!("POST {REPO}/check-runs"),
            format!("PATCH {REPO}/check-runs/4"),
        ]
    );
    assert_eq!(state.lock().unwrap().check_runs.len(), 1);
    assert_valid_requests(&server, "");
}
