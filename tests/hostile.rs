//! Repository content written to crash or exhaust the gate: each reproducer
//! is generated here (no checked-in bombs) and must end in a clear error or
//! a problem finding naming the file, within a memory limit, never a crash.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

/// Address-space limit for a hostile run (KiB): allocations past it fail,
/// so a run that would grow without bound aborts and the test fails.
const MEMORY_LIMIT_KB: u64 = 1024 * 1024;

/// `readygate ARGS` under the memory limit (`ulimit -v`, where the shell
/// has it).
fn limited(args: &[&str]) -> Output {
    let bin = assert_cmd::cargo::cargo_bin("readygate");
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!(
        "ulimit -v {MEMORY_LIMIT_KB} 2>/dev/null; exec '{}' {}",
        bin.display(),
        quoted.join(" ")
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .env_remove("GITHUB_EVENT_NAME")
        .output()
        .unwrap()
}

fn repo_with(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// The evidence's problems as (path, line, message).
fn problems(root: &Path) -> Vec<(String, u64, String)> {
    let out = limited(&["evidence", root.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    json(&out)["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["location"]["path"].as_str().unwrap().to_string(),
                p["location"]["line"].as_u64().unwrap(),
                p["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn nested_complex_keys_do_not_grow_key_text() {
    // 90 bytes that used to double memory per level (16 GB).
    let dir = repo_with(&[("x.rules.yml", format!("groups:\n{}x\n", "? ".repeat(40)))]);
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "x.rules.yml");
}

#[test]
fn deep_sequences_and_mappings_are_problems_not_stack_overflows() {
    let dir = repo_with(&[
        (
            "seq.rules.yml",
            format!("groups:\n{}x\n", "- ".repeat(4_200)),
        ),
        (
            "map.rules.yml",
            format!("groups: {}1{}\n", "{a: ".repeat(5_000), "}".repeat(5_000)),
        ),
        (
            "k8s/rule.yaml",
            format!(
                "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nspec: {}1{}\n",
                "[".repeat(20_000),
                "]".repeat(20_000)
            ),
        ),
    ]);
    let found = problems(dir.path());
    assert_eq!(found.len(), 3, "{found:?}");
    for (path, line, message) in &found {
        // Ours, or the YAML scanner's own limit for flow collections.
        assert!(
            message.contains("nested deeper than 128 levels")
                || message.contains("recursion limit exceeded"),
            "{path}: {message}"
        );
        assert!(*line >= 1);
    }
}

#[test]
fn a_deep_manifest_or_policy_is_a_config_error_naming_the_file() {
    let dir = repo_with(&[(
        "readygate.yaml",
        format!("service: x\nowners:\n{}a\n", "- ".repeat(5_000)),
    )]);
    let out = limited(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("readygate.yaml:3:"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("nested deeper than 128 levels"));

    let dir = repo_with(&[(
        "pack.yaml",
        format!(
            "name: p\nextends:\n{}builtin:baseline\n",
            "- ".repeat(20_000)
        ),
    )]);
    let pack = dir.path().join("pack.yaml");
    let out = limited(&["policy", "lint", pack.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("nested deeper than 128 levels"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hostile_cel_is_refused_at_load_naming_the_rule() {
    let rule = |expr: &str| {
        format!(
            "name: p\nextends: [builtin:baseline]\nrules:\n  - id: team.x\n    title: t\n    level: bronze\n    expr: '{expr}'\n    why: w\n    remediation: r\n"
        )
    };
    for (expr, says) in [
        (format!("{}1 > 0", "1 + ".repeat(50_000)), "limit is"),
        (format!("{}x{}", " ".repeat(70_000), " == 1"), "limit is"),
        (
            "[1,2,3].map(a, [1,2,3].map(b, [1,2,3].map(c, [a, b, c]))).size() > 0".into(),
            "comprehensions",
        ),
    ] {
        let dir = repo_with(&[("pack.yaml", rule(&expr))]);
        let pack = dir.path().join("pack.yaml");
        let out = limited(&["policy", "lint", pack.to_str().unwrap()]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("pack.yaml:7:"), "{err}");
        assert!(err.contains(says), "{err}");
    }
}
