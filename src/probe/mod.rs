//! Live checks, only when asked (`--online`): they touch the network, so they
//! go through one runner: one async runtime, one concurrency limit and one
//! overall deadline shared by every probe kind and every scan of the run
//! (head and baseline), one cache so a target is observed once, and one
//! guarded network access (no private or link-local targets unless allowed).
//! A failure to observe is recorded as such, never as a failure of the thing
//! observed.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

pub mod http;
pub mod tls;

/// Limits for one online run.
#[derive(Debug, Clone)]
pub struct Online {
    /// Per request, connection through the last body byte read.
    pub timeout: Duration,
    /// For every probe of the run together.
    pub deadline: Duration,
    pub concurrency: usize,
    pub max_redirects: usize,
    /// Allow loopback, private (RFC 1918, ULA) and link-local targets. Off by
    /// default: a repository's URLs must not make the gate probe the runner's
    /// network or a cloud metadata endpoint.
    pub allow_private: bool,
    /// The proxy variable set in the environment (`HTTPS_PROXY`, ...), if
    /// any: a proxy resolves names itself, out of the guard's sight.
    pub proxy: Option<String>,
    /// Roots trusted besides Mozilla's (`--ca-file`), DER.
    pub extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// Refuse anything but https, redirects included (policy packs).
    pub https_only: bool,
}

impl Default for Online {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(60),
            concurrency: 8,
            max_redirects: 5,
            allow_private: false,
            proxy: None,
            extra_roots: Vec::new(),
            https_only: false,
        }
    }
}

/// The runner could not start (no runtime, no HTTP client): the run stops.
pub use crate::diag::NetworkError as ProbeError;

/// One kind of live observation (a page fetched, a TLS handshake), keyed by
/// text (a URL, `host:port`).
pub trait Probe: Send + Sync + 'static {
    /// Names the kind in the cache, so two kinds never share an entry.
    const KIND: &'static str;
    type Output: Clone + Send + Sync + 'static;

    fn observe(&self, net: Net, key: String) -> impl Future<Output = Self::Output> + Send;
    /// The observation of a probe that did not finish (deadline, lost task).
    fn unobserved(reason: String) -> Self::Output;
}

/// Guarded network access for probes: every connection goes through the
/// address guard.
#[derive(Clone)]
pub struct Net {
    client: reqwest::Client,
    allow_private: bool,
    roots: Arc<rustls::RootCertStore>,
    timeout: Duration,
}

impl Net {
    /// GET `url`; any error (guard, DNS, connect, timeout, redirects) says
    /// what happened.
    pub async fn get(&self, url: &url::Url) -> Result<http::Fetched, ProbeError> {
        http::get(&self.client, url, self.allow_private).await
    }

    /// GET `url` for its status and headers only.
    pub async fn status(&self, url: &url::Url) -> Result<http::Answered, ProbeError> {
        http::status(&self.client, url, self.allow_private).await
    }

    /// A TLS handshake with `host:port`, then `GET path` over the same
    /// connection (`Host: host_header`).
    pub async fn exchange(
        &self,
        host: &str,
        port: u16,
        host_header: &str,
        path: &str,
    ) -> Result<(tls::Handshake, Option<Result<tls::Head, ProbeError>>), ProbeError> {
        tls::exchange(
            host,
            port,
            self.roots.clone(),
            self.allow_private,
            self.timeout,
            Some((host_header, path)),
        )
        .await
    }

    /// A TLS handshake with `host:port` that reports what it saw.
    pub async fn handshake(&self, host: &str, port: u16) -> Result<tls::Handshake, ProbeError> {
        tls::handshake(
            host,
            port,
            self.roots.clone(),
            self.allow_private,
            self.timeout,
        )
        .await
    }
}

/// The probe runner of one run. Offline, it observes nothing.
pub struct Probes {
    online: Option<Online>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    started: Option<Started>,
    cache: HashMap<(&'static str, String), Arc<dyn Any + Send + Sync>>,
}

struct Started {
    runtime: tokio::runtime::Runtime,
    net: Net,
    permits: Arc<Semaphore>,
    deadline: Instant,
}

impl Probes {
    pub fn new(online: Option<Online>) -> Self {
        Self {
            online,
            state: Mutex::new(State::default()),
        }
    }

    pub fn offline() -> Self {
        Self::new(None)
    }

    pub fn is_online(&self) -> bool {
        self.online.is_some()
    }

    /// Observe every key with `probe`: cached keys from the cache, the rest
    /// concurrently within the run's limits. Offline, the map is empty.
    pub fn observe<P: Probe>(
        &self,
        probe: P,
        keys: impl IntoIterator<Item = String>,
    ) -> Result<BTreeMap<String, P::Output>, ProbeError> {
        let Some(opts) = &self.online else {
            return Ok(BTreeMap::new());
        };
        let keys: BTreeSet<String> = keys.into_iter().collect();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let missing: Vec<String> = keys
            .iter()
            .filter(|k| !state.cache.contains_key(&(P::KIND, (*k).clone())))
            .cloned()
            .collect();
        if !missing.is_empty() {
            if state.started.is_none() {
                state.started = Some(start(opts)?);
            }
            let started = state.started.as_ref().expect("started above");
            let late = format!(
                "the overall deadline ({}s) passed before it answered",
                opts.deadline.as_secs()
            );
            let observed =
                started
                    .runtime
                    .block_on(run_all(Arc::new(probe), missing, started, late));
            for (key, output) in observed {
                state.cache.insert(
                    (P::KIND, key),
                    Arc::new(output) as Arc<dyn Any + Send + Sync>,
                );
            }
        }
        Ok(keys
            .into_iter()
            .filter_map(|key| {
                let output = state.cache.get(&(P::KIND, key.clone()))?;
                let output = output.downcast_ref::<P::Output>()?.clone();
                Some((key, output))
            })
            .collect())
    }
}

impl Drop for Probes {
    /// Name lookups run on blocking threads that a deadline cannot stop; a
    /// run that gave up on them must not wait for them on its way out.
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(started) = state.started.take() {
            started.runtime.shutdown_background();
        }
    }
}

