//! Fetch external runbook URLs: one GET per distinct URL (the `#anchor` is
//! not sent, so alerts sharing a page share the request), then judge each
//! alert's runbook from the answer — status, and whether the page (or the
//! section its anchor names) mentions the alert.

use std::sync::Arc;

use super::pages::{self, Page, PageKind};
use super::section::{Alert, Alerts, Runbook, RunbookState};
use crate::probe::{Net, Probe, ProbeError, Probes};

/// A page fetched and parsed once, however many alerts (and anchors) share
/// it, and shared between the head and baseline scans so a page is judged
/// the same in both.
pub struct RunbookPage;

impl Probe for RunbookPage {
    const KIND: &'static str = "runbook-page";
    type Output = Arc<Result<(u16, Page), ProbeError>>;

    async fn observe(&self, net: Net, key: String) -> Self::Output {
        let fetched = match url::Url::parse(&key) {
            Ok(url) => net.get(&url).await,
            Err(e) => Err(ProbeError(e.to_string())),
        };
        Arc::new(fetched.map(|f| {
            let kind = PageKind::of_content_type(&f.content_type, &f.body);
            (f.status, Page::new(f.body, kind))
        }))
    }

    fn unobserved(reason: String) -> Self::Output {
        Arc::new(Err(ProbeError(reason)))
    }
}

/// Fetch every `unchecked` http(s) runbook and record what came back.
pub fn check(alerts: &mut Alerts, probes: &Probes) -> Result<(), ProbeError> {
    alerts.online = true;
    let urls = alerts
        .alerts
        .iter()
        .filter_map(page_url)
        .map(|u| u.to_string());
    let results = probes.observe(RunbookPage, urls)?;
    for alert in &mut alerts.alerts {
        let Some(page) = page_url(alert) else {
            continue;
        };
        let name = alert.name.clone();
        let rb = &mut alert.runbook;
        match results.get(page.as_str()).map(|r| r.as_ref()) {
            Some(Ok((status, page))) => judge(rb, *status, page, &name),
            Some(Err(reason)) => {
                rb.state = RunbookState::Unreachable;
                rb.detail = Some(reason.0.clone());
            }
            None => {}
        }
    }
    Ok(())
}

/// The page to fetch for an `unchecked` http(s) runbook: its URL without
/// the `#anchor`, which is never sent and so shares one request per page.
fn page_url(alert: &Alert) -> Option<url::Url> {
    if alert.runbook.state != RunbookState::Unchecked {
        return None;
    }
    let mut url = url::Url::parse(alert.runbook.target()?).ok()?;
    url.set_fragment(None);
    matches!(url.scheme(), "http" | "https").then_some(url)
}

fn judge(rb: &mut Runbook, status: u16, parsed: &Page, alert: &str) {
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
    let mentioned = pages::mentions(section, alert)
        || rb
            .target()
            .and_then(|t| url::Url::parse(t).ok())
            .is_some_and(|u| pages::names_topic(u.path(), rb.anchor.as_deref(), alert));
    rb.mentions_alert = Some(mentioned);
}
