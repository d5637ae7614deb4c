//! A TLS handshake that observes instead of refusing: it completes even when
//! the chain does not verify, so the gate can say what the server presents
//! (every certificate's expiry, issuer, names) and, separately, whether the
//! chain verifies against the Mozilla roots (plus `--ca-file`) and whether
//! the leaf names the host. The connection goes through the address guard.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;

use super::http::{is_allowed, refusal};
use crate::diag::{ConfigError, NetworkError};

/// Connect attempts per address list: a refused or reset connection is
/// retried (a server restarting), nothing later in the exchange is.
const CONNECT_ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Most certificates read from one chain.
const MAX_CHAIN: usize = 16;

/// What the server presented, and what a verifying client would say.
#[derive(Debug, Clone, PartialEq)]
pub struct Handshake {
    /// `TLSv1.3`, `TLSv1.2`.
    pub protocol: String,
    /// As presented, the leaf first.
    pub chain: Vec<Certificate>,
    /// Why the chain does not verify against the roots (name mismatch
    /// aside); `None` when it does.
    pub chain_error: Option<String>,
    /// Whether the leaf's names (SANs) cover the host.
    pub hostname_matches: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Certificate {
    pub subject: String,
    pub issuer: String,
    /// Seconds since the epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// DNS names and IP addresses it is valid for.
    pub names: Vec<String>,
}

/// The trust anchors: Mozilla's (fixed, so a verdict does not depend on
/// the runner's image) and any extra roots (`--ca-file`).
pub fn roots(extra: &[CertificateDer<'static>]) -> Result<Arc<RootCertStore>, NetworkError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in extra {
        roots.add(cert.clone()).map_err(|e| {
            NetworkError(format!("a --ca-file certificate is not a usable root: {e}"))
        })?;
    }
    Ok(Arc::new(roots))
}

/// The certificates of a PEM file (`--ca-file`): a usage error names the
/// file when it cannot be read or holds none.
/// The certificates of a PEM file named by `flag` (`--ca-file`,
/// `--pack-ca-file`): a regular file of at most 4 MiB.
pub fn read_ca_file(
    path: &std::path::Path,
    flag: &str,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    use rustls::pki_types::pem::PemObject;
    let shown = format!("{flag} {}", path.display());
    let text = crate::document::read_regular_file(path, 4 << 20)
        .map_err(|e| ConfigError::new(format!("{shown}: {e}")))?;
    let bytes = text.as_bytes();
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError::new(format!("{shown}: not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(ConfigError::new(format!("{shown}: no certificate in it"))
            .hint("give a PEM file with one or more `-----BEGIN CERTIFICATE-----` blocks"));
    }
    for cert in &certs {
        if x509_parser::parse_x509_certificate(cert.as_ref()).is_err() {
            return Err(ConfigError::new(format!(
                "{shown}: a certificate in it does not parse"
            )));
        }
    }
    Ok(certs)
}

/// The start of an HTTP answer: what an endpoint check reads of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub status: u16,
    pub location: Option<String>,
    pub hsts: bool,
}

/// Most of an answer's head read (status line and headers).
const MAX_HEAD: usize = 64 * 1024;

/// Handshake with `host:port` (SNI `host`) within `timeout`.
pub async fn handshake(
    host: &str,
    port: u16,
    roots: Arc<RootCertStore>,
    allow_private: bool,
    timeout: Duration,
) -> Result<Handshake, NetworkError> {
    exchange(host, port, roots, allow_private, timeout, None)
        .await
        .map(|(handshake, _)| handshake)
}

