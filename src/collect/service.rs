//! Service facts: the readygate manifest, Backstage catalog entities and
//! CODEOWNERS.

use std::collections::BTreeMap;

use super::Fact;
use crate::diag::ConfigError;
use crate::discover::Document;
use crate::evidence::*;
use crate::yaml::{self, Node};

/// The manifest is configuration as much as evidence: a broken one stops the
/// gate (exit 2) instead of becoming a finding. Its SLOs join the others.
pub fn manifest(doc: &Document, out: &mut Vec<Fact>) {
    match parse_manifest(doc) {
        Ok((fact, node)) => {
            for (i, slo) in fact.manifest.slos.iter().enumerate() {
                out.push(Fact::Slo(Slo {
                    location: Location::at(&doc.path, node.pointer_pos(&format!("/slos/{i}"))),
                    source: SloSource::Manifest,
                    name: slo.name.clone(),
                    service: Some(fact.manifest.service.clone()),
                    objective: Some(slo.objective),
                    window: slo.window.clone(),
                }));
            }
            out.push(Fact::Manifest(Ok(fact)));
        }
        Err(err) => out.push(Fact::Manifest(Err(err))),
    }
}

fn parse_manifest(doc: &Document) -> Result<(ManifestFact, Node), ConfigError> {
    let node = yaml::parse_single(&doc.text).map_err(|e| {
        ConfigError::new(format!("not valid YAML: {}", e.message))
            .in_file(&doc.path)
            .at(e.pos)
            .hint("fix the syntax; `readygate init` writes a valid starter manifest")
    })?;
    let json = crate::schema::validate(&crate::schema::MANIFEST, &node, &doc.path)?;
    let manifest: Manifest = serde_json::from_value(json).map_err(|e| {
        ConfigError::new(e.to_string())
            .in_file(&doc.path)
            .at(node.pos)
            .hint("see schemas/manifest.schema.json")
    })?;
    let fact = ManifestFact {
        location: Location::at(&doc.path, node.pos),
        manifest,
    };
    Ok((fact, node))
}

pub fn catalog(doc: &Document, node: &Node, out: &mut Vec<Fact>) {
    let Some(kind) = node.str_at("kind") else {
        return;
    };
    if !node
        .str_at("apiVersion")
        .is_some_and(|v| v.starts_with("backstage.io/"))
    {
        return;
    }
    let metadata = node.get("metadata");
    let spec = node.get("spec");
    let text = |n: Option<&Node>, key: &str| n.and_then(|n| n.get(key)).and_then(Node::scalar_text);
    let annotations: BTreeMap<String, String> = metadata
        .and_then(|m| m.get("annotations"))
        .and_then(Node::as_map)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|(k, v)| v.scalar_text().map(|v| (k.name.clone(), v)))
                .collect()
        })
        .unwrap_or_default();
    let links = metadata
        .and_then(|m| m.get("links"))
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|l| {
            Some(CatalogLink {
                url: l.str_at("url")?.to_string(),
                title: l.str_at("title").map(str::to_string),
                link_type: l.str_at("type").map(str::to_string),
            })
        })
        .collect();
    out.push(Fact::Catalog(CatalogEntity {
        location: Location::at(&doc.path, node.pos),
        kind: kind.to_string(),
        name: text(metadata, "name"),
        owner: text(spec, "owner"),
        lifecycle: text(spec, "lifecycle"),
        system: text(spec, "system"),
        component_type: text(spec, "type"),
        annotations,
        links,
    }));
}

/// CODEOWNERS: `pattern owner...` per line, `#` comments. The last matching
/// pattern wins in GitHub; we record them all and whether `*` has owners.
pub fn codeowners(doc: &Document) -> Codeowners {
    let mut rules = Vec::new();
    for (i, line) in doc.text.lines().enumerate() {
        let line = line.split_once(" #").map_or(line, |(l, _)| l).trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let Some(pattern) = parts.next() else {
            continue;
        };
        rules.push(CodeownersRule {
            line: i as u32 + 1,
            pattern: pattern.to_string(),
            owners: parts.map(str::to_string).collect(),
        });
    }
    let has_default_owner = rules.iter().any(|r| {
        (r.pattern == "*" || r.pattern == "/*" || r.pattern == "/**") && !r.owners.is_empty()
    });
    Codeowners {
        location: Location::file(&doc.path),
        rules,
        has_default_owner,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::DocKind;

    fn doc(path: &str, kind: DocKind, text: &str) -> Document {
        Document {
            path: path.into(),
            kind,
            text: text.into(),
        }
    }

    #[test]
    fn codeowners_rules_and_default_owner() {
        let c = codeowners(&doc(
            ".github/CODEOWNERS",
            DocKind::Codeowners,
            "# owners\n* @acme/payments\n/infra/ @acme/platform # infra team\n/docs/\n",
        ));
        assert!(c.has_default_owner);
        assert_eq!(c.rules.len(), 3);
        assert_eq!(c.rules[1].line, 3);
        assert_eq!(c.rules[1].owners, vec!["@acme/platform"]);
        assert!(c.rules[2].owners.is_empty());
    }

    #[test]
    fn manifest_errors_name_the_key() {
        let err = parse_manifest(&doc(
            "readygate.yaml",
            DocKind::ReadygateManifest,
            "service: a\ntier: 0\n",
        ))
        .unwrap_err();
        assert_eq!(err.pos.unwrap().line, 2);
        let err = parse_manifest(&doc(
            "readygate.yaml",
            DocKind::ReadygateManifest,
            "service: [\n",
        ))
        .unwrap_err();
        assert!(err.message.contains("not valid YAML"));
    }
}
