//! SLO definitions: OpenSLO, Sloth and Pyrra.

use super::Fact;
use super::section::{Slo, SloSource};
use crate::document::{Document, Sink};
use crate::evidence::Location;
use crate::yaml::Node;

/// A number or numeric string; values above 1 are percentages.
fn fraction(node: Option<&Node>) -> Option<f64> {
    let value: f64 = node?.scalar_text()?.trim_end_matches('%').parse().ok()?;
    let value = if value > 1.0 { value / 100.0 } else { value };
    // 99.9 / 100 is 0.9990000000000001 in binary; objectives have few digits.
    Some((value * 1e9).round() / 1e9)
}

fn slo(
    doc: &Document,
    node: &Node,
    source: SloSource,
    name: Option<String>,
    service: Option<String>,
) -> Slo {
    Slo {
        location: Location::at(&doc.path, node.pos),
        source,
        name: name.unwrap_or_else(|| "(unnamed)".into()),
        service,
        objective: None,
        window: None,
    }
}

pub fn openslo(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    if node.str_at("kind") != Some("SLO") {
        return;
    }
    let spec = node.get("spec");
    let name = node.path(&["metadata", "name"]).and_then(Node::scalar_text);
    let service = spec.and_then(|s| s.str_at("service")).map(str::to_string);
    let mut fact = slo(doc, node, SloSource::Openslo, name, service);
    let first_objective = spec
        .and_then(|s| s.get("objectives"))
        .and_then(Node::as_seq)
        .and_then(|o| o.first());
    fact.objective = first_objective
        .and_then(|o| fraction(o.get("target")).or_else(|| fraction(o.get("targetPercent"))));
    fact.window = spec
        .and_then(|s| s.get("timeWindow"))
        .and_then(Node::as_seq)
        .and_then(|w| w.first())
        .and_then(|w| w.str_at("duration"))
        .map(str::to_string);
    out.push(Fact::Slo(fact));
}

/// Sloth's own format (`version: prometheus/v1`) and its Kubernetes CRD.
pub fn sloth(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    let body = if node.str_at("kind") == Some("PrometheusServiceLevel") {
        node.get("spec")
    } else {
        Some(node)
    };
    let Some(body) = body else { return };
    let service = body.str_at("service").map(str::to_string);
    for item in body.get("slos").and_then(Node::as_seq).unwrap_or_default() {
        let mut fact = slo(
            doc,
            item,
            SloSource::Sloth,
            item.scalar_text_at("name"),
            service.clone(),
        );
        fact.objective = fraction(item.get("objective"));
        out.push(Fact::Slo(fact));
    }
}

pub fn pyrra(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    if node.str_at("kind") != Some("ServiceLevelObjective") {
        return;
    }
    let spec = node.get("spec");
    let name = node.path(&["metadata", "name"]).and_then(Node::scalar_text);
    let service = node
        .path(&["metadata", "labels"])
        .and_then(|l| l.str_at("service").or_else(|| l.str_at("app")))
        .map(str::to_string);
    let mut fact = slo(doc, node, SloSource::Pyrra, name, service);
    fact.objective = fraction(spec.and_then(|s| s.get("target")));
    fact.window = spec.and_then(|s| s.str_at("window")).map(str::to_string);
    out.push(Fact::Slo(fact));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_become_fractions() {
        let node = crate::yaml::parse_single("a: 99.9\nb: \"99.5\"\nc: 0.995\n").unwrap();
        assert_eq!(fraction(node.get("a")), Some(0.999));
        assert_eq!(fraction(node.get("b")), Some(0.995));
        assert_eq!(fraction(node.get("c")), Some(0.995));
    }
}