/// Handshake with `host:port` within `timeout`, then, when `get` names a
/// `Host` header and a path, one HTTP/1.1 GET over the same connection
/// (one connection per endpoint, not two), within another `timeout`.
pub async fn exchange(
    host: &str,
    port: u16,
    roots: Arc<RootCertStore>,
    allow_private: bool,
    timeout: Duration,
    get: Option<(&str, &str)>,
) -> Result<(Handshake, Option<Result<Head, NetworkError>>), NetworkError> {
    let shake = async {
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| NetworkError(format!("`{host}` is not a host name")))?;
        let stream = connect(host, port, allow_private).await?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let inner = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| NetworkError(format!("cannot build the verifier: {e}")))?;
        let verifier = Arc::new(Recording {
            inner,
            verdict: Mutex::new(None),
        });
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| NetworkError(format!("cannot configure TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tls = connector
            .connect(name, stream)
            .await
            .map_err(|e| NetworkError(format!("TLS handshake failed: {e}")))?;
        let (_, session) = tls.get_ref();
        let protocol = session
            .protocol_version()
            .and_then(|v| v.as_str())
            .unwrap_or("unknown")
            .replace("TLSv1_", "TLSv1.");
        let chain: Vec<Certificate> = session
            .peer_certificates()
            .unwrap_or_default()
            .iter()
            .take(MAX_CHAIN)
            .filter_map(|der| parse(der))
            .collect();
        let Some(leaf) = chain.first() else {
            return Err(NetworkError(
                "the server presented no certificate that parses".into(),
            ));
        };
        let hostname_matches = names_cover(&leaf.names, host);
        let verdict = verifier
            .verdict
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let chain_error = match verdict {
            Some(Ok(())) => None,
            Some(Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            ))) => None,
            Some(Err(err)) => Some(describe_invalid(&err)),
            None => Some("the chain was not verified".into()),
        };
        let handshake = Handshake {
            protocol,
            chain,
            chain_error,
            hostname_matches,
        };
        Ok((handshake, tls))
    };
    let (handshake, mut tls) = match tokio::time::timeout(timeout, shake).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(NetworkError(format!(
                "no TLS handshake within {}s",
                timeout.as_secs_f32()
            )));
        }
    };
    let Some((host_header, path)) = get else {
        return Ok((handshake, None));
    };
    let head = match tokio::time::timeout(timeout, get_head(&mut tls, host_header, path)).await {
        Ok(head) => head,
        Err(_) => Err(NetworkError(format!(
            "no HTTP answer within {}s",
            timeout.as_secs_f32()
        ))),
    };
    Ok((handshake, Some(head)))
}

/// One `GET path` and the head of its answer. `path` and `host` come from a
/// parsed URL (percent-encoded, punycode): no line breaks to inject.
async fn get_head<S>(stream: &mut S, host: &str, path: &str) -> Result<Head, NetworkError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if [host, path].iter().any(|t| t.contains(['\r', '\n'])) {
        return Err(NetworkError("a line break in the request".into()));
    }
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: readygate/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    let io = |e: std::io::Error| NetworkError(format!("the HTTP exchange failed: {e}"));
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(NetworkError(format!(
                "an answer head over {MAX_HEAD} bytes"
            )));
        }
        let n = stream.read(&mut chunk).await.map_err(io)?;
        if n == 0 {
            return Err(NetworkError(
                "the connection closed before an HTTP answer".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = String::from_utf8_lossy(&buf[..end]);
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.strip_prefix("HTTP/"))
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| NetworkError("not an HTTP answer".into()))?;
    let mut head = Head {
        status,
        location: None,
        hsts: false,
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "location" => head.location = Some(value.trim().to_string()),
            "strict-transport-security" => head.hsts = true,
            _ => {}
        }
    }
    Ok(head)
}

/// A TCP connection to the first allowed address that accepts, retrying
/// refused and reset connections with backoff.
async fn connect(host: &str, port: u16, allow_private: bool) -> Result<TcpStream, NetworkError> {
    let all: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| NetworkError(format!("{host} does not resolve: {e}")))?
        .collect();
    let allowed: Vec<SocketAddr> = all
        .iter()
        .copied()
        .filter(|a| is_allowed(a.ip(), allow_private))
        .collect();
    if allowed.is_empty() {
        return Err(NetworkError(match all.first() {
            Some(first) => refusal(first.ip()),
            None => format!("{host} has no addresses"),
        }));
    }
    let mut backoff = FIRST_BACKOFF;
    let mut last = None;
    for attempt in 1..=CONNECT_ATTEMPTS {
        for addr in &allowed {
            match TcpStream::connect(addr).await {
                Ok(stream) => return Ok(stream),
                Err(err) => last = Some(err),
            }
        }
        if attempt < CONNECT_ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    let err = last.map_or_else(|| "no address".to_string(), |e| e.to_string());
    Err(NetworkError(format!(
        "cannot connect to {host}:{port} ({CONNECT_ATTEMPTS} attempts): {err}"
    )))
}

