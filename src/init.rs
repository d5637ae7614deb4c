//! `readygate init`: a starter `readygate.yaml` from what the repository
//! already shows (catalog entity, CODEOWNERS, IaC), with the rest commented.

use std::fmt::Write;
use std::path::Path;

use crate::area::Evidence;

fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

pub fn starter_manifest(root: &Path, ev: &Evidence) -> String {
    let entity = ev.service.catalog.iter().find(|c| c.kind == "Component");
    let name = entity
        .and_then(|c| c.name.clone())
        .or_else(|| {
            root.canonicalize()
                .ok()?
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "my-service".into());
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
    let _ = writeln!(
        out,
        "# Written by `readygate init`. Check every line; schema: schemas/manifest.schema.json in readygate."
    );
    let _ = writeln!(out, "service: {}", yaml_string(&name));
    let _ = writeln!(
        out,
        "# Tier decides the readiness level a release needs (1 = most critical)."
    );
    let _ = writeln!(out, "# tier: 2");
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
