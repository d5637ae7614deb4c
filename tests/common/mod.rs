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

/// `evidence DIR EXTRA...` as JSON; it must succeed.
pub fn evidence(dir: &str, extra: &[&str]) -> Value {
    let mut args = vec!["evidence", dir];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    json(&out)
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

/// The official SARIF 2.1.0 schema (vendored in `schemas/`).
pub fn sarif_validator() -> jsonschema::Validator {
    let mut schema: Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/sarif-2.1.0.schema.json").unwrap())
            .unwrap();
    // The official schema's `run.language` pattern has an unbalanced `]`,
    // which the meta-schema rejects as a regex. readygate never writes
    // `language`, so the pattern is dropped here and the vendored file stays
    // byte-for-byte official.
    let mut dropped = 0;
    for definition in schema["definitions"].as_object_mut().unwrap().values_mut() {
        if let Some(language) = definition
            .pointer_mut("/properties/language")
            .and_then(Value::as_object_mut)
            && language.remove("pattern").is_some()
        {
            dropped += 1;
        }
    }
    assert!(dropped > 0);
    jsonschema::validator_for(&schema).unwrap()
}

/// Copy a fixture tree (files and directories only).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Run git in `dir` with a fixed identity and no user configuration;
/// its stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=readygate tests",
            "-c",
            "user.email=tests@readygate.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub const RULES: &str = "deploy/monitoring/checkout-api.rules.yml";

/// A repository with the sample service at `sub` (or the root) committed on
/// `main`, and the feature branch checked out.
pub fn feature_repo(sub: &str) -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    let repo = temp.path();
    let service = repo.join(sub);
    copy_dir(Path::new(SAMPLE), &service);
    git(repo, &["init", "-q"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "base"]);
    git(repo, &["checkout", "-q", "-b", "feature"]);
    let rules = std::fs::read_to_string(service.join(RULES)).unwrap();
    // Three lines on top move every existing alert; one new paging alert
    // without a runbook at the end.
    let rules = format!(
        "# Owned by the checkout team.\n# Reviewed 2026-11.\n# Thresholds from the SLO doc.\n{rules}\n      - alert: CheckoutApiDown\n        expr: up{{job=\"checkout-api\"}} == 0\n        for: 2m\n        labels:\n          severity: critical\n        annotations:\n          summary: \"checkout-api is down\"\n"
    );
    write(&service, RULES, &rules);
    add_slo(&service);
    git(repo, &["commit", "-q", "-am", "feature"]);
    temp
}

pub fn add_slo(service: &Path) {
    let manifest = std::fs::read_to_string(service.join("readygate.yaml")).unwrap();
    write(
        service,
        "readygate.yaml",
        &format!(
            "{manifest}slos:\n  - name: availability\n    objective: 0.999\n    window: 30d\n"
        ),
    );
}

pub fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

// ---------------------------------------------------------- http server --

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// A request as the loopback test server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// A binary body (a zip), sent instead of `body`.
    pub bytes: Option<Vec<u8>>,
    /// Accept the request and never answer.
    pub stall: bool,
}

impl Response {
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            bytes: None,
            stall: false,
        }
    }

    pub fn bytes(status: u16, bytes: Vec<u8>) -> Self {
        Self {
            bytes: Some(bytes),
            ..Self::new(status, "")
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn stall() -> Self {
        Self {
            stall: true,
            ..Self::new(200, "")
        }
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// An HTTP/1.1 server on loopback that records every request.
pub struct Server {
    pub port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    pub fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Self {
        Self::listen(None, handler)
    }

    /// The same over TLS with `config` (a certificate the test made).
    pub fn start_tls(
        config: Arc<rustls::ServerConfig>,
        handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> Self {
        Self::listen(Some(config), handler)
    }

    fn listen(
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let handler: Arc<Handler> = Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (recorded, handler, tls) = (recorded.clone(), handler.clone(), tls.clone());
                std::thread::spawn(move || match tls {
                    None => serve(stream, &recorded, &*handler),
                    Some(config) => {
                        let conn = rustls::ServerConnection::new(config).unwrap();
                        let mut tls = rustls::StreamOwned::new(conn, stream);
                        serve(&mut tls, &recorded, &*handler);
                        tls.conn.send_close_notify();
                        let _ = tls.flush();
                    }
                });
            }
        });
        Self { port, requests }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    pub fn hits(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }
}

fn serve(mut stream: impl Read + Write, recorded: &Mutex<Vec<Request>>, handler: &Handler) {
    let mut reader = BufReader::new(&mut stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    drop(reader);
    let mut parts = request_line.split(' ');
    let request = Request {
        method: parts.next().unwrap_or_default().to_string(),
        path: parts.next().unwrap_or("/").to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    recorded.lock().unwrap().push(request.clone());
    let response = handler(&request);
    if response.stall {
        std::thread::sleep(std::time::Duration::from_secs(120));
        return;
    }
    let reason = match response.status {
        200 => "OK",
        201 => "Created",
        301 => "Moved Permanently",
        302 => "Found",
        _ => "Status",
    };
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", response.status);
    for (k, v) in &response.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = response.bytes.unwrap_or_else(|| response.body.into_bytes());
    let _ = write!(
        stream,
        "{head}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(&body);
}
