//! Publishing through the GitHub API, against a local server that speaks the
//! REST endpoints the gate uses (answers shaped like GitHub's examples) and
//! records every request: the exact sequence, batching at 50, the sticky
//! comment updated in place (only our own: author and marker), who the
//! token acts as (`GET /user`, `--comment-author`), read-only tokens,
//! retries, 422s, GHES paths, and a token that never appears in output.
//! Request bodies are validated against GitHub's own request schemas.

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
struct FakeGitHub {
    /// (id, body, author as GitHub's `user` object).
    comments: Vec<(u64, String, Value)>,
    /// Who the token acts as: the author of the comments it writes.
    actor: Value,
    /// Whether `GET /user` answers with `actor`'s profile (a personal or
    /// app-user token); else 403, as for the Actions GITHUB_TOKEN.
    user_api: bool,
    /// The slug of the app the check runs the token creates belong to.
    app: &'static str,
    failures: VecDeque<Injected>,
    /// The pull request's files, served 100 per page like GitHub.
    files: Vec<Value>,
    /// Check runs created, as GitHub lists them for the commit.
    check_runs: Vec<Value>,
    /// Requests (method, path) to carry out but answer with a 502, as when
    /// a proxy loses GitHub's answer.
    lost_answers: VecDeque<(&'static str, String)>,
}

/// By default the token is the workflow's GITHUB_TOKEN.
impl Default for FakeGitHub {
    fn default() -> Self {
        Self {
            comments: Vec::new(),
            actor: user("github-actions[bot]", "Bot"),
            user_api: false,
            app: "github-actions",
            failures: VecDeque::new(),
            files: Vec::new(),
            check_runs: Vec::new(),
            lost_answers: VecDeque::new(),
        }
    }
}

/// A comment's `user`, as GitHub shows it.
fn user(login: &str, kind: &str) -> Value {
    json!({"login": login, "id": 41898282, "type": kind})
}

const MARKER: &str = "<!-- readygate:sticky-comment -->";

/// GitHub's REST description, cut to the operations the gate uses.
fn spec() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string("tests/fixtures/github-api/openapi-subset.json").unwrap(),
    )
    .unwrap()
}

