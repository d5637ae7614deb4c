//! The feature-flags area on repositories shaped like real ones: a demo
//! application with flagd, SDKs and the OpenFeature operator; an
//! SDK-contrib-style repository with several formats side by side; flagd
//! files broken the ways people break them, each reported at its line.

mod common;

use common::*;
use serde_json::Value;

const DEMO: &str = "tests/fixtures/flags/demo-app";
const CONTRIB: &str = "tests/fixtures/flags/sdk-contrib";

/// (path, format, flag count) of every flag source.
fn sources(ev: &Value) -> Vec<(&str, &str, u64)> {
    ev["flags"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["location"]["path"].as_str().unwrap(),
                s["format"].as_str().unwrap(),
                s["flags"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// (file name, line, kind) of every violation, sorted.
fn violations(ev: &Value) -> Vec<(String, u64, String)> {
    let mut out: Vec<(String, u64, String)> = ev["flags"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["location"]["path"].as_str().unwrap().to_string(),
                v["location"]["line"].as_u64().unwrap(),
                v["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_demo_application_with_flagd_sdks_and_the_operator() {
    let ev = evidence(DEMO, &[]);
    let flags = &ev["flags"];
    // 15 in the flagd file, 1 in the operator's FeatureFlag.
    assert_eq!(flags["flags"].as_array().unwrap().len(), 16);
    assert_eq!(violations(&ev), []);
    let sdks: Vec<(&str, &str)> = flags["sdks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["package"].as_str().unwrap(),
                s["version"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        sdks,
        [
            ("github.com/open-feature/go-sdk", "1.14.1"),
            (
                "github.com/open-feature/go-sdk-contrib/providers/flagd",
                "0.2.6"
            ),
            ("dev.openfeature", "-"),
            ("dev.openfeature.contrib.providers", "-"),
            ("@openfeature/server-sdk", "1.17.1"),
            ("@openfeature/flagd-provider", "0.13.3"),
        ]
    );
    let providers: Vec<&str> = flags["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        providers,
        ["FeatureFlagSource", "FeatureFlag", "flagd container"]
    );
    let search = flags["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "search-ranking")
        .unwrap();
    assert_eq!(
        search["rollout"],
        serde_json::json!([["classic", 50], ["ml-v1", 25], ["ml-v2", 25]])
    );
    assert_eq!(search["location"]["path"], "flags/demo.flagd.json");

    let report = check_report(DEMO, &["--event", "local"]);
    assert_eq!(states(&report, "flags.mechanism"), ["pass"]);
    assert_eq!(states(&report, "flags.valid"), ["pass"]);
    assert_eq!(states(&report, "flags.consistent"), ["pass"]);
    // Of three temporary flags, one serves `on` to everyone; one is still
    // at 10 %, one targets internal users.
    let launched = findings(&report, "flags.temporary-launched");
    assert_eq!(launched.len(), 1, "{launched:?}");
    assert_eq!(launched[0]["state"], "warn");
    assert_eq!(launched[0]["target"], "checkout-v2-payment-retry");
    assert!(
        launched[0]["message"]
            .as_str()
            .unwrap()
            .contains("enabled with no targeting, so every evaluation gets `on`")
    );
}

/// An SDK-contrib-style repository: flagd (a file and a ConfigMap, two flag
/// sets), an OpenFeature manifest, go-feature-flag, an Unleash environment
/// export and LaunchDarkly in Terraform side by side, with the providers'
/// test data.
#[test]
fn formats_side_by_side_are_told_apart() {
    let ev = evidence(CONTRIB, &[]);
    assert_eq!(
        sources(&ev),
        [
            ("flags.json", "openfeature-manifest", 2),
            ("providers/flagd/deploy/flagd-config.yaml", "flagd", 2),
            ("providers/flagd/flags/custom.flagd.json", "flagd", 2),
            ("providers/flagd/testdata/invalid.flagd.json", "flagd", 1),
            (
                "providers/go-feature-flag/flags.goff.yaml",
                "go-feature-flag",
                2
            ),
            (
                "providers/go-feature-flag/testdata/flag-config.yaml",
                "go-feature-flag",
                1
            ),
            (
                "providers/launchdarkly/terraform/flags.tf",
                "launchdarkly",
                1
            ),
            ("providers/unleash/export.json", "unleash", 2),
        ]
    );
    let flag = |key: &str| {
        ev["flags"]["flags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == key)
            .unwrap_or_else(|| panic!("no flag {key}"))
            .clone()
    };
    assert_eq!(flag("new-checkout")["format"], "go-feature-flag");
    assert_eq!(
        flag("new-checkout")["rollout"],
        serde_json::json!([["enabled", 20000], ["disabled", 80000]])
    );
    // The environment export: strategies without `environment`, the
    // disabled one ignored.
    assert_eq!(
        flag("playground.pricing-test")["rollout"],
        serde_json::json!([["on", 30000], ["off", 70000]])
    );
    assert_eq!(
        flag("search-v2")["set"],
        "launchdarkly_project.playground.key"
    );
    // The ConfigMap's flags at the manifest's lines.
    let slow = flag("slowCatalog");
    assert_eq!(
        (
            slow["location"]["path"].as_str().unwrap(),
            slow["location"]["line"].as_u64().unwrap(),
            slow["set"].as_str().unwrap()
        ),
        ("providers/flagd/deploy/flagd-config.yaml", 19, "canary")
    );
    let got: Vec<(String, u64, String)> = ev["flags"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["location"]["path"].as_str().unwrap().to_string(),
                v["location"]["line"].as_u64().unwrap(),
                v["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // `headerColor` in two flag sets with different defaults is two flags,
    // not a conflict.
    assert_eq!(
        got,
        [
            (
                "flags.json".to_string(),
                11,
                "flag `maxItems`: `defaultValue` is not an integer".to_string()
            ),
            (
                "providers/flagd/deploy/flagd-config.yaml".to_string(),
                24,
                "flag `slowCatalog`: targeting uses operator `fractionalEvaluation` (`fractional`?), which flagd does not know; evaluation fails and the flag serves its default".to_string()
            ),
            (
                "providers/flagd/testdata/invalid.flagd.json".to_string(),
                3,
                "flag `x`: `state`: must be one of: `ENABLED`, `DISABLED`".to_string()
            ),
        ]
    );
    // `// indirect` requirements are not the module's own use.
    let packages: Vec<&str> = ev["flags"]["sdks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["package"].as_str().unwrap())
        .collect();
    assert_eq!(packages.len(), 5, "{packages:?}");
    assert!(!packages.iter().any(|p| p.contains("unleash-client-go")));

    let report = check_report(CONTRIB, &["--event", "local"]);
    let valid: Vec<(&str, &str)> = findings(&report, "flags.valid")
        .iter()
        .map(|f| (f["state"].as_str().unwrap(), f["message"].as_str().unwrap()))
        .collect();
    assert_eq!(valid.len(), 3, "{valid:?}");
    assert_eq!(valid.iter().filter(|(s, _)| *s == "fail").count(), 2);
    // A broken file in test data is collected but not judged.
    assert!(
        valid
            .iter()
            .any(|(s, m)| *s == "skip" && m.starts_with("out of scope (test)")),
        "{valid:?}"
    );
    assert_eq!(states(&report, "flags.consistent"), ["pass"]);
    let launched: Vec<&str> = findings(&report, "flags.temporary-launched")
        .iter()
        .map(|f| f["target"].as_str().unwrap())
        .collect();
    assert_eq!(launched, ["playground.new-onboarding"]);
    let mechanism = findings(&report, "flags.mechanism");
    assert_eq!(mechanism[0]["state"], "pass");
    // Test data is not counted: 11 flags in 7 production files.
    assert!(
        mechanism[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("11 flag(s) in 6 file(s); SDK: launchdarkly, openfeature"),
        "{}",
        mechanism[0]["message"]
    );
}

/// Flag definitions and SDKs only in tests and examples are no mechanism;
/// a pass of flags.valid counts only production files and says which it
/// did not validate.
#[test]
fn only_production_files_count_for_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "readygate.yaml",
        "service: s\ntier: 1\nowners: ['@o/t']\n",
    );
    write(
        root,
        "tests/fixtures/flags.flagd.json",
        "{\"flags\": {\"a\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true}, \"defaultVariant\": \"on\"}}}\n",
    );
    write(
        root,
        "examples/web/package.json",
        "{\"dependencies\": {\"@openfeature/web-sdk\": \"^1.5.0\"}}\n",
    );
    let report = check_report(root.to_str().unwrap(), &["--event", "local"]);
    let mechanism = findings(&report, "flags.mechanism");
    assert_eq!(mechanism.len(), 1);
    assert_eq!(mechanism[0]["state"], "warn");
    assert!(
        mechanism[0]["message"]
            .as_str()
            .unwrap()
            .ends_with("in production code (2 found only in test, example or vendored files, which do not count)"),
        "{}",
        mechanism[0]["message"]
    );
    assert_eq!(states(&report, "flags.valid"), ["skip"]);

    // With an Unleash export in production, the pass says it was read,
    // not validated.
    write(
        root,
        "flags/unleash.json",
        "{\"features\": [{\"name\": \"f\", \"type\": \"kill-switch\"}], \"featureStrategies\": []}\n",
    );
    write(
        root,
        "flags/app.flagd.json",
        "{\"flags\": {\"b\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true}, \"defaultVariant\": \"on\"}}}\n",
    );
    let report = check_report(root.to_str().unwrap(), &["--event", "local"]);
    let valid = findings(&report, "flags.valid");
    assert_eq!(valid.len(), 1);
    assert_eq!(
        valid[0]["message"],
        "1 flag file(s) valid, 1 flags (flagd: 1 file; flagd schema 0.2.15); read, not validated: Unleash export: 1 file"
    );
}

#[test]
fn broken_flagd_files_are_reported_at_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let files = [
        // line 6: the default names no variant
        (
            "default.flagd.json",
            "{\n  \"flags\": {\n    \"a\": {\n      \"state\": \"ENABLED\",\n      \"variants\": {\"on\": true, \"off\": false},\n      \"defaultVariant\": \"maybe\"\n    }\n  }\n}\n",
        ),
        // line 3: variants of two types
        (
            "mixed.flagd.json",
            "{\n  \"flags\": {\n    \"b\": {\n      \"state\": \"ENABLED\",\n      \"variants\": {\"on\": true, \"off\": \"no\"},\n      \"defaultVariant\": \"on\"\n    }\n  }\n}\n",
        ),
        // line 3: no `state`
        (
            "nostate.flagd.json",
            "{\n  \"flags\": {\n    \"c\": {\n      \"variants\": {\"on\": true},\n      \"defaultVariant\": \"on\"\n    }\n  }\n}\n",
        ),
        // line 7: `$ref` to an evaluator that does not exist
        (
            "ref.flagd.json",
            "{\n  \"flags\": {\n    \"d\": {\n      \"state\": \"ENABLED\",\n      \"variants\": {\"on\": true, \"off\": false},\n      \"defaultVariant\": \"off\",\n      \"targeting\": {\"if\": [{\"$ref\": \"isStaff\"}, \"on\", null]}\n    }\n  }\n}\n",
        ),
        // line 5: a trailing comma, which flagd rejects
        (
            "comma.flagd.json",
            "{\n  \"flags\": {\n    \"e\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true}, \"defaultVariant\": \"on\"},\n    \"f\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true}, \"defaultVariant\": \"on\"},\n  }\n}\n",
        ),
        // line 2: a comment
        (
            "comment.flagd.json",
            "{\n  // flags for the demo\n  \"flags\": {\"g\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true}}}\n}\n",
        ),
        // line 5: evaluators that refer to each other
        (
            "cycle.flagd.json",
            "{\n  \"flags\": {\"h\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": false}, \"targeting\": {\"if\": [{\"$ref\": \"a\"}, \"on\", \"off\"]}}},\n  \"$evaluators\": {\n    \"a\": {\"or\": [{\"$ref\": \"b\"}, false]},\n    \"b\": {\"and\": [{\"$ref\": \"a\"}, true]}\n  }\n}\n",
        ),
        // line 6: a fractional bucket for a variant the flag lacks
        (
            "fractional.flagd.json",
            "{\n  \"flags\": {\n    \"i\": {\n      \"state\": \"ENABLED\",\n      \"variants\": {\"on\": true, \"off\": false},\n      \"targeting\": {\"fractional\": [[\"on\", 50], [\"of\", 50]]}\n    }\n  }\n}\n",
        ),
    ];
    for (name, text) in files {
        write(root, &format!("flags/{name}"), text);
    }
    let ev = evidence(root.to_str().unwrap(), &[]);
    let got: Vec<(String, u64, String)> = violations(&ev)
        .into_iter()
        .map(|(p, l, k)| (p.trim_start_matches("flags/").to_string(), l, k))
        .collect();
    let want = [
        ("comma.flagd.json", 5, "syntax"),
        ("comment.flagd.json", 2, "syntax"),
        ("cycle.flagd.json", 5, "evaluator-ref"),
        ("default.flagd.json", 6, "default-variant"),
        ("fractional.flagd.json", 6, "fractional"),
        ("mixed.flagd.json", 3, "variant-types"),
        ("nostate.flagd.json", 3, "schema"),
        ("ref.flagd.json", 7, "evaluator-ref"),
    ];
    let want: Vec<(String, u64, String)> = want
        .iter()
        .map(|(p, l, k)| (p.to_string(), *l, k.to_string()))
        .collect();
    assert_eq!(got, want);
    // Every file still counts as flag definitions: the mechanism exists.
    assert_eq!(ev["flags"]["sources"].as_array().unwrap().len(), 8);
    let report = check_report(root.to_str().unwrap(), &["--event", "local"]);
    // What flagd refuses (syntax, a default that names no variant) and what
    // breaks its schema all fail flags.valid; no key is defined twice.
    assert_eq!(findings(&report, "flags.valid").len(), 8);
    assert!(states(&report, "flags.valid").iter().all(|s| s == "fail"));
    assert_eq!(states(&report, "flags.consistent"), ["pass"]);
}

#[test]
fn hostile_flag_files_are_findings_not_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Nesting past serde_json's limit, in a file named like flags.
    let deep = format!(
        "{{\"flags\": {{\"x\": {{\"state\": \"ENABLED\", \"variants\": {{\"on\": {}1{}}}}}}}}}\n",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    write(root, "deep.flagd.json", &deep);
    // A chain of 2 000 evaluators, and a self-reference.
    let mut evaluators: Vec<String> = (0..2_000)
        .map(|i| {
            format!(
                "\"e{i}\": {{\"or\": [{{\"$ref\": \"e{}\"}}, false]}}",
                i + 1
            )
        })
        .collect();
    evaluators.push("\"e2000\": {\"or\": [{\"$ref\": \"e2000\"}, false]}".into());
    write(
        root,
        "chain.flagd.json",
        &format!(
            "{{\"flags\": {{\"y\": {{\"state\": \"ENABLED\", \"variants\": {{\"on\": true}}, \"targeting\": {{\"if\": [{{\"$ref\": \"e0\"}}, \"on\", null]}}}}}},\n\"$evaluators\": {{{}}}}}\n",
            evaluators.join(",\n")
        ),
    );
    // YAML with anchors, as flagd accepts YAML.
    write(
        root,
        "anchors.flagd.yaml",
        "flags:\n  a: &flag\n    state: ENABLED\n    variants: {on: true, off: false}\n    defaultVariant: off\n  b: *flag\n",
    );
    let out = run(&["evidence", root.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = json(&out);
    let kinds: Vec<(String, u64, String)> = violations(&ev);
    assert!(
        kinds.contains(&("chain.flagd.json".into(), 2002, "evaluator-ref".into())),
        "{kinds:?}"
    );
    // 2 002 items: not put through the schema validator, and it says so.
    assert!(
        kinds.contains(&("chain.flagd.json".into(), 1, "schema".into())),
        "{kinds:?}"
    );
    // Too deep to read: a problem at the line, the rest of the run goes on.
    let problems = ev["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["location"]["path"], "deep.flagd.json");
    assert_eq!(problems[0]["document_kind"], "flagd");
    let keys: Vec<&str> = ev["flags"]["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"a") && keys.contains(&"b"), "{keys:?}");
}

/// A Flipt repository: an index that includes `flags/**/*.features.yml` and
/// excludes drafts, several namespaces, one file with two documents.
#[test]
fn a_flipt_repository_with_an_index_and_namespaces() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        ".flipt.yml",
        "version: \"1.0\"\ninclude:\n  - \"flags/**/*.flipt.yaml\"\nexclude:\n  - \"flags/drafts/*.flipt.yaml\"\n",
    );
    write(
        root,
        "flags/checkout/prod.flipt.yaml",
        "version: \"1.4\"\nnamespace:\n  key: checkout\n  name: Checkout\nflags:\n  - key: new-payment-page\n    name: New payment page\n    type: BOOLEAN_FLAG_TYPE\n    enabled: true\n    metadata:\n      temporary: true\n    rollouts:\n      - threshold:\n          percentage: 100\n          value: true\n  - key: payment-provider\n    name: Payment provider\n    type: VARIANT_FLAG_TYPE\n    enabled: true\n    variants:\n      - key: stripe\n      - key: adyen\n    rules:\n      - segment: eu-customers\n        distributions:\n          - variant: adyen\n            rollout: 70\n          - variant: stripe\n            rollout: 40\n  - key: \"bad key!\"\n    enabled: false\nsegments:\n  - key: eu-customers\n    name: EU customers\n    match_type: ANY_MATCH_TYPE\n---\nversion: \"1.4\"\nnamespace: search\nflags:\n  - key: ranking\n    name: Ranking\n    enabled: true\n    variants:\n      - key: classic\n    rules:\n      - segment: beta\n        distributions:\n          - variant: ml\n            rollout: 100\n",
    );
    // Excluded by the index: not Flipt's, so not judged.
    write(
        root,
        "flags/drafts/next.flipt.yaml",
        "flags:\n  - key: \"?\"\n",
    );
    // Flipt merges a namespace's files: a segment of another file counts.
    write(
        root,
        "flags/checkout/banner.flipt.yaml",
        "version: \"1.4\"\nnamespace: checkout\nflags:\n  - key: eu-banner\n    name: EU banner\n    type: BOOLEAN_FLAG_TYPE\n    enabled: true\n    rollouts:\n      - segment:\n          key: eu-customers\n          value: true\n",
    );
    // Flipt's default name, outside the index's globs: still a Flipt file.
    write(
        root,
        "team/features.yml",
        "namespace: team\nflags:\n  - key: kill-switch\n    name: Kill switch\n    enabled: true\n",
    );
    // The same key in another namespace is another flag: no conflict.
    write(
        root,
        "ops/features.yml",
        "namespace: ops\nflags:\n  - key: kill-switch\n    name: Kill switch\n    type: BOOLEAN_FLAG_TYPE\n    enabled: false\n",
    );
    // Another tool's `features.yml`: not Flipt's, not read.
    write(
        root,
        "config/features.yml",
        "development:\n  new_dashboard: true\nproduction:\n  new_dashboard: false\n",
    );
    let ev = evidence(root.to_str().unwrap(), &[]);
    let sources = sources(&ev);
    assert_eq!(
        sources,
        [
            ("flags/checkout/banner.flipt.yaml", "flipt", 1),
            ("flags/checkout/prod.flipt.yaml", "flipt", 4),
            ("ops/features.yml", "flipt", 1),
            ("team/features.yml", "flipt", 1),
        ]
    );
    let got: Vec<(u64, String)> = ev["flags"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["location"]["line"].as_u64().unwrap(),
                v["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                24,
                "flag `payment-provider`: the rule's distributions add up to 110%, over 100%"
                    .to_string()
            ),
            (
                30,
                "flag key `bad key!` must match ^[-_,A-Za-z0-9]+$".to_string()
            ),
            (
                30,
                "flag `bad key!` has no `name`, which Flipt requires".to_string()
            ),
            (
                46,
                "flag `ranking` refers to segment `beta`, which no file of namespace `search` defines"
                    .to_string()
            ),
            (
                48,
                "flag `ranking`: a distribution names variant `ml`, which the flag does not define"
                    .to_string()
            ),
        ]
    );
    let report = check_report(root.to_str().unwrap(), &["--event", "local"]);
    let launched = findings(&report, "flags.temporary-launched");
    assert_eq!(launched.len(), 1);
    assert_eq!(launched[0]["target"], "new-payment-page");
    assert!(
        launched[0]["message"]
            .as_str()
            .unwrap()
            .contains("rollout sends every evaluation to `true`"),
        "{}",
        launched[0]["message"]
    );
}

/// Unleash exports and LaunchDarkly in Terraform, next to each other.
#[test]
fn unleash_exports_and_launchdarkly_terraform() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "unleash/export.json",
        r#"{
  "version": 1,
  "features": [
    {"name": "new-onboarding", "type": "release", "project": "default", "stale": false, "archived": false},
    {"name": "ops-kill-switch", "type": "kill-switch", "project": "default", "stale": false},
    {"name": "pricing-test", "type": "experiment", "project": "default"}
  ],
  "featureStrategies": [
    {"featureName": "new-onboarding", "environment": "production", "strategyName": "flexibleRollout", "parameters": {"rollout": "100", "stickiness": "default", "groupId": "new-onboarding"}, "constraints": []},
    {"featureName": "pricing-test", "environment": "production", "strategyName": "flexibleRollout", "parameters": {"rollout": "25", "stickiness": "default"}, "constraints": []},
    {"featureName": "ops-kill-switch", "environment": "production", "strategyName": "default", "parameters": {}, "constraints": []}
  ],
  "featureEnvironments": [
    {"featureName": "new-onboarding", "environment": "production", "enabled": true},
    {"featureName": "pricing-test", "environment": "production", "enabled": true},
    {"featureName": "ops-kill-switch", "environment": "production", "enabled": true}
  ]
}
"#,
    );
    write(
        root,
        "infra/launchdarkly/flags.tf",
        r#"resource "launchdarkly_feature_flag" "search_v2" {
  project_key    = "shop"
  key            = "search-v2"
  name           = "Search v2"
  variation_type = "boolean"
  temporary      = true

  variations {
    value = true
  }
  variations {
    value = false
  }

  defaults {
    on_variation  = 0
    off_variation = 1
  }
}

resource "launchdarkly_feature_flag_environment" "search_v2_prod" {
  flag_id = launchdarkly_feature_flag.search_v2.id
  env_key = "production"
  on      = true

  fallthrough {
    variation = 0
  }
  off_variation = 1
}

resource "launchdarkly_feature_flag" "checkout_theme" {
  project_key    = "shop"
  key            = "checkout-theme"
  name           = "Checkout theme"
  variation_type = "string"
  temporary      = true
  variations = [
    { value = "light" },
    { value = "dark" },
  ]
  defaults = {
    on_variation  = 0
    off_variation = 3
  }
}

resource "launchdarkly_feature_flag_environment" "checkout_theme_prod" {
  flag_id = launchdarkly_feature_flag.checkout_theme.id
  env_key = "production"
  on      = true
  fallthrough = {
    rollout_weights = [60000, 30000]
  }
}
"#,
    );
    write(
        root,
        ".launchdarkly/coderefs.yaml",
        "projects:\n  - key: shop\n",
    );
    let ev = evidence(root.to_str().unwrap(), &[]);
    let flags: Vec<(&str, &str, bool)> = ev["flags"]["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["key"].as_str().unwrap(),
                f["format"].as_str().unwrap(),
                f["temporary"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("search-v2", "launchdarkly", true),
            ("checkout-theme", "launchdarkly", true),
            ("new-onboarding", "unleash", true),
            ("ops-kill-switch", "unleash", false),
            ("pricing-test", "unleash", true),
        ]
    );
    let mut got: Vec<(String, String)> = ev["flags"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["kind"].as_str().unwrap().to_string(),
                v["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "default-variant".to_string(),
                "flag `checkout-theme`: defaults.off_variation is 3, but the flag has 2 variations"
                    .to_string()
            ),
            (
                "fractional".to_string(),
                "fallthrough rollout_weights add up to 90000; LaunchDarkly needs 100000"
                    .to_string()
            ),
        ]
    );
    assert_eq!(
        ev["flags"]["providers"][0]["kind"],
        "LaunchDarkly code references"
    );
    let report = check_report(root.to_str().unwrap(), &["--event", "local"]);
    let mut launched: Vec<&str> = findings(&report, "flags.temporary-launched")
        .iter()
        .filter(|f| f["state"] == "warn")
        .map(|f| f["target"].as_str().unwrap())
        .collect();
    launched.sort();
    // 100 % rollouts with no targeting; the 25 % experiment and the 60/30
    // split are still rolling out, the kill switch is not temporary.
    assert_eq!(launched, ["new-onboarding", "search-v2"]);
}

/// Found attacking the area: a `.flipt.yml` below the root, or one that
/// excludes other formats' files, hid every flag finding; a flagd file
/// called `features.json` was taken for Flipt's and not validated.
#[test]
fn an_index_cannot_hide_other_formats_and_flagd_wins_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "flags/app.flagd.json",
        "{\"flags\": {\"a\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true}, \"defaultVariant\": \"off\"}}}\n",
    );
    write(
        root,
        ".flipt.yml",
        "version: \"1.0\"\nexclude:\n  - \"flags/*\"\n",
    );
    write(
        root,
        "tests/fixtures/.flipt.yml",
        "version: \"1.0\"\nexclude:\n  - \"../../flags/*\"\n",
    );
    write(
        root,
        "svc/features.json",
        "{\"flags\": {\"b\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": \"no\"}, \"defaultVariant\": \"on\"}}}\n",
    );
    let ev = evidence(root.to_str().unwrap(), &[]);
    assert_eq!(
        sources(&ev),
        [
            ("flags/app.flagd.json", "flagd", 1),
            ("svc/features.json", "flagd", 1)
        ]
    );
    assert_eq!(
        violations(&ev),
        [
            (
                "flags/app.flagd.json".to_string(),
                1,
                "default-variant".to_string()
            ),
            (
                "svc/features.json".to_string(),
                1,
                "variant-types".to_string()
            ),
        ]
    );
}
