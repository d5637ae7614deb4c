//! The feature-flags area on repositories shaped like real ones: a demo
//! application with flagd, SDKs and the OpenFeature operator; an
//! SDK-contrib-style repository with several formats side by side; flagd
//! files broken the ways people break them, each reported at its line.

mod common;

use common::*;
use serde_json::Value;

const DEMO: &str = "tests/fixtures/flags/demo-app";

fn evidence(dir: &str) -> Value {
    let out = run(&["evidence", dir]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    json(&out)
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
    let ev = evidence(DEMO);
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

#[test]
fn formats_side_by_side_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "providers/go-feature-flag/flags.goff.yaml",
        "new-checkout:\n  variations:\n    enabled: true\n    disabled: false\n  defaultRule:\n    percentage:\n      enabled: 20\n      disabled: 80\nlegacy-search:\n  variations:\n    on: true\n    off: false\n  defaultRule:\n    variation: off\n",
    );
    write(
        root,
        "flags.json",
        "{\n  \"$schema\": \"https://raw.githubusercontent.com/open-feature/cli/main/schema/v0/flag-manifest.json\",\n  \"flags\": {\n    \"enableDarkMode\": {\"flagType\": \"boolean\", \"defaultValue\": false, \"description\": \"dark mode\"},\n    \"maxItems\": {\"flagType\": \"integer\", \"defaultValue\": \"ten\"}\n  }\n}\n",
    );
    write(
        root,
        "providers/flagd/flags/custom.flagd.json",
        "{\n  \"flags\": {\n    \"headerColor\": {\n      \"state\": \"ENABLED\",\n      \"variants\": {\"red\": \"#FF0000\", \"blue\": \"#0000FF\"},\n      \"defaultVariant\": \"red\"\n    }\n  }\n}\n",
    );
    // A broken file in test data is collected but not judged.
    write(
        root,
        "providers/flagd/testdata/invalid.flagd.json",
        "{\n  \"flags\": {\n    \"x\": {\"state\": \"ON\", \"variants\": {\"a\": 1}}\n  }\n}\n",
    );
    let ev = evidence(root.to_str().unwrap());
    let formats: Vec<(&str, &str, u64)> = ev["flags"]["sources"]
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
        .collect();
    assert_eq!(
        formats,
        [
            ("flags.json", "openfeature-manifest", 2),
            ("providers/flagd/flags/custom.flagd.json", "flagd", 1),
            ("providers/flagd/testdata/invalid.flagd.json", "flagd", 1),
            (
                "providers/go-feature-flag/flags.goff.yaml",
                "go-feature-flag",
                2
            ),
        ]
    );
    let goff = ev["flags"]["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "new-checkout")
        .unwrap();
    assert_eq!(goff["format"], "go-feature-flag");
    assert_eq!(
        goff["rollout"],
        serde_json::json!([["enabled", 20000], ["disabled", 80000]])
    );
    assert_eq!(
        violations(&ev),
        [
            ("flags.json".to_string(), 5, "schema".to_string()),
            (
                "providers/flagd/testdata/invalid.flagd.json".to_string(),
                3,
                "schema".to_string()
            ),
        ]
    );
    let report = check_report(root.to_str().unwrap(), &["--event", "local"]);
    let valid = findings(&report, "flags.valid");
    let judged: Vec<(&str, &str)> = valid
        .iter()
        .map(|f| (f["state"].as_str().unwrap(), f["message"].as_str().unwrap()))
        .collect();
    assert_eq!(judged.len(), 2, "{judged:?}");
    assert_eq!(
        judged[0],
        ("fail", "flag `maxItems`: `defaultValue` is not a integer")
    );
    assert_eq!(judged[1].0, "skip");
    assert!(judged[1].1.starts_with("out of scope (test)"));
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
    let ev = evidence(root.to_str().unwrap());
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
    assert_eq!(findings(&report, "flags.valid").len(), 7);
    assert!(states(&report, "flags.valid").iter().all(|s| s == "fail"));
    assert_eq!(states(&report, "flags.consistent"), ["fail"]);
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
