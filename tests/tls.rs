//! TLS end to end: live handshakes against real TLS servers on loopback
//! with certificates made here by a test CA (valid, expiring, expired, for
//! another host, self-signed, served without their intermediate), servers
//! that stall or reset, and the static monitors and blind spots of every
//! family.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Datelike, Utc};
use common::*;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;

// ------------------------------------------------------------ test PKI --

/// Valid from `from` to `to` days from today.
fn validity(params: &mut CertificateParams, from: i64, to: i64) {
    let day = |d: i64| {
        let t = Utc::now().date_naive() + chrono::Duration::days(d);
        rcgen::date_time_ymd(t.year(), t.month() as u8, t.day() as u8)
    };
    params.not_before = day(from);
    params.not_after = day(to);
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut params, -365, 3650);
    params
}

/// A root CA and an intermediate it signed.
struct Pki {
    root: CertifiedIssuer<'static, KeyPair>,
    intermediate: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Self {
        let root = CertifiedIssuer::self_signed(
            ca_params("readygate test root"),
            KeyPair::generate().unwrap(),
        )
        .unwrap();
        let intermediate = CertifiedIssuer::signed_by(
            ca_params("readygate test intermediate"),
            KeyPair::generate().unwrap(),
            &root,
        )
        .unwrap();
        Self { root, intermediate }
    }

    /// A leaf for `names`, valid `from`..`to` days from today, signed by
    /// the intermediate; the chain served with or without it.
    fn leaf(&self, names: &[&str], from: i64, to: i64, with_intermediate: bool) -> Served {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        validity(&mut params, from, to);
        let cert = params.signed_by(&key, &self.intermediate).unwrap();
        let mut chain = vec![cert.der().clone()];
        if with_intermediate {
            chain.push(self.intermediate.der().clone());
        }
        Served { chain, key }
    }

    fn self_signed(names: &[&str]) -> Served {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        validity(&mut params, -1, 90);
        let cert = params.self_signed(&key).unwrap();
        Served {
            chain: vec![cert.der().clone()],
            key,
        }
    }

    fn write_root(&self, dir: &Path) -> String {
        let path = dir.join("root.pem");
        std::fs::write(&path, self.root.pem()).unwrap();
        path.to_str().unwrap().to_string()
    }
}

struct Served {
    chain: Vec<CertificateDer<'static>>,
    key: KeyPair,
}

// ---------------------------------------------------------- TLS servers --

/// A TLS server on loopback answering HTTP: `/health` 200 with HSTS,
/// `/boom` 500, `/loop` a redirect to itself.
fn tls_server(served: Served) -> u16 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(served.key.serialize_der()));
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(served.chain, key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut reader = BufReader::new(&mut tls);
                let mut request = String::new();
                if reader.read_line(&mut request).unwrap_or(0) == 0 {
                    return;
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let path = request.split(' ').nth(1).unwrap_or("/").to_string();
                let head = match path.as_str() {
                    "/health" => {
                        "HTTP/1.1 200 OK\r\nStrict-Transport-Security: max-age=63072000\r\n"
                            .to_string()
                    }
                    "/boom" => "HTTP/1.1 500 Oops\r\n".to_string(),
                    "/loop" => {
                        format!("HTTP/1.1 302 Found\r\nLocation: https://localhost:{port}/loop\r\n")
                    }
                    _ => "HTTP/1.1 404 Not Found\r\n".to_string(),
                };
                let _ = write!(
                    tls,
                    "{head}Content-Length: 2\r\nConnection: close\r\n\r\nok"
                );
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    port
}

/// Accepts and never says a word: a handshake that stalls.
fn stalling_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

/// Accepts, reads the start of the ClientHello and closes: the rest of it
/// unread, the kernel answers with a reset.
fn resetting_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut start = [0u8; 16];
            let _ = stream.read_exact(&mut start);
            drop(stream);
        }
    });
    port
}

fn refused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

// ---------------------------------------------------------------- helpers --

