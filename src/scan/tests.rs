//! The area registry's invariants, and classification through every
//! area's kinds as the scan sees them.

use std::collections::BTreeSet;

use crate::area::{AREAS, CHECKS, kinds};
use crate::document::{DocKind, Head};
use crate::scan;

fn classify(path: &str, text: &str) -> Option<&'static str> {
    let c = scan::classifier();
    c.classify(&c.candidates(path), text).map(|k| k.name())
}

#[test]
fn check_ids_are_unique() {
    let mut ids: Vec<_> = CHECKS.iter().map(|c| c.id()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), CHECKS.len());
}

#[test]
fn every_kind_is_owned_once_and_every_read_kind_exists() {
    let owned: Vec<(DocKind, &str)> = AREAS
        .iter()
        .flat_map(|a| a.kinds().iter().map(move |k| (k.kind, a.name())))
        .chain(scan::manifest::KINDS.iter().map(|k| (k.kind, "scan")))
        .collect();
    for (kind, owner) in &owned {
        let owners: BTreeSet<&str> = owned
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, o)| *o)
            .collect();
        assert_eq!(
            owners.len(),
            1,
            "{kind} is defined by {owners:?}, not {owner} alone"
        );
    }
    for area in AREAS {
        // The owner reads what it defines: it is the one that reports a
        // file of that kind that does not parse.
        for spec in area.kinds() {
            assert!(
                area.reads(spec.kind),
                "{} defines {} but does not read it",
                area.name(),
                spec.kind
            );
        }
        for kind in area.reading() {
            assert!(
                owned.iter().any(|(k, _)| k == kind),
                "{} reads {kind}, which no area defines",
                area.name()
            );
        }
    }
}

#[test]
fn orders_are_unique_so_precedence_is_explicit() {
    let mut orders: Vec<u16> = kinds()
        .chain(scan::manifest::KINDS)
        .map(|k| k.order)
        .collect();
    orders.sort();
    let n = orders.len();
    orders.dedup();
    assert_eq!(orders.len(), n);
}

#[test]
fn paths_and_sniffs_pick_kinds() {
    assert_eq!(classify("infra/main.tf", ""), Some("terraform"));
    assert_eq!(
        classify(".github/workflows/ci.yml", "on: push"),
        Some("github-workflow")
    );
    assert_eq!(
        classify("readygate.yaml", "service: x"),
        Some("readygate-manifest")
    );
    assert_eq!(classify("sub/readygate.yaml", "service: x"), None);
    assert_eq!(
        classify("k8s/app.yaml", "apiVersion: v1\nkind: Service\n"),
        Some("kubernetes-manifest")
    );
    assert_eq!(
        classify(
            "chart/templates/svc.yaml",
            "apiVersion: v1\nkind: Service\nname: {{ .Release.Name }}\n"
        ),
        Some("helm-template")
    );
    assert_eq!(classify("notes/random.yaml", "a: 1\n"), None);
    assert_eq!(classify("README.md", "# hi"), None);
    assert_eq!(
        classify("slo/api.yaml", "apiVersion: openslo/v1\nkind: SLO\n"),
        Some("openslo")
    );
}

#[test]
fn content_sniffs() {
    let yaml = |text| classify("x/file.yaml", text);
    assert_eq!(
        yaml("---\napiVersion: apps/v1\nkind: Deployment\n"),
        Some("kubernetes-manifest")
    );
    assert_eq!(yaml("spec:\n  apiVersion: v1\n  kind: x\n"), None);
    assert_eq!(
        yaml("version: \"prometheus/v1\"\nservice: x\nslos:\n  - name: a\n"),
        Some("sloth")
    );
    assert_eq!(
        yaml("Resources:\n  B:\n    Type: AWS::S3::Bucket\n"),
        Some("cloudformation")
    );
    assert_eq!(
        yaml("AWSTemplateFormatVersion: '2010-09-09'\n"),
        Some("cloudformation")
    );
    assert_eq!(yaml("Resources:\n  - a\n"), None);
    assert_eq!(
        classify(
            "t/b.json",
            "{\"Resources\": {\"B\": {\"Type\": \"AWS::S3::Bucket\"}}}"
        ),
        Some("cloudformation")
    );
    assert_eq!(classify("package.json", "{\"name\": \"pkg\"}"), None);
    assert_eq!(
        yaml("---\n- name: web\n  hosts: all\n  tasks: []\n"),
        Some("ansible-playbook")
    );
    assert_eq!(
        yaml("- hosts: db\n  roles: [x]\n"),
        Some("ansible-playbook")
    );
    assert_eq!(yaml("- name: a\n  value: 1\n"), None);
    assert_eq!(
        yaml("groups:\n  - name: a\n    rules:\n      - alert: X\n"),
        Some("prometheus-rules")
    );
    assert_eq!(yaml("groups:\n  - admins\n  - users\n"), None);
    assert_eq!(classify("mon/rules.yml", ""), Some("prometheus-rules"));
    assert_eq!(
        classify("semgrep/rules.yml", "rules:\n  - id: semgrep-rule\n"),
        None
    );
    assert_eq!(
        yaml("apiVersion: 1\ngroups:\n  - orgId: 1\n"),
        Some("grafana-alerting")
    );
    assert_eq!(yaml("apiVersion: 1\ncontactPoints: []\n"), None);
    assert_eq!(
        classify(
            "dd/m.json",
            r#"{"name": "x", "type": "query alert", "query": "q", "message": "m"}"#
        ),
        Some("datadog-monitor")
    );
    assert_eq!(
        classify("dd/p.json", r#"{"name": "pkg", "type": "module"}"#),
        None
    );
    // The head helper the sniffs share.
    assert_eq!(Head::new("a: 'b'\n  c: d\n").value("a"), Some("b"));
}

#[test]
fn rule_files_in_every_spelling_promtool_accepts() {
    let rules = |text: &str| classify("monitoring/app.yaml", text);
    let body = "  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n";
    for top in ["groups:", "\"groups\":", "'groups':", "groups :"] {
        assert_eq!(
            rules(&format!("{top}\n{body}")),
            Some("prometheus-rules"),
            "{top}"
        );
    }
    assert_eq!(
        rules(&format!("? groups\n:\n{body}")),
        Some("prometheus-rules")
    );
    assert_eq!(
        rules("{groups: [{name: g, rules: [{alert: A, expr: up == 0}]}]}\n"),
        Some("prometheus-rules")
    );
    assert_eq!(
        rules(
            "\"groups\":\n  - \"name\": g\n    \"rules\":\n      - \"alert\": A\n        \"expr\": up == 0\n"
        ),
        Some("prometheus-rules")
    );
    let json = "{\n  \"groups\": [\n    {\n      \"name\": \"g\",\n      \"rules\": [{\"alert\": \"A\", \"expr\": \"up == 0\"}]\n    }\n  ]\n}\n";
    assert_eq!(
        classify("out/app-rules.json", json),
        Some("prometheus-rules")
    );
    // A package.json is not a rule file.
    assert_eq!(
        classify("package.json", "{\"name\": \"x\", \"scripts\": {}}"),
        None
    );
    // Other tools' `groups:` without rules are not either.
    assert_eq!(rules("groups:\n  - admins\n"), None);
}
