//! Publish a report through the GitHub API: a check run (created in
//! progress, completed with its conclusion, summary and annotations in
//! batches of 50) and, on pull requests, one sticky comment edited in
//! place. Only what the token itself made is reused: the comment must be
//! written by the identity the token acts as and carry a hidden marker (the
//! marker alone is not enough: anyone can post it), and a check run looked
//! up again must belong to the token's app. Publishing never changes the
//! gate's verdict: what fails is reported in one line each and the caller
//! decides (`--require-publish`).

use serde_json::{Value, json};

use super::api::{Api, ApiError};
use super::context::RunnerContext;
use crate::findings::{Finding, Report, State};
use crate::report::markdown;

/// Marks our comment among the pull request's comments (with its author).
pub const MARKER: &str = "<!-- readygate:sticky-comment -->";

/// What one gate publishes under: the check run's name and the sticky
/// comment's marker. A gate run on a folder of a monorepo names it, so two
/// jobs checking two services of one repository keep to their own.
pub struct Publishing {
    pub check_name: String,
    pub marker: String,
    /// Appended to the check run's external id.
    id_suffix: String,
}

impl Publishing {
    /// For a run on `checked`, the folder's path in the repository (empty
    /// at its top).
    pub fn of(checked: &str) -> Self {
        if checked.is_empty() {
            return Self {
                check_name: "readygate".into(),
                marker: MARKER.into(),
                id_suffix: String::new(),
            };
        }
        // A path cannot end the HTML comment it sits in.
        let path: String = checked
            .chars()
            .filter(|c| !c.is_control() && !matches!(c, '<' | '>'))
            .collect::<String>()
            .replace("--", "-");
        Self {
            check_name: format!("readygate ({path})"),
            marker: format!("<!-- readygate:sticky-comment path={path} -->"),
            id_suffix: format!("/{path}"),
        }
    }
}
/// GitHub accepts at most 50 annotations per request.
pub const ANNOTATION_BATCH: usize = 50;
const MAX_TITLE: usize = 255;
const MAX_MESSAGE: usize = 64 * 1024;
/// Check run summaries and comment bodies.
const MAX_TEXT: usize = 65_535;
/// Beyond this many annotations, the summary and log carry the rest.
const MAX_ANNOTATIONS: usize = 1_000;
/// Who the Actions `GITHUB_TOKEN` writes as; it cannot ask `GET /user`.
const ACTIONS_BOT: &str = "github-actions[bot]";

/// What publishing did, line by line, and whether anything failed.
#[derive(Debug, Default)]
pub struct Published {
    pub log: Vec<String>,
    pub failed: bool,
}

/// Who the token acts as: the author of the comments it writes and, for a
/// bot, the app its check runs belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub login: String,
    /// The app's slug (`github-actions` for `github-actions[bot]`); `None`
    /// for a user, whose check runs belong to an app we cannot name.
    pub app: Option<String>,
}

impl Identity {
    /// From a login: `NAME[bot]` is app `NAME`'s bot account.
    pub fn from_login(login: &str) -> Self {
        Self {
            login: login.to_string(),
            app: login.strip_suffix("[bot]").map(str::to_string),
        }
    }

    /// Whether a comment's `user` is this identity (logins are
    /// case-insensitive; only bots end in `[bot]`, so a user cannot pass
    /// for one).
    fn wrote(&self, user: &Value) -> bool {
        user["login"]
            .as_str()
            .is_some_and(|l| l.eq_ignore_ascii_case(&self.login))
    }

    /// Whether a check run was made by this identity's app.
    fn made(&self, run: &Value) -> bool {
        self.app
            .as_deref()
            .is_some_and(|app| run["app"]["slug"].as_str() == Some(app))
    }
}

/// The identity, asked of GitHub at most once and only when needed:
/// `--comment-author` when given, else `GET /user`.
struct Whoami<'a> {
    api: &'a Api,
    given: Option<&'a str>,
    known: tokio::sync::OnceCell<Identity>,
    /// A line for the log when `GET /user` failed unexpectedly.
    note: std::cell::RefCell<Option<String>>,
}

impl<'a> Whoami<'a> {
    fn new(api: &'a Api, given: Option<&'a str>) -> Self {
        Self {
            api,
            given,
            known: tokio::sync::OnceCell::new(),
            note: std::cell::RefCell::new(None),
        }
    }