fn repo_with_endpoints(endpoints: &[(&str, String, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = String::from("service: edge\ntier: 1\nowners: ['@acme/edge']\nendpoints:\n");
    for (name, url, extra) in endpoints {
        manifest.push_str(&format!("  - {{name: {name}, url: \"{url}\"{extra}}}\n"));
    }
    write(dir.path(), "readygate.yaml", &manifest);
    dir
}

/// Findings of `rule` by target: state and message.
fn by_target(report: &Value, rule: &str) -> std::collections::BTreeMap<String, (String, String)> {
    findings(report, rule)
        .iter()
        .map(|f| {
            (
                f["target"].as_str().unwrap_or("-").to_string(),
                (
                    f["state"].as_str().unwrap().to_string(),
                    f["message"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

fn online(ca: &str) -> Vec<&str> {
    vec![
        "--online",
        "--online-allow-private",
        "--online-timeout",
        "2",
        "--online-deadline",
        "30",
        "--ca-file",
        ca,
        "--all",
    ]
}

// ------------------------------------------------------------------ live --

#[test]
fn live_certificates_are_judged_by_what_the_server_presents() {
    let pki = Pki::new();
    let localhost = ["localhost", "127.0.0.1"];
    let valid = tls_server(pki.leaf(&localhost, -10, 90, true));
    let expiring = tls_server(pki.leaf(&localhost, -80, 10, true));
    let critical = tls_server(pki.leaf(&localhost, -85, 5, true));
    let expired = tls_server(pki.leaf(&localhost, -90, -1, true));
    let wrong_host = tls_server(pki.leaf(&["other.example"], -10, 90, true));
    let self_signed = tls_server(Pki::self_signed(&localhost));
    let incomplete = tls_server(pki.leaf(&localhost, -10, 90, false));
    let long_but_own = tls_server(pki.leaf(&localhost, -10, 40, true));
    let https = |port: u16, path: &str| format!("https://localhost:{port}{path}");
    let dir = repo_with_endpoints(&[
        ("valid", https(valid, "/health"), ""),
        ("expiring", https(expiring, "/health"), ""),
        ("critical", https(critical, "/health"), ""),
        ("expired", https(expired, "/health"), ""),
        ("wrong-host", https(wrong_host, "/health"), ""),
        ("self-signed", https(self_signed, "/health"), ""),
        ("incomplete", https(incomplete, "/health"), ""),
        (
            "own-threshold",
            https(long_but_own, "/health"),
            ", min_tls_days: 45",
        ),
        ("boom", https(valid, "/boom"), ""),
        ("loop", https(valid, "/loop"), ""),
        ("raw", format!("localhost:{valid}"), ""),
        ("not-probed", https(expired, "/health"), ", probe: false"),
    ]);
    let ca = pki.write_root(dir.path());
    let root = dir.path().to_str().unwrap();
    let report = check_report(root, &online(&ca));

    let expired_rule = by_target(&report, "tls.certificate-expired");
    let expiring_rule = by_target(&report, "tls.certificate-expiring");
    let trusted = by_target(&report, "tls.certificate-trusted");
    let status = by_target(&report, "tls.endpoint-status");
    let state = |m: &std::collections::BTreeMap<String, (String, String)>, t: &str| {
        m.get(t)
            .unwrap_or_else(|| panic!("{t} in {m:#?}"))
            .0
            .clone()
    };

    assert_eq!(state(&expired_rule, "valid"), "pass");
    assert_eq!(state(&expiring_rule, "valid"), "pass");
    assert_eq!(state(&trusted, "valid"), "pass", "{:?}", trusted["valid"]);
    assert!(
        trusted["valid"].1.contains("TLSv1.3"),
        "{:?}",
        trusted["valid"]
    );
    assert_eq!(state(&status, "valid"), "pass");

    // Ten days: a warning, not (yet) the error; five: the error.
    assert_eq!(state(&expired_rule, "expiring"), "pass");
    assert_eq!(state(&expiring_rule, "expiring"), "warn");
    assert!(
        expiring_rule["expiring"]
            .1
            .contains("10 day(s) from now (under 21)"),
        "{:?}",
        expiring_rule["expiring"]
    );
    assert_eq!(state(&expired_rule, "critical"), "fail");
    assert!(
        expired_rule["critical"]
            .1
            .contains("5 day(s) from now (under 7)"),
        "{:?}",
        expired_rule["critical"]
    );

    assert_eq!(state(&expired_rule, "expired"), "fail");
    assert!(
        expired_rule["expired"].1.contains("expired on"),
        "{:?}",
        expired_rule["expired"]
    );
    assert_eq!(
        state(&trusted, "expired"),
        "fail",
        "an expired chain does not verify"
    );

    assert_eq!(state(&trusted, "wrong-host"), "fail");
    assert!(
        trusted["wrong-host"]
            .1
            .contains("for other.example, not localhost"),
        "{:?}",
        trusted["wrong-host"]
    );
    assert_eq!(state(&trusted, "self-signed"), "fail");
    assert_eq!(state(&trusted, "incomplete"), "fail");
    assert!(
        trusted["incomplete"].1.contains("incomplete chain"),
        "{:?}",
        trusted["incomplete"]
    );
    // Served without its intermediate, the leaf's own expiry still counts.
    assert_eq!(state(&expired_rule, "incomplete"), "pass");

    // 40 days left: fine by the rule's 21, not by the endpoint's own 45.
    assert_eq!(state(&expiring_rule, "own-threshold"), "warn");
    assert_eq!(state(&expired_rule, "own-threshold"), "pass");

    assert_eq!(state(&status, "boom"), "warn");
    assert!(status["boom"].1.contains("answered 500"));
    // A redirect loop is not an answer: unknown, with why.
    assert_eq!(state(&status, "loop"), "unknown");
    assert!(
        status["loop"].1.contains("redirect"),
        "{:?}",
        status["loop"]
    );
    // host:port is raw TLS: a certificate, no HTTP status.
    assert_eq!(state(&trusted, "raw"), "pass");
    assert!(!status.contains_key("raw"));
    // `probe: false` keeps it out of live checks.
    assert_eq!(state(&expired_rule, "not-probed"), "skip");

    // The evidence carries what was seen.
    let ev = evidence(root, &online(&ca)[..8]);
    let endpoints = ev["tls"]["endpoints"].as_array().unwrap();
    let incomplete_seen = &endpoints[6]["observed"]["tls"];
    assert_eq!(incomplete_seen["chain_length"], 1);
    assert!(
        incomplete_seen["issuer"]
            .as_str()
            .unwrap()
            .contains("readygate test intermediate")
    );
    let valid_seen = &endpoints[0]["observed"]["tls"];
    assert_eq!(valid_seen["chain_length"], 2);
    assert_eq!(endpoints[0]["observed"]["http"]["hsts"], true);
}

#[test]
fn what_cannot_be_observed_is_unknown_within_the_deadline() {
    let pki = Pki::new();
    let stall = stalling_server();
    let reset = resetting_server();
    let refused = refused_port();
    let dir = repo_with_endpoints(&[
        ("stall", format!("https://localhost:{stall}/"), ""),
        ("reset", format!("https://localhost:{reset}/"), ""),
        ("refused", format!("localhost:{refused}"), ""),
        ("no-dns", "https://readygate-test.invalid/".into(), ""),
        ("malformed", "https://exa mple.com/".into(), ""),
        ("no-port", "example.com".into(), ""),
        ("plain", "http://localhost:1/".into(), ""),
    ]);
    let ca = pki.write_root(dir.path());
    let root = dir.path().to_str().unwrap();
    let started = Instant::now();
    let out = run(&[&["check", root, "--format", "json"][..], &online(&ca)].concat());
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    // Nothing here fails the gate by itself: unknown is a warning.
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let report = json(&out);
    let expiry = by_target(&report, "tls.certificate-expired");
    for target in [
        "stall",
        "reset",
        "refused",
        "no-dns",
        "malformed",
        "no-port",
        "plain",
    ] {
        assert_eq!(
            expiry[target].0, "unknown",
            "{target}: {:?}",
            expiry[target]
        );
    }
    assert!(
        expiry["stall"].1.contains("no TLS handshake within 2"),
        "{:?}",
        expiry["stall"]
    );
    assert!(
        expiry["refused"].1.contains("cannot connect"),
        "{:?}",
        expiry["refused"]
    );
    assert!(
        expiry["no-dns"].1.contains("does not resolve"),
        "{:?}",
        expiry["no-dns"]
    );
    assert!(
        expiry["malformed"].1.contains("not a valid URL"),
        "{:?}",
        expiry["malformed"]
    );
    assert!(
        expiry["no-port"].1.contains("neither a URL nor host:port"),
        "{:?}",
        expiry["no-port"]
    );
    assert!(
        expiry["plain"].1.contains("plain http://"),
        "{:?}",
        expiry["plain"]
    );
}

#[test]
fn without_online_nothing_is_contacted_and_the_address_guard_holds() {
    let pki = Pki::new();
    let port = tls_server(pki.leaf(&["localhost"], -1, 90, true));
    let dir = repo_with_endpoints(&[("api", format!("https://localhost:{port}/health"), "")]);
    let root = dir.path().to_str().unwrap();
    let report = check_report(root, &["--all"]);
    let expiry = by_target(&report, "tls.certificate-expired");
    assert_eq!(expiry["-"].0, "skip", "{expiry:?}");
    assert!(expiry["-"].1.contains("only with --online"));
    // Online without --online-allow-private: loopback is refused, unknown.
    let report = check_report(root, &["--online", "--online-timeout", "2", "--all"]);
    let expiry = by_target(&report, "tls.certificate-expired");
    assert_eq!(expiry["api"].0, "unknown");
    assert!(
        expiry["api"].1.contains("--online-allow-private"),
        "{:?}",
        expiry["api"]
    );
}

#[test]
fn a_url_that_cannot_be_read_is_unknown_offline_too() {
    let dir = repo_with_endpoints(&[
        ("bare", "api.example.com".into(), ""),
        ("ftp", "ftp://files.example.com/".into(), ""),
        (
            "port",
            "https://api.example.com:99999/".into(),
            ", expect_status: 200.0, min_tls_days: 1e2",
        ),
    ]);
    let root = dir.path().to_str().unwrap();
    let report = check_report(root, &["--all"]);
    for rule in [
        "tls.expiry-monitored",
        "tls.certificate-expired",
        "tls.certificate-trusted",
    ] {
        let by = by_target(&report, rule);
        for target in ["bare", "ftp", "port"] {
            assert_eq!(by[target].0, "unknown", "{rule} {target}: {by:?}");
        }
    }
    let by = by_target(&report, "tls.expiry-monitored");
    assert!(
        by["ftp"].1.contains("`ftp://` is not probed"),
        "{:?}",
        by["ftp"]
    );
    // Whole numbers written as floats are what JSON Schema calls integers.
    let ev = evidence(root, &[]);
    assert_eq!(ev["tls"]["endpoints"][2]["expect_status"], 200);
    assert_eq!(ev["tls"]["endpoints"][2]["min_tls_days"], 100);
}

#[test]
fn endpoint_flag_and_ca_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "readygate.yaml", "service: x\n");
    write(dir.path(), "bad.pem", "not a certificate\n");
    let root = dir.path().to_str().unwrap();
    let bad = dir.path().join("bad.pem");
    let out = run(&["check", root, "--ca-file", bad.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no certificate in it"),
        "{}",
        stderr(&out)
    );
    let out = run(&["check", root, "--ca-file", "/nonexistent/ca.pem"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--ca-file /nonexistent/ca.pem"),
        "{}",
        stderr(&out)
    );
    let out = run(&["check", root, "--endpoint", "garbage"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--endpoint `garbage`: neither a URL nor host:port"),
        "{}",
        stderr(&out)
    );
    // --endpoint adds an endpoint judged like the manifest's.
    let ev = evidence(root, &["--endpoint", "https://api.example.com/healthz"]);
    let e = &ev["tls"]["endpoints"][0];
    assert_eq!(e["host"], "api.example.com");
    assert_eq!(e["port"], 443);
    assert_eq!(e["location"], Value::Null);
}

// ---------------------------------------------------------------- static --

#[test]
fn only_alerts_that_fire_before_expiry_cover_a_host() {
    let dir = repo_with_endpoints(&[
        ("api", "https://api.example.com/".into(), ""),
        ("www", "https://www.example.com/".into(), ""),
        ("e", "https://e.example.com/".into(), ""),
    ]);
    write(
        dir.path(),
        "k8s/ingress.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: api}\nspec:\n  tls:\n    - hosts: [api.example.com]\n",
    );
    write(
        dir.path(),
        "k8s/cert.yaml",
        "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: www}\nspec:\n  dnsNames: [www.example.com]\n",
    );
    // Alerts at or after expiry only: they say so when it is too late.
    write(
        dir.path(),
        "rules/x509.rules.yml",
        "groups:\n  - name: x509\n    rules:\n      - alert: Expired\n        expr: x509_cert_expired == 1\n      - alert: AtExpiry\n        expr: x509_cert_not_after - time() < 0\n      - alert: Since\n        expr: (time() - x509_cert_not_after) > 86400\n",
    );
    // Datadog monitors watch the host they filter on, each its own.
    write(
        dir.path(),
        "monitors.tf",
        "resource \"datadog_monitor\" \"a\" {\n  name  = \"A\"\n  query = \"min(last_5m):min:tls.days_left{server:a.example.com} < 14\"\n}\nresource \"datadog_monitor\" \"e\" {\n  name  = \"E\"\n  query = \"min(last_5m):min:tls.days_left{server:e.example.com} < 0\"\n}\n",
    );
    let root = dir.path().to_str().unwrap();
    let report = check_report(root, &["--all"]);
    let by = by_target(&report, "tls.expiry-monitored");
    assert_eq!(by["api"].0, "warn", "{by:?}");
    assert!(
        by["api"]
            .1
            .contains("no expiry alert on x509-certificate-exporter"),
        "{:?}",
        by["api"]
    );
    assert_eq!(by["e"].0, "warn", "{by:?}");
    assert!(
        by["e"].1.contains("`E` does not alert before expiry"),
        "{:?}",
        by["e"]
    );
    // One alert that warns ahead, on x509's metric, covers the Certificate's
    // secret too.
    write(
        dir.path(),
        "rules/ahead.rules.yml",
        "groups:\n  - name: ahead\n    rules:\n      - alert: Soon\n        expr: x509_cert_not_after - time() < 86400 * 14\n",
    );
    let report = check_report(root, &["--all"]);
    let by = by_target(&report, "tls.expiry-monitored");
    assert_eq!(by["www"].0, "pass", "{by:?}");
    assert!(by["www"].1.contains("`Soon`"), "{:?}", by["www"]);
    assert_eq!(by["api"].0, "pass", "{by:?}");
}

const MONITORS: &str = "tests/fixtures/tls";

#[test]
fn monitors_of_every_family_with_their_thresholds() {
    let ev = evidence(MONITORS, &[]);
    let monitors: Vec<String> = ev["tls"]["monitors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{} {} {} {} {}:{}",
                m["name"].as_str().unwrap(),
                m["family"].as_str().unwrap(),
                m["kind"].as_str().unwrap(),
                m["threshold_days"],
                m["location"]["path"].as_str().unwrap(),
                m["location"]["line"]
            )
        })
        .collect();
    insta::assert_snapshot!(monitors.join("\n"));
}

#[test]
fn coverage_says_which_source_watches_each_endpoint() {
    let report = check_report(MONITORS, &["--all"]);
    let covered = by_target(&report, "tls.expiry-monitored");
    let lines: Vec<String> = covered
        .iter()
        .map(|(t, (s, m))| format!("{t}: {s}: {m}"))
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn blind_spots_are_findings() {
    let report = check_report(MONITORS, &["--all"]);
    let lines: Vec<String> = [
        "tls.last-chain-monitored",
        "tls.probe-failure-alerted",
        "tls.cert-manager-renewal",
    ]
    .iter()
    .flat_map(|rule| {
        findings(&report, rule)
            .into_iter()
            .map(move |f| {
                format!(
                    "{rule} {} {}:{} {}",
                    f["state"].as_str().unwrap(),
                    f["location"]["path"].as_str().unwrap_or("-"),
                    f["location"]["line"],
                    f["message"].as_str().unwrap()
                )
            })
            .collect::<Vec<_>>()
    })
    .collect();
    insta::assert_snapshot!(lines.join("\n"));
}