/// `GET /user` for `actor`: GitHub's example profile with its login and type.
fn profile(actor: &Value) -> Value {
    let mut p = spec()["users/get-authenticated"]["responses"]["200"]["examples"]
        ["response-with-public-profile-information"]
        .clone();
    p["login"] = actor["login"].clone();
    p["type"] = actor["type"].clone();
    p
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
            ("GET", "/user") if gh.user_api => ok(200, profile(&gh.actor)),
            ("GET", "/user") => ok(
                403,
                json!({
                    "message": "Resource not accessible by integration",
                    "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user",
                    "status": "403",
                }),
            ),
            ("GET", p) if p == format!("{REPO}/pulls/2/files") => {
                let (page, per_page) = page_of(&req.path);
                let files: Vec<Value> = gh
                    .files
                    .iter()
                    .skip((page - 1) * per_page)
                    .take(per_page)
                    .cloned()
                    .collect();
                ok(200, Value::Array(files))
            }
            ("POST", p) if p == format!("{REPO}/check-runs") => {
                let mut run = req.json();
                run["id"] = json!(4 + gh.check_runs.len() as u64);
                run["app"] = json!({"id": 15368, "slug": gh.app, "name": gh.app});
                gh.check_runs.push(run.clone());
                ok(201, run)
            }
            ("GET", p)
                if p.starts_with(&format!("{REPO}/commits/")) && p.ends_with("/check-runs") =>
            {
                ok(
                    200,
                    json!({"total_count": gh.check_runs.len(), "check_runs": gh.check_runs}),
                )
            }
            ("PATCH", p) if p.starts_with(&format!("{REPO}/check-runs/")) => {
                let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
                ok(200, json!({"id": id}))
            }
            ("GET", p) if p == format!("{REPO}/issues/2/comments") => ok(
                200,
                Value::Array(
                    gh.comments
                        .iter()
                        .map(|(id, body, user)| json!({"id": id, "body": body, "user": user}))
                        .collect(),
                ),
            ),
            ("POST", p) if p == format!("{REPO}/issues/2/comments") => {
                let id = 1000 + gh.comments.len() as u64;
                let author = gh.actor.clone();
                gh.comments.push((
                    id,
                    req.json()["body"].as_str().unwrap_or_default().to_string(),
                    author,
                ));
                ok(201, json!({"id": id}))
            }
            ("PATCH", p) if p.starts_with(&format!("{REPO}/issues/comments/")) => {
                let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
                let body = req.json()["body"].as_str().unwrap_or_default().to_string();
                // Like GitHub, a token that may write to pull requests may
                // edit anyone's comment: the gate must pick its own.
                match gh.comments.iter_mut().find(|(i, _, _)| *i == id) {
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
    let spec = spec();
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
            "GET /user".to_string(),
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
        sequence(&server)[5..].last().unwrap(),
        &format!("PATCH {REPO}/issues/comments/1000")
    );
    assert!(
        !sequence(&server)[5..]
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
            "GET /user".to_string(),
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
        format!("{MARKER}\nold failures"),
        user("github-actions[bot]", "Bot"),
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
            .all(|r| r.path.starts_with("/api/v3/repos/") || r.path == "/api/v3/user"),
        "{:?}",
        sequence(&server)
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
        // (line 50: the alert without a runbook), so the list takes 2 pages.
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
            Some("@@ -48,2 +48,4 @@ groups:\n       # Deliberate gap: a ticket-level alert with no runbook yet (warns).\n-      - alert: CheckoutApiQueue\n+      - alert: CheckoutApiQueueBacklog\n+        expr: sum(checkout_api_queue_depth) > 500\n+        for: 30m"),
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
    assert_eq!(annotations[0]["start_line"], 50);
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
        "::warning file=examples/sample-service/deploy/monitoring/checkout-api.rules.yml,line=50,"
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
            "GET /user".to_string(),
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
        sequence(&server)[..5],
        [
            format!("POST {REPO}/check-runs"),
            "GET /user".to_string(),
            format!("GET {REPO}/commits/{sha}/check-runs"),
            format!("POST {REPO}/check-runs"),
            format!("PATCH {REPO}/check-runs/4"),
        ]
    );
    assert_eq!(state.lock().unwrap().check_runs.len(), 1);
    assert_valid_requests(&server, "");
}

/// The comments' (id, body, author login), in order.
fn comments(state: &Arc<Mutex<FakeGitHub>>) -> Vec<(u64, String, String)> {
    state
        .lock()
        .unwrap()
        .comments
        .iter()
        .map(|(id, body, user)| (*id, body.clone(), user["login"].as_str().unwrap().into()))
        .collect()
}

#[test]
fn a_marker_in_someone_elses_comment_is_not_ours() {
    let state = Arc::new(Mutex::new(FakeGitHub::default()));
    let bait = format!("{MARKER}\nPut the report here, please.");
    state
        .lock()
        .unwrap()
        .comments
        .push((77, bait.clone(), user("mallory", "User")));
    let server = github("", state.clone());
    let temp = tempfile::tempdir().unwrap();
    let env = run_env(temp.path(), &server.url(""));
    let out = gate(SAMPLE, &env, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        sequence(&server)[2..],
        [
            "GET /user".to_string(),
            format!("GET {REPO}/issues/2/comments"),
            format!("POST {REPO}/issues/2/comments"),
        ]
    );
    let after = comments(&state);
    assert_eq!(after.len(), 2);
    assert_eq!(after[0], (77, bait.clone(), "mallory".into()));
    assert_eq!(after[1].2, "github-actions[bot]");
    assert!(after[1].1.starts_with(MARKER));
    assert!(stderr(&out).contains("readygate: commented on #2 (1001)"));

    // The next run edits the comment it wrote, still not mallory's.
    let out = gate(SAMPLE, &env, &[]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        sequence(&server).last().unwrap(),
        &format!("PATCH {REPO}/issues/comments/1001")
    );
    assert_eq!(comments(&state).len(), 2);
    assert_eq!(comments(&state)[0].1, bait);
    assert_valid_requests(&server, "");
}

#[test]
fn our_own_earlier_comment_is_edited_in_place() {
    let state = Arc::new(Mutex::new(FakeGitHub::default()));
    {
        let mut gh = state.lock().unwrap();
        // Someone else's marker comes first; ours is the one edited.
        gh.comments
            .push((76, format!("{MARKER}\nmine"), user("mallory", "User")));
        gh.comments.push((
            77,
            format!("{MARKER}\nan earlier report"),
            user("github-actions[bot]", "Bot"),
        ));
    }
    let server = github("", state.clone());
    let temp = tempfile::tempdir().unwrap();
    let out = gate(SAMPLE, &run_env(temp.path(), &server.url("")), &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        sequence(&server)[2..],
        [
            "GET /user".to_string(),
            format!("GET {REPO}/issues/2/comments"),
            format!("PATCH {REPO}/issues/comments/77"),
        ]
    );
    let after = comments(&state);
    assert_eq!(after.len(), 2);
    assert_eq!(after[0].1, format!("{MARKER}\nmine"));
    assert!(
        after[1].1.starts_with(MARKER) && !after[1].1.contains("an earlier report"),
        "{}",
        after[1].1
    );
    assert!(stderr(&out).contains("readygate: updated comment 77 on #2"));
    assert_valid_requests(&server, "");
}

#[test]
fn comment_author_names_the_app_the_token_belongs_to() {
    let state = Arc::new(Mutex::new(FakeGitHub::default()));
    {
        // A GitHub App's installation token: GET /user is refused, as for
        // GITHUB_TOKEN, but the comments it writes are my-app[bot]'s.
        let mut gh = state.lock().unwrap();
        gh.actor = user("my-app[bot]", "Bot");
        gh.app = "my-app";
        gh.comments.push((
            76,
            format!("{MARKER}\nfrom another workflow"),
            user("github-actions[bot]", "Bot"),
        ));
        gh.comments.push((
            77,
            format!("{MARKER}\nmy-app's earlier report"),
            user("my-app[bot]", "Bot"),
        ));
    }
    let server = github("", state.clone());
    let temp = tempfile::tempdir().unwrap();
    let env = run_env(temp.path(), &server.url(""));
    let out = gate(SAMPLE, &env, &["--comment-author", "my-app[bot]"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Told who it is: GitHub is not asked.
    assert_eq!(
        sequence(&server),
        [
            format!("POST {REPO}/check-runs"),
            format!("PATCH {REPO}/check-runs/4"),
            format!("GET {REPO}/issues/2/comments"),
            format!("PATCH {REPO}/issues/comments/77"),
        ]
    );
    let after = comments(&state);
    assert_eq!(after[0].1, format!("{MARKER}\nfrom another workflow"));
    assert!(!after[1].1.contains("earlier report"));
    assert_valid_requests(&server, "");

    // Without it the token is taken for GITHUB_TOKEN: not my-app's comment.
    let out = gate(SAMPLE, &env, &[]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        sequence(&server)[6..],
        [
            "GET /user".to_string(),
            format!("GET {REPO}/issues/2/comments"),
            format!("PATCH {REPO}/issues/comments/76"),
        ]
    );

    // An empty login is a usage error, and the flag needs --github.
    assert_eq!(code(&gate(SAMPLE, &env, &["--comment-author", ""])), 2);
    let out = readygate()
        .args(["check", SAMPLE, "--comment-author", "my-app[bot]"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn a_token_that_can_ask_get_user_writes_as_that_login() {
    let state = Arc::new(Mutex::new(FakeGitHub::default()));
    {
        let mut gh = state.lock().unwrap();
        gh.actor = user("release-bot", "User");
        gh.user_api = true;
        gh.comments.push((
            76,
            format!("{MARKER}\nfrom the workflow's own token"),
            user("github-actions[bot]", "Bot"),
        ));
        gh.comments.push((
            77,
            format!("{MARKER}\nrelease-bot's earlier report"),
            user("release-bot", "User"),
        ));
    }
    // The fake answers GET /user as GitHub's schema says.
    let spec = spec();
    let schema = &spec["users/get-authenticated"]["responses"]["200"]["schema"];
    let answer = profile(&state.lock().unwrap().actor);
    assert_eq!(answer["login"], "release-bot");
    assert_eq!(answer["type"], "User");
    let errors: Vec<String> = jsonschema::validator_for(schema)
        .unwrap()
        .iter_errors(&answer)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");

    let server = github("", state.clone());
    let temp = tempfile::tempdir().unwrap();
    let env = run_env(temp.path(), &server.url(""));
    let out = gate(SAMPLE, &env, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        sequence(&server)[2..],
        [
            "GET /user".to_string(),
            format!("GET {REPO}/issues/2/comments"),
            format!("PATCH {REPO}/issues/comments/77"),
        ]
    );
    let user_request = &server.requests()[2];
    assert_eq!(
        user_request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let after = comments(&state);
    assert_eq!(
        after[0].1,
        format!("{MARKER}\nfrom the workflow's own token")
    );
    assert!(!after[1].1.contains("earlier report"));
    assert_valid_requests(&server, "");

    // GET /user failing otherwise than GITHUB_TOKEN's 403: said in one
    // line, and the token is taken for GITHUB_TOKEN.
    state
        .lock()
        .unwrap()
        .failures
        .push_back(("GET", "/user".into(), 401, None));
    let out = gate(SAMPLE, &env, &[]);
    assert_eq!(code(&out), 0);
    assert!(
        stderr(&out).contains("readygate: cannot tell who the token acts as (GET /user: 401: injected 401); taking it for the Actions GITHUB_TOKEN (github-actions[bot]); --comment-author names another"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        sequence(&server).last().unwrap(),
        &format!("PATCH {REPO}/issues/comments/76")
    );
}

#[test]
fn only_a_check_run_of_our_own_app_is_reused() {
    let sha = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
    // Another app's check run with our name and external id.
    let foreign = |app: &str| {
        json!({
            "id": 99,
            "name": "readygate",
            "head_sha": sha,
            "status": "in_progress",
            "external_id": "readygate/6012345678/2",
            "app": {"id": 7, "slug": app, "name": app},
        })
    };
    let state = Arc::new(Mutex::new(FakeGitHub::default()));
    {
        // The answer to our POST is lost: the lookup sees both runs and
        // takes ours (id 5), not the other app's (99).
        let mut gh = state.lock().unwrap();
        gh.check_runs.push(foreign("mallory-app"));
        gh.lost_answers
            .push_back(("POST", format!("{REPO}/check-runs")));
    }
    let server = github("", state.clone());
    let temp = tempfile::tempdir().unwrap();
    let mut env = run_env(temp.path(), &server.url(""));
    env.insert("GITHUB_RUN_ID", "6012345678".into());
    env.insert("GITHUB_RUN_ATTEMPT", "2".into());
    let out = gate(SAMPLE, &env, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        sequence(&server)[..4],
        [
            format!("POST {REPO}/check-runs"),
            "GET /user".to_string(),
            format!("GET {REPO}/commits/{sha}/check-runs"),
            format!("PATCH {REPO}/check-runs/5"),
        ]
    );
    assert!(
        stderr(&out).contains("check run 5 completed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(state.lock().unwrap().check_runs.len(), 2);

    // With --comment-author my-app[bot], a GITHUB_TOKEN run with the same
    // external id is not my-app's: nothing of ours was made, so POST again.
    let state = Arc::new(Mutex::new(FakeGitHub::default()));
    {
        let mut gh = state.lock().unwrap();
        gh.actor = user("my-app[bot]", "Bot");
        gh.app = "my-app";
        gh.check_runs.push(foreign("github-actions"));
        gh.failures
            .push_back(("POST", format!("{REPO}/check-runs"), 503, None));
    }
    let server = github("", state.clone());
    env.insert("GITHUB_API_URL", server.url(""));
    let out = gate(SAMPLE, &env, &["--comment-author", "my-app[bot]"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        sequence(&server)[..4],
        [
            format!("POST {REPO}/check-runs"),
            format!("GET {REPO}/commits/{sha}/check-runs"),
            format!("POST {REPO}/check-runs"),
            format!("PATCH {REPO}/check-runs/5"),
        ]
    );
    let gh = state.lock().unwrap();
    assert_eq!(gh.check_runs.len(), 2);
    assert_eq!(gh.check_runs[1]["app"]["slug"], "my-app");
    drop(gh);
    assert_valid_requests(&server, "");
}

/// Two jobs checking two services of one repository: each run names its
/// folder in the check run and in its comment's marker, so neither edits
/// or completes the other's.
#[test]
fn a_monorepo_folder_publishes_under_its_own_name() {
    let state = Arc::new(Mutex::new(FakeGitHub::default()));
    let server = github("", state.clone());
    let temp = tempfile::tempdir().unwrap();
    let mut env = run_env(temp.path(), &server.url(""));
    env.insert("GITHUB_WORKSPACE", env!("CARGO_MANIFEST_DIR").to_string());
    let out = gate(SAMPLE, &env, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let created = server.requests()[0].json();
    assert_eq!(created["name"], "readygate (examples/sample-service)");
    assert!(
        created["external_id"]
            .as_str()
            .unwrap()
            .ends_with("/examples/sample-service")
    );
    let after = comments(&state);
    assert_eq!(after.len(), 1);
    assert!(
        after[0]
            .1
            .starts_with("<!-- readygate:sticky-comment path=examples/sample-service -->"),
        "{}",
        after[0].1
    );
    // The repository's top-level run does not take that comment over.
    let out = gate(SAMPLE, &run_env(temp.path(), &server.url("")), &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(comments(&state).len(), 2);
    assert_valid_requests(&server, "");
}