    /// What to log about finding the identity, once.
    fn take_note(&self) -> Option<String> {
        self.note.borrow_mut().take()
    }

    async fn get(&self) -> &Identity {
        self.known
            .get_or_init(|| async {
                if let Some(login) = self.given {
                    return Identity::from_login(login);
                }
                let why = match self.api.get("/user").await {
                    Ok(user) => match user["login"].as_str().filter(|l| !l.is_empty()) {
                        Some(login) if user["type"] == "Bot" => return Identity::from_login(login),
                        // A user's token: its check runs belong to some
                        // app, which /user does not name.
                        Some(login) => {
                            return Identity {
                                login: login.to_string(),
                                app: None,
                            };
                        }
                        None => "the answer has no login".to_string(),
                    },
                    // The Actions GITHUB_TOKEN (and any installation token)
                    // answers 403 "Resource not accessible by integration".
                    Err(e) if e.status == Some(403) => return Identity::from_login(ACTIONS_BOT),
                    Err(e) => e.to_string(),
                };
                *self.note.borrow_mut() = Some(format!(
                    "readygate: cannot tell who the token acts as (GET /user: {why}); taking it for the Actions GITHUB_TOKEN ({ACTIONS_BOT}); --comment-author names another"
                ));
                Identity::from_login(ACTIONS_BOT)
            })
            .await
    }
}

/// `comment_author`: the login the token writes as (`--comment-author`),
/// instead of asking `GET /user`.
pub fn publish(
    report: &Report,
    ctx: &RunnerContext,
    api: &Api,
    comment_author: Option<&str>,
    checked: &str,
) -> Published {
    let under = Publishing::of(checked);
    let published = super::api::block_on(async {
        let mut out = Published::default();
        let who = Whoami::new(api, comment_author);
        check_run(report, ctx, api, &who, &under, &mut out).await;
        if let Some(pr) = &ctx.pull_request {
            sticky_comment(report, ctx, pr.number, api, &who, &under, &mut out).await;
        }
        out
    });
    published.unwrap_or_else(|e| Published {
        log: vec![format!("readygate: {}", e.0)],
        failed: true,
    })
}

/// One line explaining a failed call, with what to do about 401/403/404.
fn explain(what: &str, err: &ApiError, permission: &str) -> String {
    let why = match err.status {
        Some(401 | 403 | 404) => format!(
            " — the token cannot write here (a pull request from a fork gets a read-only token) or the workflow lacks `permissions: {permission}`; the annotations are in this log and the report in the job summary"
        ),
        Some(422) => " — GitHub rejected the request as invalid".to_string(),
        _ => String::new(),
    };
    format!("readygate: could not {what} ({err}){why}")
}

fn truncate(text: &str, max: usize, note: &str) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub(note.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{note}", &text[..end])
}

fn conclusion(report: &Report) -> &'static str {
    if report.verdict.blocked {
        "failure"
    } else if report.verdict.level_reached_meets() {
        "success"
    } else {
        "neutral"
    }
}

fn annotation(f: &Finding) -> Option<Value> {
    let loc = f.location.as_ref()?;
    let level = match f.state {
        State::Fail => "failure",
        State::Warn => "warning",
        _ => "notice",
    };
    let target = f
        .target
        .as_deref()
        .map(|t| format!(" [{t}]"))
        .unwrap_or_default();
    let tag = match crate::report::change_tag(f) {
        "" => String::new(),
        tag => format!("{tag}: "),
    };
    let line = loc.line.max(1);
    Some(json!({
        "path": loc.path,
        "start_line": line,
        "end_line": line,
        "annotation_level": level,
        "title": truncate(&format!("{tag}{}: {}", f.rule, f.title), MAX_TITLE, "…"),
        "message": truncate(
            &format!("{}{target}\n\nWhy: {}\nFix: {}", f.message, f.why, f.remediation),
            MAX_MESSAGE,
            "…"
        ),
    }))
}

