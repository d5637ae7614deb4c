//! Helpers shared by the integration tests: the real binary, its output,
//! and the findings in a JSON report.
#![allow(dead_code)] // each test crate uses its own subset

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

pub const SAMPLE: &str = "examples/sample-service";
pub const ZOO: &str = "tests/fixtures/iac-zoo";
pub const FACTS: &str = "tests/fixtures/service-facts";
pub const POLICIES: &str = "tests/fixtures/policies";

/// The binary with no runner context leaking in from the environment.
pub fn readygate() -> Command {
    let mut cmd = Command::cargo_bin("readygate").unwrap();
    for var in [
        "GITHUB_EVENT_NAME",
        "GITHUB_REF_NAME",
        "GITHUB_BASE_REF",
        "NO_COLOR",
        // Loopback test servers must be reached directly.
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

pub fn run(args: &[&str]) -> Output {
    readygate().args(args).output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

pub fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// `check DIR --format json EXTRA...` as a JSON report.
pub fn check_report(dir: &str, extra: &[&str]) -> Value {
    let mut args = vec!["check", dir, "--format", "json"];
    args.extend_from_slice(extra);
    json(&run(&args))
}

pub fn policy(name: &str) -> String {
    format!("{POLICIES}/{name}.yaml")
}

/// Findings of `rule` in a JSON report.
pub fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

pub fn states(report: &Value, rule: &str) -> Vec<String> {
    findings(report, rule)
        .iter()
        .map(|f| f["state"].as_str().unwrap().to_string())
        .collect()
}

pub fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}
