//! A small GitHub REST client on the shared reqwest stack. Hand-written
//! rather than octocrab because publishing needs what octocrab's typed API
//! hides: every status code and the rate-limit headers, to retry only what
//! is safe. Its built-in retry re-sends POSTs at once on a 5xx, which
//! duplicates comments and leaves stray in-progress check runs; here reads
//! and PATCHes retry with backoff, POSTs only when GitHub says the request
//! was refused (rate limits), and callers make creation idempotent.

use crate::diag::NetworkError;
use std::time::Duration;

use serde_json::Value;

/// A failed request after retries, with what GitHub said.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// `None` when no HTTP answer arrived (DNS, connect, timeout).
    pub status: Option<u16>,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(f, "{s}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

const JSON: &str = "application/vnd.github+json";
/// A file's content as it is.
pub const RAW: &str = "application/vnd.github.raw+json";
/// A commit's SHA only (`GET /repos/O/R/commits/REF`).
pub const SHA: &str = "application/vnd.github.sha";
/// Most of a JSON answer read: a page of comments or check runs is far
/// below it; an endless answer stops here.
const MAX_JSON: usize = 32 << 20;
/// Most of an error answer read, for its message.
const MAX_ERROR: usize = 64 << 10;

/// The longest one artifact download may take, body included.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(600);

pub struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
    /// Attempts after the first.
    pub retries: u32,
    /// First backoff; doubles per attempt. Retry-After wins when given.
    pub backoff: Duration,
    /// Longest wait honoured for one retry (rate-limit resets can be an hour).
    pub max_wait: Duration,
}

impl Api {
    pub fn new(base: &str, token: String) -> Result<Self, NetworkError> {
        Self::with(base, token, Duration::from_secs(30), &[])
    }

    /// A client with its own timeout (per request) and extra trusted roots.
    pub fn with(
        base: &str,
        token: String,
        timeout: Duration,
        extra_roots: &[rustls::pki_types::CertificateDer<'static>],
    ) -> Result<Self, NetworkError> {
        let failed =
            |e: reqwest::Error| NetworkError(format!("cannot build the GitHub client: {e}"));
        let extra = extra_roots
            .iter()
            .map(|der| reqwest::Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?;
        let client = crate::probe::http::client_builder()
            .tls_certs_merge(extra)
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(failed)?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_string(),
            token,
            retries: 3,
            backoff: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
        })
    }

    pub async fn get(&self, path: &str) -> Result<Value, ApiError> {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    /// GET `path` as the media type `accept` ([`RAW`], [`SHA`]), refusing
    /// more than `max` bytes.
    pub async fn get_as(&self, path: &str, accept: &str, max: usize) -> Result<Vec<u8>, ApiError> {
        let resp = self
            .request(reqwest::Method::GET, path, None, None, accept)
            .await?;
        read_capped(resp, max).await.map_err(|message| ApiError {
            status: None,
            message,
        })
    }

    /// GET `path` into the file `to`, streamed, refusing more than `max`
    /// bytes. GitHub answers artifact downloads with a redirect to storage;
    /// the client follows it and drops the token when the host changes.
    pub async fn download(
        &self,
        path: &str,
        to: &std::path::Path,
        max: u64,
    ) -> Result<u64, ApiError> {
        use std::io::Write;
        // An artifact of hundreds of MB outlasts the 30 s an API call gets.
        let mut resp = self
            .request(
                reqwest::Method::GET,
                path,
                None,
                Some(DOWNLOAD_TIMEOUT),
                JSON,
            )
            .await?;
        let failed = |message: String| ApiError {
            status: None,
            message,
        };
        let mut file = std::fs::File::create(to).map_err(|e| failed(e.to_string()))?;
        let mut written = 0u64;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| failed(format!("the download broke off: {e}")))?
        {
            written += chunk.len() as u64;
            if written > max {
                return Err(failed(format!("over {max} bytes")));
            }
            file.write_all(&chunk).map_err(|e| failed(e.to_string()))?;
        }
        Ok(written)
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let resp = self.request(method, path, body, None, JSON).await?;
        let bytes = read_capped(resp, MAX_JSON)
            .await
            .map_err(|message| ApiError {
                status: None,
                message,
            })?;
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// A request with its retries: the successful response, or what
    /// GitHub said last.
    async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        timeout: Option<Duration>,
        accept: &str,
    ) -> Result<reqwest::Response, ApiError> {
        let idempotent = method != reqwest::Method::POST;
        let mut attempt = 0;
        loop {
            let mut req = self
                .client
                .request(method.clone(), format!("{}{path}", self.base))
                .header("Accept", accept)
                .header("X-GitHub-Api-Version", "2022-11-28");
            // Anonymous reads of public repositories need no token.
            if !self.token.is_empty() {
                req = req.bearer_auth(&self.token);
            }
            if let Some(body) = body {
                req = req.json(body);
            }
            if let Some(t) = timeout {
                req = req.timeout(t);
            }
            let (error, wait) = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if (200..300).contains(&status) {
                        return Ok(resp);
                    }
                    let wait = rate_limit_wait(resp.headers());
                    let body = read_capped(resp, MAX_ERROR).await.unwrap_or_default();
                    let text = String::from_utf8_lossy(&body);
                    let message = serde_json::from_str::<Value>(&text)
                        .ok()
                        .and_then(|v| v["message"].as_str().map(str::to_string))
                        .unwrap_or_else(|| text.chars().take(200).collect());
                    let limited = status == 429 || (status == 403 && wait.is_some());
                    let retry = limited || (idempotent && status >= 500);
                    let error = ApiError {
                        status: Some(status),
                        message,
                    };
                    if !retry {
                        return Err(error);
                    }
                    (error, wait)
                }
                Err(e) => {
                    let error = ApiError {
                        status: None,
                        message: if e.is_timeout() {
                            "timed out".into()
                        } else {
                            e.to_string()
                        },
                    };
                    // A POST that may have reached GitHub is not re-sent.
                    if !idempotent {
                        return Err(error);
                    }
                    (error, None)
                }
            };
            if attempt >= self.retries {
                return Err(error);
            }
            let backoff = self.backoff * 2u32.pow(attempt);
            let wait = wait.unwrap_or(backoff).min(self.max_wait);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// A response body of at most `max` bytes; more is an error.
async fn read_capped(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("the answer broke off: {e}"))?
    {
        if body.len() + chunk.len() > max {
            return Err(format!("an answer over {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Run a burst of API calls from synchronous code.
pub fn block_on<F: std::future::Future>(work: F) -> Result<F::Output, NetworkError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| NetworkError(format!("cannot start the GitHub client's runtime: {e}")))?;
    Ok(runtime.block_on(work))
}

/// How long GitHub asks us to wait: `Retry-After` (seconds), or the time to
/// `x-ratelimit-reset` when `x-ratelimit-remaining` is 0.
fn rate_limit_wait(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(secs) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    if header("x-ratelimit-remaining") == Some("0") {
        let reset = header("x-ratelimit-reset")?.trim().parse::<i64>().ok()?;
        let now = chrono::Utc::now().timestamp();
        return Some(Duration::from_secs(reset.saturating_sub(now).max(1) as u64));
    }
    None
}
