//! Live probes under load: 500 loopback TLS endpoints that each take
//! 200 ms to answer, probed at concurrency 50 through the real binary.
//! Prints the wall time against the ideal `ceil(500 / 50) × 200 ms`.
//!
//! cargo bench --bench probes   (ENDPOINTS, CONCURRENCY, DELAY_MS, RUNS)

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A TLS server whose every connection waits `delay` before its handshake.
fn server(delay: Duration, dir: &std::path::Path) -> u16 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.join("ca.pem"), cert.pem()).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut reader = BufReader::new(&mut tls);
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    line.clear();
                }
                let _ = write!(
                    tls,
                    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = tls.flush();
            });
        }
    });
    port
}

fn main() {
    let endpoints = env("ENDPOINTS", 500);
    let concurrency = env("CONCURRENCY", 50);
    let delay = Duration::from_millis(env("DELAY_MS", 200));
    let runs = env("RUNS", 3);
    let dir = tempfile::tempdir().unwrap();
    let port = server(delay, dir.path());
    let mut manifest = String::from("service: bench\nendpoints:\n");
    for i in 0..endpoints {
        manifest.push_str(&format!(
            "  - {{name: e{i}, url: \"https://127.0.0.1:{port}/e{i}\"}}\n"
        ));
    }
    std::fs::write(dir.path().join("readygate.yaml"), manifest).unwrap();
    let ideal = delay * endpoints.div_ceil(concurrency) as u32;
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_readygate"))
            .args([
                "evidence",
                dir.path().to_str().unwrap(),
                "--online",
                "--online-allow-private",
            ])
            .args(["--online-concurrency", &concurrency.to_string()])
            .args(["--online-deadline", "120", "--online-timeout", "30"])
            .args(["--ca-file", dir.path().join("ca.pem").to_str().unwrap()])
            .output()
            .unwrap();
        let took = started.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ev: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let seen = ev["tls"]["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["observed"]["tls"].is_object() && e["observed"]["http"].is_object())
            .count();
        assert_eq!(seen as u64, endpoints, "every endpoint observed");
        times.push(took);
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "{endpoints} endpoints × {} ms at concurrency {concurrency}: median {:.2} s over {runs} runs, ideal {:.2} s, ratio {:.2}×",
        delay.as_millis(),
        median.as_secs_f64(),
        ideal.as_secs_f64(),
        median.as_secs_f64() / ideal.as_secs_f64()
    );
}