fn describe_invalid(err: &rustls::Error) -> String {
    match err {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "its issuer is not a trusted root and no presented intermediate leads to one (self-signed, private CA, or an incomplete chain)".into()
        }
        rustls::Error::InvalidCertificate(CertificateError::Expired)
        | rustls::Error::InvalidCertificate(CertificateError::ExpiredContext { .. }) => {
            "a certificate in the chain has expired".into()
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidYet)
        | rustls::Error::InvalidCertificate(CertificateError::NotValidYetContext { .. }) => {
            "a certificate in the chain is not valid yet".into()
        }
        other => other.to_string(),
    }
}

/// A certificate's facts, or `None` when it does not parse.
fn parse(der: &CertificateDer<'_>) -> Option<Certificate> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => names.push(dns.to_string()),
                GeneralName::IPAddress(bytes) => {
                    let ip = match bytes.len() {
                        4 => <[u8; 4]>::try_from(*bytes).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*bytes).ok().map(IpAddr::from),
                        _ => None,
                    };
                    names.extend(ip.map(|ip| ip.to_string()));
                }
                _ => {}
            }
        }
    }
    Some(Certificate {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        names,
    })
}

/// Whether a certificate's names cover `host` (RFC 6125: a wildcard is the
/// whole leftmost label and matches exactly one label).
pub fn names_cover(names: &[String], host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host_ip: Option<IpAddr> = host.trim_matches(['[', ']']).parse().ok();
    names.iter().any(|name| {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(ip) = host_ip {
            return name.parse::<IpAddr>().ok() == Some(ip);
        }
        match name.strip_prefix("*.") {
            Some(parent) => host
                .split_once('.')
                .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
            None => name == host,
        }
    })
}

/// Verifies as a client would, records the verdict, and lets the handshake
/// finish either way: an invalid chain is something to report, not a
/// reason to see nothing.
#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    verdict: Mutex<Option<Result<(), rustls::Error>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ());
        *self.verdict.lock().unwrap_or_else(|e| e.into_inner()) = Some(verdict);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `get_head` against a peer that answers `answer` to anything.
    fn head_of(answer: Vec<u8>) -> Result<Head, NetworkError> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let (mut client, mut server) = tokio::io::duplex(1 << 20);
            let peer = tokio::spawn(async move {
                let mut request = [0u8; 512];
                let n = server.read(&mut request).await.unwrap();
                assert!(request[..n].starts_with(b"GET /a?b=1 HTTP/1.1\r\nHost: h:8443\r\n"));
                let _ = server.write_all(&answer).await;
            });
            let head = get_head(&mut client, "h:8443", "/a?b=1").await;
            drop(client);
            let _ = peer.await;
            head
        })
    }

    #[test]
    fn an_answer_head_is_read_and_bounded() {
        let head = head_of(b"HTTP/1.1 301 Moved\r\nLocation: /b\r\nstrict-transport-security: max-age=9\r\n\r\nbody".to_vec()).unwrap();
        assert_eq!(head.status, 301);
        assert_eq!(head.location.as_deref(), Some("/b"));
        assert!(head.hsts);
        assert!(
            head_of(b"SSH-2.0-OpenSSH\r\n\r\n".to_vec())
                .unwrap_err()
                .0
                .contains("not an HTTP answer")
        );
        let endless = [b"HTTP/1.1 200 OK\r\n".to_vec(), b"X: y\r\n".repeat(20_000)].concat();
        assert!(head_of(endless).unwrap_err().0.contains("over 65536 bytes"));
        assert!(head_of(Vec::new()).unwrap_err().0.contains("closed before"));
    }

    #[test]
    fn wildcards_cover_one_label() {
        let names = vec!["*.example.com".to_string(), "example.com".to_string()];
        assert!(names_cover(&names, "api.example.com"));
        assert!(names_cover(&names, "EXAMPLE.com."));
        assert!(!names_cover(&names, "a.b.example.com"));
        assert!(!names_cover(&names, "example.org"));
        assert!(names_cover(&["127.0.0.1".to_string()], "127.0.0.1"));
        assert!(!names_cover(&["localhost".to_string()], "127.0.0.1"));
    }
}
