//! Alerts and their runbooks: every alerting rule the repository defines, in
//! any of the engines it may be written for, and whether its runbook exists.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::evidence::Location;

/// The annotation (or label) names that hold a runbook link, tried in order,
/// unless the manifest's `alerts.runbook_keys` says otherwise.
pub const DEFAULT_RUNBOOK_KEYS: &[&str] = &["runbook_url", "runbook", "playbook"];

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Alerts {
    /// Every alerting rule found, in path and line order.
    pub alerts: Vec<Alert>,
    /// Each file that defines alerting or recording rules.
    pub sources: Vec<AlertSource>,
    /// Recording rules across all sources: they never page, so they are
    /// counted, not judged.
    pub recording_rules: u64,
    /// Files that may define alerts but are templates (Helm) that do not
    /// parse before rendering: not evaluated, and listed so that is visible.
    pub templated_sources: Vec<TemplatedSource>,
    /// The annotation and label names read as runbook links, in order.
    pub runbook_keys: Vec<String>,
    /// This repository's own web address (`https://github.com/OWNER/REPO`),
    /// from `--repo-url` or the `origin` remote; runbook URLs under it are
    /// resolved against the checkout instead of the network.
    pub repo_url: Option<String>,
    /// Whether external runbook URLs were fetched (`--online`).
    pub online: bool,
}

pub use crate::document::rules::AlertEngine;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AlertSource {
    pub path: String,
    pub engine: AlertEngine,
    pub alerts: u64,
    pub recording_rules: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TemplatedSource {
    pub location: Location,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Alert {
    /// `alert:` (Prometheus), `title:` (Grafana) or the monitor's `name`.
    pub name: String,
    /// The line of the key that names the alert.
    pub location: Location,
    pub engine: AlertEngine,
    /// Rule group (Prometheus, Grafana) or the Terraform resource address.
    pub group: Option<String>,
    /// The `severity` label (Datadog: a `severity:` tag, else `P<priority>`).
    pub severity: Option<String>,
    /// How long the condition must hold before firing (`for`).
    #[serde(rename = "for")]
    pub for_duration: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub has_summary: bool,
    pub has_description: bool,
    /// Notification handles in a Datadog message (`@pagerduty-checkout`).
    pub notifies: Vec<String>,
    pub runbook: Runbook,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RunbookState {
    /// No runbook annotation, label, tag or link.
    Missing,
    /// Points into this repository and the file (and heading) exist.
    Resolved,
    /// Points into this repository; no such file.
    FileMissing,
    /// Points into this repository; the file exists, the `#anchor` matches
    /// no heading in it.
    AnchorMissing,
    /// Contains template syntax that cannot be expanded from the rule itself.
    Templated,
    /// An external URL, not fetched (offline run).
    Unchecked,
    /// An external URL that answered 2xx.
    Ok,
    #[serde(rename = "http-4xx")]
    Http4xx,
    #[serde(rename = "http-5xx")]
    Http5xx,
    /// Timed out, refused, too many redirects, not an allowed address, or
    /// the overall deadline passed first.
    Unreachable,
}

impl RunbookState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Resolved => "resolved",
            Self::FileMissing => "file-missing",
            Self::AnchorMissing => "anchor-missing",
            Self::Templated => "templated",
            Self::Unchecked => "unchecked",
            Self::Ok => "ok",
            Self::Http4xx => "http-4xx",
            Self::Http5xx => "http-5xx",
            Self::Unreachable => "unreachable",
        }
    }
}

/// Where the runbook link was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RunbookField {
    Annotation,
    /// Labels are for routing and grouping; a runbook there works in most
    /// notification templates but changes the alert's identity.
    Label,
    /// A link inside a Datadog monitor's message.
    Message,
    /// A Datadog `runbook:` tag.
    Tag,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Runbook {
    pub state: RunbookState,
    /// The annotation, label or tag name (`runbook_url`); absent when missing.
    pub key: Option<String>,
    pub field: Option<RunbookField>,
    /// The link as written.
    pub link: Option<String>,
    /// The link after expanding the alert's own name into its template.
    pub expanded: Option<String>,
    pub location: Option<Location>,
    /// For links into this repository: the file, relative to the root.
    pub path: Option<String>,
    pub anchor: Option<String>,
    /// For fetched URLs: the final HTTP status.
    pub http_status: Option<u16>,
    /// Whether the runbook page (or the section its anchor names) mentions
    /// the alert by name; known for in-repository files and fetched pages.
    pub mentions_alert: Option<bool>,
    /// Why the state is what it is, when that is not obvious.
    pub detail: Option<String>,
}

impl Runbook {
    pub fn missing() -> Self {
        Self {
            state: RunbookState::Missing,
            key: None,
            field: None,
            link: None,
            expanded: None,
            location: None,
            path: None,
            anchor: None,
            http_status: None,
            mentions_alert: None,
            detail: None,
        }
    }

    /// The link to resolve: the expansion if there is one.
    pub fn target(&self) -> Option<&str> {
        self.expanded.as_deref().or(self.link.as_deref())
    }
}