async fn check_run(
    report: &Report,
    ctx: &RunnerContext,
    api: &Api,
    who: &Whoami<'_>,
    under: &Publishing,
    out: &mut Published,
) {
    let repo = &ctx.repository;
    let now = || chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let external_id = format!("{}{}", ctx.check_run_id(), under.id_suffix);
    let body = json!({
        "name": under.check_name,
        "head_sha": ctx.sha,
        "status": "in_progress",
        "started_at": now(),
        "external_id": external_id,
    });
    let created = create_once(api, &format!("/repos/{repo}/check-runs"), &body, || async {
        // Only a run of the token's own app: another app's run with the
        // same name and external id is not ours to complete.
        let us = who.get().await;
        let list = api
            .get(&format!(
                "/repos/{repo}/commits/{}/check-runs?check_name={}&filter=all&per_page=100",
                ctx.sha,
                url::form_urlencoded::byte_serialize(under.check_name.as_bytes())
                    .collect::<String>()
            ))
            .await?;
        Ok(list["check_runs"]
            .as_array()
            .and_then(|runs| {
                runs.iter()
                    .find(|r| r["external_id"] == external_id.as_str() && us.made(r))
            })
            .cloned())
    })
    .await;
    out.log.extend(who.take_note());
    let id = match created.map(|v| v["id"].as_u64()) {
        Ok(Some(id)) => id,
        Ok(None) => {
            out.log
                .push("readygate: GitHub answered the check run creation without an id".into());
            out.failed = true;
            return;
        }
        Err(e) => {
            out.log
                .push(explain("create the check run", &e, "checks: write"));
            out.failed = true;
            return;
        }
    };
    let mut annotations: Vec<Value> = report
        .findings
        .iter()
        .filter(|f| crate::report::annotated(f))
        .filter_map(annotation)
        .collect();
    let dropped = annotations.len().saturating_sub(MAX_ANNOTATIONS);
    annotations.truncate(MAX_ANNOTATIONS);
    let links = ctx.blob_base();
    let mut summary = markdown::render_linked(report, links.as_deref());
    if dropped > 0 {
        summary = format!(
            "{dropped} findings beyond the first {MAX_ANNOTATIONS} are not annotated; they are listed below.\n\n{summary}"
        );
    }
    let output = |batch: &[Value]| {
        json!({
            "title": truncate(&crate::report::verdict_line(report), MAX_TITLE, "…"),
            "summary": truncate(&summary, MAX_TEXT, "\n\n… (truncated: the full report is in the job summary)"),
            "annotations": batch,
        })
    };
    let batches: Vec<&[Value]> = if annotations.is_empty() {
        vec![&[]]
    } else {
        annotations.chunks(ANNOTATION_BATCH).collect()
    };
    let last = batches.len() - 1;
    for (i, batch) in batches.into_iter().enumerate() {
        // Earlier batches keep the run in progress; the last completes it.
        let mut body = json!({"output": output(batch)});
        if i == last {
            body["status"] = json!("completed");
            body["conclusion"] = json!(conclusion(report));
            body["completed_at"] = json!(now());
        }
        if let Err(e) = api
            .patch(&format!("/repos/{repo}/check-runs/{id}"), &body)
            .await
        {
            out.log.push(explain(
                &format!("update the check run (batch {} of {})", i + 1, last + 1),
                &e,
                "checks: write",
            ));
            out.failed = true;
            if i != last {
                // Still complete it, so it is not left in progress.
                let done = json!({"status": "completed", "conclusion": conclusion(report), "completed_at": now(), "output": output(&[])});
                let _ = api
                    .patch(&format!("/repos/{repo}/check-runs/{id}"), &done)
                    .await;
            }
            return;
        }
    }
    out.log.push(format!(
        "readygate: check run {id} completed ({}, {} annotations)",
        conclusion(report),
        annotations.len()
    ));
}

/// POST to create something, once. A POST is not retried blindly (see
/// `Api`), but a 5xx or a lost answer may come after GitHub acted: then
/// `find` looks for what the POST would have made, and only if it is not
/// there is the POST sent again.
async fn create_once<F, Fut>(
    api: &Api,
    path: &str,
    body: &Value,
    find: F,
) -> Result<Value, ApiError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Option<Value>, ApiError>>,
{
    match api.post(path, body).await {
        Err(e) if e.status.is_none_or(|s| s >= 500) => match find().await {
            Ok(Some(made)) => Ok(made),
            Ok(None) => api.post(path, body).await,
            // Cannot tell whether it was made: say what the POST got.
            Err(_) => Err(e),
        },
        other => other,
    }
}

