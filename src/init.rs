//! `readygate init`: a starter `readygate.yaml` from what the repository
//! already shows (catalog entity, CODEOWNERS, IaC), with the rest commented.

use std::fmt::Write;
use std::path::Path;

use crate::area::Evidence;

/// Where a schema of this release is published: the file in the
/// repository at the release's tag.
pub fn schema_url(name: &str) -> String {
    format!(
        "https://raw.githubusercontent.com/readygate/readygate/v{}/schemas/{name}.schema.json",
        env!("CARGO_PKG_VERSION")
    )
}

fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// The service's name from the checkout: the origin remote's repository
/// name, when `root` is the repository's top (in a monorepo's service
/// folder the folder names the service better).
fn service_from_checkout(root: &Path) -> Option<(String, &'static str)> {
    let (top, prefix) = crate::git::places(root).ok()?;
    if !prefix.is_empty() {
        return None;
    }
    let repo = crate::evidence::RepoIdentity::from_checkout(&top)?;
    Some((repo.repo, "the git remote"))
}

/// A tier to start from, and why: what the repository shows of how
/// critical the service is.
fn tier_guess(ev: &Evidence, lifecycle: Option<&str>) -> (u8, String) {
    let production = lifecycle == Some("production");
    // The default paging severities of the alerts rules.
    let paged = ev.alerts.alerts.iter().any(|a| {
        a.severity
            .as_deref()
            .is_some_and(|s| matches!(s.to_ascii_lowercase().as_str(), "critical" | "page"))
    });
    match (production, paged) {
        (true, true) => (
            2,
            "guessed: in production and it pages someone; 1 if an outage stops the business".into(),
        ),
        (true, false) => (
            3,
            "guessed: in production, nothing pages yet; 2 if users depend on it".into(),
        ),
        (false, true) => (
            3,
            "guessed: alerts page, but no lifecycle says production; 2 if users depend on it".into(),
        ),
        (false, false) => (
            3,
            "guessed: nothing shows it is critical yet; 2 if users depend on it, 1 if an outage stops the business".into(),
        ),
    }
}

pub fn starter_manifest(root: &Path, ev: &Evidence) -> String {
    let entity = ev.service.catalog.iter().find(|c| c.kind == "Component");
    let name = entity
        .and_then(|c| c.name.clone())
        .map(|n| (n, "the catalog Component"))
        .or_else(|| service_from_checkout(root))
        .or_else(|| {
            root.canonicalize()
                .ok()?
                .file_name()
                .map(|n| (n.to_string_lossy().into_owned(), "the directory"))
        })
        .unwrap_or_else(|| ("my-service".into(), "nothing: rename it"));
    let mut owners: Vec<String> = entity.and_then(|c| c.owner.clone()).into_iter().collect();
    if owners.is_empty()
        && let Some(rule) = ev
            .service
            .codeowners
            .as_ref()
            .and_then(|c| c.rules.iter().find(|r| r.pattern == "*"))
    {
        owners = rule.owners.clone();
    }
    let lifecycle = entity.and_then(|c| c.lifecycle.clone()).filter(|l| {
        ["experimental", "development", "production", "deprecated"].contains(&l.as_str())
    });

    let mut out = String::new();
    // Editors (yaml-language-server) complete and check against the
    // schema of the release that wrote the file.
    let _ = writeln!(
        out,
        "# yaml-language-server: $schema={}",
        schema_url("manifest")
    );
    let _ = writeln!(out, "# Written by `readygate init`. Check every line.");
    let _ = writeln!(
        out,
        "service: {}  # named after {}",
        yaml_string(&name.0),
        name.1
    );
    let _ = writeln!(
        out,
        "# Tier decides the readiness level a release needs: 1 gold, 2 silver, 3-4 bronze."
    );
    let (tier, why) = tier_guess(ev, lifecycle.as_deref());
    let _ = writeln!(out, "tier: {tier}  # {why}");
    if owners.is_empty() {
        let _ = writeln!(out, "owners: []  # e.g. [\"@org/team\"]");
    } else {
        let list: Vec<String> = owners.iter().map(|o| yaml_string(o)).collect();
        let _ = writeln!(out, "owners: [{}]", list.join(", "));
    }
    match lifecycle {
        Some(l) => {
            let _ = writeln!(out, "lifecycle: {l}");
        }
        None => {
            let _ = writeln!(
                out,
                "# lifecycle: production  # experimental | development | production | deprecated"
            );
        }
    }
    let tools = ev.iac.tools();
    if !tools.is_empty() {
        let _ = writeln!(out, "# Infrastructure as code found: {}", tools.join(", "));
    }
    let _ = writeln!(
        out,
        "endpoints: []  # e.g. [{{name: api, url: \"https://api.example.com/healthz\"}}]"
    );
    let _ = writeln!(
        out,
        "# slos:\n#   - {{name: availability, objective: 0.999, window: 30d}}"
    );
    let _ = writeln!(
        out,
        "# oncall:\n#   provider: pagerduty\n#   schedule: PXXXXXX"
    );
    out
}