fn start(opts: &Online) -> Result<Started, ProbeError> {
    // Handshakes cost CPU; with hundreds of endpoints one thread is the
    // bottleneck, so probes use the machine's cores (at most 4).
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| ProbeError(format!("cannot start the probe runtime: {e}")))?;
    let client = http::client(opts)?;
    // A deadline past what the clock can hold is no deadline.
    let now = Instant::now();
    let deadline = now
        .checked_add(opts.deadline)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400));
    Ok(Started {
        runtime,
        net: Net {
            client,
            allow_private: opts.allow_private,
            roots: tls::roots(&opts.extra_roots)?,
            timeout: opts.timeout,
        },
        permits: Arc::new(Semaphore::new(opts.concurrency.max(1))),
        deadline,
    })
}

async fn run_all<P: Probe>(
    probe: Arc<P>,
    keys: Vec<String>,
    started: &Started,
    late: String,
) -> BTreeMap<String, P::Output> {
    let mut tasks = JoinSet::new();
    for key in keys.clone() {
        let (probe, net, permits) = (probe.clone(), started.net.clone(), started.permits.clone());
        let deadline = started.deadline;
        tasks.spawn(async move {
            let work = async {
                let _permit = permits.acquire_owned().await.ok()?;
                Some(probe.observe(net, key.clone()).await)
            };
            let outcome = tokio::time::timeout_at(deadline, work).await;
            (key, outcome)
        });
    }
    let mut results = BTreeMap::new();
    let progress = crate::progress::Progress::start(
        Some(keys.len() as u64),
        &format!("online: {} check(s)", P::KIND),
    );
    while let Some(joined) = tasks.join_next().await {
        progress.inc();
        if let Ok((key, outcome)) = joined {
            let output = match outcome {
                Ok(Some(output)) => output,
                Ok(None) => P::unobserved("the request did not complete".into()),
                Err(_) => P::unobserved(late.clone()),
            };
            results.insert(key, output);
        }
    }
    // A task that panicked or was lost still gets an answer.
    for key in keys {
        results
            .entry(key)
            .or_insert_with(|| P::unobserved("the request did not complete".into()));
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A probe kind that touches no network: it waits, counts, and answers
    /// with its key.
    struct Counting {
        calls: Arc<AtomicUsize>,
        in_flight: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
        wait: Duration,
    }

    impl Probe for Counting {
        const KIND: &'static str = "counting";
        type Output = Result<String, String>;

        async fn observe(&self, _net: Net, key: String) -> Self::Output {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(self.wait).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok(key)
        }

        fn unobserved(reason: String) -> Self::Output {
            Err(reason)
        }
    }

    fn counting(wait: Duration) -> (Counting, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let probe = Counting {
            calls: calls.clone(),
            in_flight: Arc::new(AtomicUsize::new(0)),
            most: most.clone(),
            wait,
        };
        (probe, calls, most)
    }

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("k{i}")).collect()
    }

    #[test]
    fn offline_observes_nothing() {
        let (probe, calls, _) = counting(Duration::ZERO);
        assert!(
            Probes::offline()
                .observe(probe, keys(3))
                .unwrap()
                .is_empty()
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_key_is_observed_once_per_run_within_the_concurrency_limit() {
        let probes = Probes::new(Some(Online {
            concurrency: 2,
            ..Online::default()
        }));
        let (probe, calls, most) = counting(Duration::from_millis(20));
        let first = probes.observe(probe, keys(6)).unwrap();
        assert_eq!(first.len(), 6);
        assert_eq!(first["k3"], Ok("k3".to_string()));
        assert_eq!(most.load(Ordering::SeqCst), 2);
        // A second scan (the baseline) asks again: answered from the cache.
        let (again, calls_again, _) = counting(Duration::ZERO);
        let second = probes.observe(again, keys(7)).unwrap();
        assert_eq!(second.len(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 6);
        assert_eq!(calls_again.load(Ordering::SeqCst), 1, "only k6 is new");
    }

    #[test]
    fn one_deadline_for_the_whole_run() {
        let probes = Probes::new(Some(Online {
            deadline: Duration::from_millis(50),
            ..Online::default()
        }));
        let (slow, _, _) = counting(Duration::from_secs(5));
        let started = std::time::Instant::now();
        let out = probes.observe(slow, keys(2)).unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(out["k0"].as_ref().unwrap_err().contains("overall deadline"));
        // The deadline has passed for every later probe of the run too.
        let (quick, _, _) = counting(Duration::from_millis(10));
        let later = probes.observe(quick, vec!["new".to_string()]).unwrap();
        assert!(later["new"].is_err());
    }
}
