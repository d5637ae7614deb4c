//! Service facts: Backstage catalog entities and CODEOWNERS.

use std::collections::BTreeMap;

use super::Fact;
use super::section::*;
use crate::document::{Document, Sink};
use crate::evidence::Location;
use crate::yaml::Node;

pub fn catalog(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
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
    let has_default_owner = rules
        .iter()
        .any(|r| matches!(r.pattern.as_str(), "*" | "/*" | "**" | "/**") && !r.owners.is_empty());
    Codeowners {
        location: Location::file(&doc.path),
        rules,
        has_default_owner,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::DocKind;

    fn doc(path: &str, kind: DocKind, text: &str) -> Document {
        Document::new(path, kind, text)
    }

    #[test]
    fn codeowners_rules_and_default_owner() {
        let c = codeowners(&doc(
            ".github/CODEOWNERS",
            DocKind("codeowners"),
            "# owners\n* @acme/payments\n/infra/ @acme/platform # infra team\n/docs/\n",
        ));
        assert!(c.has_default_owner);
        assert_eq!(c.rules.len(), 3);
        assert_eq!(c.rules[1].line, 3);
        assert_eq!(c.rules[1].owners, vec!["@acme/platform"]);
        assert!(c.rules[2].owners.is_empty());
    }
}
