//! Live checks, only when asked (`--online`): they touch the network, so they
//! are bounded (concurrency, a timeout per request, one deadline for all)
//! and guarded (no private or link-local targets unless allowed). A failure
//! to observe is recorded as such (`unreachable`), never as a failure of the
//! thing observed.

use std::time::Duration;

pub mod http;
pub mod runbooks;

/// Limits for one online run.
#[derive(Debug, Clone)]
pub struct Online {
    /// Per request, connection through the last body byte read.
    pub timeout: Duration,
    /// For every request of the run together.
    pub deadline: Duration,
    pub concurrency: usize,
    pub max_redirects: usize,
    /// Allow loopback, private (RFC 1918, ULA) and link-local targets. Off by
    /// default: a repository's URLs must not make the gate probe the runner's
    /// network or a cloud metadata endpoint.
    pub allow_private: bool,
}

impl Default for Online {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(60),
            concurrency: 8,
            max_redirects: 5,
            allow_private: false,
        }
    }
}
