//! Fetch external runbook URLs: one GET per distinct URL (the `#anchor` is
//! not sent, so alerts sharing a page share the request), then judge each
//! alert's runbook from the answer — status, and whether the page (or the
//! section its anchor names) mentions the alert.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::Online;
use super::http::{self, Fetched};
use crate::collect::pages::{self, Page, PageKind};
use crate::evidence::{Alerts, RunbookState};

/// Pages fetched so far, by URL: parsed once however many alerts (and
/// anchors) share one, and shared between the head and baseline scans so a
/// page is judged the same in both.
pub type PageCache = BTreeMap<String, Result<(u16, Page), String>>;

/// Fetch every `unchecked` http(s) runbook not in `cache` and record what
/// came back.
pub fn check(alerts: &mut Alerts, opts: &Online, cache: &mut PageCache) -> Result<(), String> {
    alerts.online = true;
    let mut urls: BTreeMap<String, url::Url> = BTreeMap::new();
    for alert in &alerts.alerts {
        if let Some(page) = page_url(alert).filter(|p| !cache.contains_key(p.as_str())) {
            urls.insert(page.to_string(), page);
        }
    }
    if !urls.is_empty() {
        let client = http::client(opts)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the probe runtime: {e}"))?;
        let fetched = runtime.block_on(fetch_all(client, urls, opts));
        cache.extend(fetched.into_iter().map(|(url, fetched)| {
            let page = fetched.map(|f| {
                let kind = PageKind::of_content_type(&f.content_type, &f.body);
                (f.status, Page::new(f.body, kind))
            });
            (url, page)
        }));
    }
    let results = &*cache;
    for alert in &mut alerts.alerts {
        let Some(page) = page_url(alert) else {
            continue;
        };
        let name = alert.name.clone();
        let rb = &mut alert.runbook;
        match results.get(page.as_str()) {
            Some(Ok((status, page))) => judge(rb, *status, page, &name),
            Some(Err(reason)) => {
                rb.state = RunbookState::Unreachable;
                rb.detail = Some(reason.clone());
            }
            None => {}
        }
    }
    Ok(())
}

/// The page to fetch for an `unchecked` http(s) runbook: its URL without
/// the `#anchor`, which is never sent and so shares one request per page.
fn page_url(alert: &crate::evidence::Alert) -> Option<url::Url> {
    if alert.runbook.state != RunbookState::Unchecked {
        return None;
    }
    let mut url = url::Url::parse(alert.runbook.target()?).ok()?;
    url.set_fragment(None);
    matches!(url.scheme(), "http" | "https").then_some(url)
}

fn judge(rb: &mut crate::evidence::Runbook, status: u16, parsed: &Page, alert: &str) {
    rb.http_status = Some(status);
    rb.state = match status {
        200..=299 => RunbookState::Ok,
        400..=499 => RunbookState::Http4xx,
        500..=599 => RunbookState::Http5xx,
        other => {
            rb.detail = Some(format!("unexpected final status {other}"));
            RunbookState::Unreachable
        }
    };
    if rb.state != RunbookState::Ok || alert.contains("{{") {
        return;
    }
    let section = match parsed.section(rb.anchor.as_deref()) {
        Some(section) => section,
        None => {
            rb.detail = Some(format!(
                "the page has no #{} anchor (it may be added by script); searched the whole page",
                rb.anchor.as_deref().unwrap_or_default()
            ));
            parsed.section(None).unwrap_or_default()
        }
    };
    rb.mentions_alert = Some(pages::mentions(&section, alert));
}

async fn fetch_all(
    client: reqwest::Client,
    urls: BTreeMap<String, url::Url>,
    opts: &Online,
) -> BTreeMap<String, Result<Fetched, String>> {
    let deadline = Instant::now() + opts.deadline;
    let permits = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let client = Arc::new(client);
    let mut tasks = JoinSet::new();
    for (key, url) in urls.clone() {
        let (client, permits) = (client.clone(), permits.clone());
        let allow_private = opts.allow_private;
        tasks.spawn(async move {
            let work = async {
                let _permit = permits.acquire().await.map_err(|e| e.to_string())?;
                http::get(&client, &url, allow_private).await
            };
            (key, tokio::time::timeout_at(deadline, work).await)
        });
    }
    let mut results = BTreeMap::new();
    let late = format!(
        "the overall deadline ({}s) passed before it answered",
        opts.deadline.as_secs()
    );
    while let Some(joined) = tasks.join_next().await {
        if let Ok((key, outcome)) = joined {
            results.insert(key, outcome.unwrap_or_else(|_| Err(late.clone())));
        }
    }
    // A task that panicked or was lost still gets an answer.
    for key in urls.into_keys() {
        results
            .entry(key)
            .or_insert_with(|| Err("the request did not complete".into()));
    }
    results
}
