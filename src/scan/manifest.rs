//! The kinds the scan itself owns: the readiness manifest (configuration
//! every area may read, so it is parsed before any area assembles) and the
//! repository's policy files (counted, read by the policy loader).

use crate::diag::ConfigError;
use crate::document::{DocKind, Document, KindSpec};
use crate::evidence::{Location, Manifest, ManifestFact};
use crate::yaml;

pub const READYGATE_MANIFEST: DocKind = DocKind("readygate-manifest");
pub const READYGATE_POLICY: DocKind = DocKind("readygate-policy");

pub static KINDS: &[KindSpec] = &[
    KindSpec {
        kind: READYGATE_MANIFEST,
        globs: &["readygate.yaml", "readygate.yml", ".readygate.yaml"],
        sniff: None,
        order: 0,
    },
    KindSpec {
        kind: READYGATE_POLICY,
        globs: &[".readygate/**"],
        sniff: None,
        order: 10,
    },
];

/// The manifest is configuration as much as evidence: a broken one stops the
/// gate (exit 2) instead of becoming a finding.
pub fn parse(doc: &Document) -> Result<ManifestFact, ConfigError> {
    let node = yaml::parse_single(&doc.text).map_err(|e| {
        ConfigError::new(format!("not valid YAML: {}", e.message))
            .in_file(&doc.path)
            .at(e.pos)
            .hint("fix the syntax; `readygate init` writes a valid starter manifest")
    })?;
    let json = crate::schema::validate(
        &crate::schema::MANIFEST,
        &node,
        &doc.path,
        "see schemas/manifest.schema.json for the accepted keys; `readygate init` writes a valid starter manifest",
    )?;
    let mut manifest: Manifest = serde_json::from_value(whole_numbers(json)).map_err(|e| {
        ConfigError::new(e.to_string())
            .in_file(&doc.path)
            .at(node.pos)
            .hint("see schemas/manifest.schema.json")
    })?;
    manifest.owners.sort();
    let locations = |list: &str, n: usize| {
        (0..n)
            .map(|i| Location::at(&doc.path, node.pointer_pos(&format!("/{list}/{i}"))))
            .collect()
    };
    Ok(ManifestFact {
        location: Location::at(&doc.path, node.pos),
        slo_locations: locations("slos", manifest.slos.len()),
        endpoint_locations: locations("endpoints", manifest.endpoints.len()),
        manifest,
    })
}

/// `200.0` and `1e2` are integers to JSON Schema (which validated them);
/// give them to the types as integers too.
fn whole_numbers(json: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match json {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(whole_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, whole_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_errors_name_the_key() {
        let doc = |text: &str| Document::new("readygate.yaml", READYGATE_MANIFEST, text);
        let err = parse(&doc("service: a\ntier: 0\n")).unwrap_err();
        assert_eq!(err.pos.unwrap().line, 2);
        let err = parse(&doc("service: [\n")).unwrap_err();
        assert!(err.message.contains("not valid YAML"));
        let ok = parse(&doc(
            "service: a\nowners: [b, a]\nslos:\n  - name: x\n    objective: 0.99\n",
        ))
        .unwrap();
        assert_eq!(ok.manifest.owners, ["a", "b"]);
        assert_eq!(ok.slo_locations[0].line, 4);
    }
}