/// Our earlier comment on the pull request, if any: (id, body). Ours means
/// written by `us` and carrying the marker; a comment by anyone else is
/// never edited, marker or not.
async fn find_sticky(
    api: &Api,
    repo: &str,
    number: u64,
    us: &Identity,
    marker: &str,
) -> Result<Option<(u64, String)>, ApiError> {
    for page in 1..=50 {
        let list = api
            .get(&format!(
                "/repos/{repo}/issues/{number}/comments?per_page=100&page={page}"
            ))
            .await?;
        let comments = list.as_array().cloned().unwrap_or_default();
        if let Some(c) = comments.iter().find(|c| {
            us.wrote(&c["user"]) && c["body"].as_str().is_some_and(|b| b.contains(marker))
        }) {
            return Ok(Some((
                c["id"].as_u64().unwrap_or(0),
                c["body"].as_str().unwrap_or("").to_string(),
            )));
        }
        if comments.len() < 100 {
            break;
        }
    }
    Ok(None)
}

async fn sticky_comment(
    report: &Report,
    ctx: &RunnerContext,
    number: u64,
    api: &Api,
    who: &Whoami<'_>,
    under: &Publishing,
    out: &mut Published,
) {
    let repo = &ctx.repository;
    let us = who.get().await;
    out.log.extend(who.take_note());
    let previous = match find_sticky(api, repo, number, us, &under.marker).await {
        Ok(p) => p,
        Err(e) => {
            out.log.push(explain(
                "list the pull request's comments",
                &e,
                "pull-requests: write",
            ));
            out.failed = true;
            return;
        }
    };
    let all_clear = report.verdict.level_reached_meets()
        && !report.findings.iter().any(Finding::needs_attention);
    if previous.is_none() && all_clear {
        return; // nothing to say, and no earlier comment to correct
    }
    let links = ctx.blob_base();
    let mut body = markdown::render_linked(report, links.as_deref());
    if all_clear {
        body = format!(
            "**Everything passes now.** An earlier run on this pull request found problems; they are fixed.\n\n{body}"
        );
    }
    let body = truncate(
        &format!("{}\n{body}", under.marker),
        MAX_TEXT,
        "\n\n… (truncated: the full report is in the job summary)",
    );
    let result = match previous {
        Some((id, _)) => api
            .patch(
                &format!("/repos/{repo}/issues/comments/{id}"),
                &json!({"body": body}),
            )
            .await
            .map(|_| format!("readygate: updated comment {id} on #{number}")),
        None => create_once(
            api,
            &format!("/repos/{repo}/issues/{number}/comments"),
            &json!({"body": body}),
            || async {
                Ok(find_sticky(api, repo, number, us, &under.marker)
                    .await?
                    .map(|(id, _)| json!({"id": id})))
            },
        )
        .await
        .map(|v| format!("readygate: commented on #{number} ({})", v["id"])),
    };
    match result {
        Ok(line) => out.log.push(line),
        Err(e) => {
            out.log.push(explain(
                "write the pull request comment",
                &e,
                "pull-requests: write",
            ));
            out.failed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_char_boundaries_and_says_so() {
        let text = "é".repeat(100);
        let t = truncate(&text, 51, "…");
        assert!(t.len() <= 51 && t.ends_with('…'));
        assert_eq!(truncate("short", 10, "…"), "short");
    }

    #[test]
    fn a_bot_login_names_its_app_and_only_that_author_is_us() {
        let us = Identity::from_login("my-app[bot]");
        assert_eq!(us.app.as_deref(), Some("my-app"));
        assert!(us.wrote(&json!({"login": "My-App[bot]", "type": "Bot"})));
        assert!(!us.wrote(&json!({"login": "my-app", "type": "User"})));
        assert!(!us.wrote(&Value::Null));
        assert!(us.made(&json!({"app": {"slug": "my-app"}})));
        assert!(!us.made(&json!({"app": {"slug": "github-actions"}})));
        let user = Identity::from_login("release-bot");
        assert_eq!(user.app, None);
        assert!(!user.made(&json!({"app": {"slug": "release-bot"}})));
    }
}
