//! Policy packs that live elsewhere: in another git repository
//! (`git+https://`, `git+file://`), at an https URL pinned by digest, or in
//! a GitHub repository read through its API (`github:ORG/REPO@REF//path`).
//! Each is fetched into a cache, pinned (by commit or by the digest of its
//! text) and checked against the lock file (`readygate.lock`).
//!
//! A policy read from the repository under review may name a remote pack
//! only pinned (a full commit SHA, or a `sha256`) or as the lock file
//! records it, never through `git+file` (a path on the runner): the change
//! under review must not pick which policy judges it. The workflow author's
//! own `--policy` may name any source; an https pack without a digest is
//! refused everywhere unless the workflow says `--allow-unpinned`.

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::source::SourceError;
use crate::diag::ConfigError;

mod git;
mod github;
mod https;

pub use git::GitPack;
pub use github::GithubPack;
pub use https::HttpsPack;

/// The lock file's name, next to the repository's policy.
pub const LOCK_FILE: &str = "readygate.lock";

/// How remote packs are fetched in this run.
#[derive(Debug, Default)]
pub struct Remotes {
    /// Where fetched packs are kept (`--cache-dir`, else the user's cache
    /// directory); `None`: remote packs cannot be used.
    pub cache: Option<PathBuf>,
    /// `--offline`: the cache only, never the network.
    pub offline: bool,
    /// The lock file's entries, when there is one.
    pub lock: Option<Lock>,
    /// `policy update`: resolve refs afresh instead of taking the lock's.
    pub update: bool,
    /// `--allow-unpinned`: the workflow accepts packs named by a moving
    /// ref or an https URL without a digest.
    pub allow_unpinned: bool,
    /// How the network is reached for https and GitHub packs.
    pub net: PackNet,
    /// The GitHub API for `github:` packs.
    pub github: GithubAccess,
    /// Every remote pack read in this run, as the lock records it.
    resolved: RefCell<Vec<Locked>>,
}

/// Network settings of pack fetches.
#[derive(Debug, Clone)]
pub struct PackNet {
    /// Per fetch, connection through the last byte.
    pub timeout: Duration,
    /// `--pack-allow-private`: a pack server on the runner's network.
    pub allow_private: bool,
    /// `--pack-ca-file`: a private CA, as the file (for git) and its
    /// certificates (for the HTTP client).
    pub ca_file: Option<PathBuf>,
    pub extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl Default for PackNet {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            allow_private: false,
            ca_file: None,
            extra_roots: Vec::new(),
        }
    }
}

/// The GitHub API (`GITHUB_API_URL`) and the token (`GITHUB_TOKEN`), which
/// goes to that API only.
#[derive(Clone, Default)]
pub struct GithubAccess {
    pub api: String,
    pub token: Option<String>,
}

impl std::fmt::Debug for GithubAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubAccess")
            .field("api", &self.api)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// `readygate.lock`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub version: u32,
    #[serde(default)]
    pub sources: Vec<Locked>,
}

/// One remote pack as resolved: its spec as written, the commit the ref
/// named (none for an https pack), and the digest of the pack's text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locked {
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub sha256: String,
}

impl Lock {
    /// Parse a lock file's text; an error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Lock, ConfigError> {
        let node =
            crate::yaml::parse_single(text).map_err(|e| ConfigError::new(e.message).at(e.pos))?;
        // serde's message quotes the offending value: never echo a file's
        // content (the path may point anywhere a change can reach).
        let lock: Lock = serde_json::from_value(node.to_json()).map_err(|_| {
            ConfigError::new("not a lock file: `version: 1` and `sources:`, each with `source`, `commit` (40 hex digits, absent for an https pack) and `sha256` (64 hex digits)")
        })?;
        if lock.version != 1 {
            return Err(ConfigError::new(format!(
                "version {} is not one this readygate reads (1)",
                lock.version
            )));
        }
        for (i, l) in lock.sources.iter().enumerate() {
            let commit_ok = l.commit.as_deref().is_none_or(is_commit);
            if !commit_ok || !is_digest(&l.sha256) || l.source.is_empty() {
                return Err(ConfigError::new(format!(
                    "sources[{i}]: `commit` must be 40 hex digits and `sha256` 64"
                )));
            }
        }
        Ok(lock)
    }

    pub fn render(&self) -> String {
        let mut out = String::from(
            "# Policy sources the repository's policy extends, resolved. Written by\n# `readygate policy update`; `readygate check` fetches exactly these\n# commits and refuses a pack whose text no longer matches its digest.\n",
        );
        let json = serde_json::to_value(self).expect("a lock serializes");
        out.push_str(&crate::yaml::emit(&json));
        out
    }
}

impl Remotes {
    pub fn new(cache: Option<PathBuf>, offline: bool, lock: Option<Lock>, update: bool) -> Self {
        Self {
            cache,
            offline,
            lock,
            update,
            ..Self::default()
        }
    }

    /// What was read in this run, sorted, once each.
    pub fn resolved(&self) -> Vec<Locked> {
        let mut all = self.resolved.borrow().clone();
        all.sort();
        all.dedup();
        all
    }

    /// The lock's entry for `spec`, unless refreshing it.
    fn locked(&self, spec: &str) -> Option<&Locked> {
        self.lock
            .as_ref()
            .and_then(|l| l.sources.iter().find(|s| s.source == spec))
            .filter(|_| !self.update)
    }

    /// An offline run's refusal to fetch `what` of `spec`.
    fn offline_miss(spec: &str, what: &str) -> SourceError {
        SourceError::new(
            format!("`{spec}`: {what} is not in the cache and --offline forbids fetching it"),
            "run once without --offline (or pin the pack and fill the cache), or give --cache-dir where it was fetched",
        )
    }
}

/// Where a remote pack lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Git(GitPack),
    Https(HttpsPack),
    Github(GithubPack),
}

/// A remote pack as named: where it lives, the digest its text must have
/// (`sha256`, from an `extends` entry's pin), and whether a policy read
/// from the repository under review named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePack {
    pub place: Place,
    pub sha256: Option<String>,
    pub from_repo: bool,
}

/// Whether `spec` names a remote pack.
pub fn is_remote(spec: &str) -> bool {
    ["git+", "https://", "http://", "github:"]
        .iter()
        .any(|p| spec.starts_with(p))
}

impl RemotePack {
    /// Parse a remote spec; `from_repo`: named by the repository's policy.
    pub fn parse(spec: &str, from_repo: bool) -> Result<RemotePack, SourceError> {
        let (place, sha256) = if spec.starts_with("git+") {
            (Place::Git(GitPack::parse(spec, from_repo)?), None)
        } else if spec.starts_with("github:") {
            (Place::Github(GithubPack::parse(spec)?), None)
        } else {
            let (pack, pin) = HttpsPack::parse(spec)?;
            (Place::Https(pack), pin)
        };
        Ok(RemotePack {
            place,
            sha256,
            from_repo,
        })
    }

    /// Pin the pack's text to `digest` (an `extends` entry's `sha256`).
    pub fn pinned_to(mut self, digest: &str) -> Result<RemotePack, SourceError> {
        let digest = digest.to_ascii_lowercase();
        if !is_digest(&digest) {
            return Err(SourceError::new(
                format!("`{digest}` is not a sha256 digest"),
                "write the 64 hex digits `sha256sum pack.yaml` prints",
            ));
        }
        if self.sha256.as_ref().is_some_and(|s| *s != digest) {
            return Err(SourceError::new(
                format!("`{}` carries two different sha256 pins", self.spec()),
                "keep one: the URL's #sha256= or the entry's sha256",
            ));
        }
        self.sha256 = Some(digest);
        Ok(self)
    }

    /// The spec as written, without a pin (the lock's key).
    /// A `git+file` pack: a repository on the runner itself.
    pub fn on_runner(&self) -> bool {
        matches!(&self.place, Place::Git(g) if g.url.starts_with("file://"))
    }

    pub fn spec(&self) -> String {
        match &self.place {
            Place::Git(p) => p.spec(),
            Place::Https(p) => p.url.to_string(),
            Place::Github(p) => p.spec(),
        }
    }

    /// A full commit SHA after `@`: the ref cannot move.
    fn commit_pinned(&self) -> bool {
        let reference = match &self.place {
            Place::Git(p) => &p.reference,
            Place::Github(p) => &p.reference,
            Place::Https(_) => return false,
        };
        is_commit(reference)
    }

    /// Fetch (or take from the cache) and read the pack: what it was read
    /// at (a commit, or `sha256:DIGEST` for an https pack) and its text.
    pub fn read(&self, remotes: &Remotes) -> Result<(String, String), SourceError> {
        let spec = self.spec();
        let cache = remotes.cache.as_ref().ok_or_else(|| {
            SourceError::new(
                format!("`{spec}`: no cache directory for remote packs"),
                "pass --cache-dir DIR, or set HOME or XDG_CACHE_HOME",
            )
        })?;
        let locked = remotes.locked(&spec);
        let https = matches!(self.place, Place::Https(_));
        let pinned = self.commit_pinned() || self.sha256.is_some() || locked.is_some();
        if !pinned && (self.from_repo || https) && !remotes.allow_unpinned && !remotes.update {
            let (what, fix) = if https {
                (
                    "an https pack is named with the sha256 of its text".to_string(),
                    "write `extends: [{source: URL, sha256: DIGEST}]` (or URL#sha256=DIGEST), run `readygate policy update` to record it in the lock, or pass --allow-unpinned",
                )
            } else {
                (
                    format!(
                        "a policy read from the repository names remote packs at a full commit SHA, with a sha256, or as {LOCK_FILE} records them"
                    ),
                    "run `readygate policy update` and commit .readygate/readygate.lock, write the commit SHA after @, or pass --allow-unpinned from the workflow",
                )
            };
            return Err(SourceError::new(
                format!("`{spec}` is not pinned: {what}"),
                fix,
            ));
        }
        let expected = self.sha256.as_deref().or(locked.map(|l| l.sha256.as_str()));
        let (commit, text) = match &self.place {
            Place::Git(p) => {
                let (c, t) = p.read(cache, locked.and_then(|l| l.commit.as_deref()), remotes)?;
                (Some(c), t)
            }
            Place::Github(p) => {
                let (c, t) = p.read(cache, locked.and_then(|l| l.commit.as_deref()), remotes)?;
                (Some(c), t)
            }
            Place::Https(p) => (None, p.read(cache, expected, remotes)?),
        };
        let digest = sha256(text.as_bytes());
        let at = commit
            .as_deref()
            .map_or_else(|| format!(" at sha256:{digest}"), |c| format!(" at {c}"));
        if let Some(pin) = &self.sha256
            && *pin != digest
        {
            return Err(SourceError::new(
                format!("`{spec}`{at} has sha256 {digest}, but it is pinned to sha256 {pin}"),
                "the pack is not the one pinned: review what changed, then update the pin",
            ));
        }
        if let Some(l) = locked
            && l.sha256 != digest
        {
            return Err(SourceError::new(
                format!(
                    "`{spec}`{at} has sha256 {digest}, but {LOCK_FILE} records {}",
                    l.sha256
                ),
                "the pack changed since the lock was written: review the change, then run `readygate policy update`",
            ));
        }
        remotes.resolved.borrow_mut().push(Locked {
            source: spec,
            commit: commit.clone(),
            sha256: digest.clone(),
        });
        Ok((commit.unwrap_or_else(|| format!("sha256:{digest}")), text))
    }

    /// The pack an entry of this pack's `extends` names when it is
    /// relative: the same repository at the same commit (`at`), or for an
    /// https pack the URL beside it.
    pub fn sibling(&self, spec: &str, at: Option<&str>) -> Result<RemotePack, SourceError> {
        let place = match &self.place {
            Place::Git(p) => Place::Git(p.sibling(relative(spec, &p.path, &p.url)?, at)),
            Place::Github(p) => Place::Github(p.sibling(relative(spec, &p.path, &p.spec())?, at)),
            Place::Https(p) => Place::Https(p.sibling(spec)?),
        };
        Ok(RemotePack {
            place,
            sha256: None,
            from_repo: self.from_repo,
        })
    }
}

/// `spec` from the directory of `path`, staying inside the repository.
fn relative(spec: &str, path: &str, repo: &str) -> Result<String, SourceError> {
    (!Path::new(spec).is_absolute())
        .then(|| crate::document::normalize(&crate::document::parent_dir(path), spec))
        .flatten()
        .ok_or_else(|| {
            SourceError::new(
                format!("`{spec}` is outside {repo}"),
                "a remote pack extends files of its own repository, builtin: packs or other remote packs",
            )
        })
}

/// A full commit SHA.
fn is_commit(reference: &str) -> bool {
    reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A sha256 digest as hex.
pub fn is_digest(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A tag, branch or commit name that git and URLs take as is: never an
/// option, never a path out.
fn ref_ok(reference: &str) -> bool {
    !reference.is_empty()
        && reference.len() <= 200
        && !reference.starts_with(['-', '.', '/'])
        && !reference.contains("..")
        && reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/+-".contains(c))
}

/// The host of an https URL must resolve to public addresses only (unless
/// `--pack-allow-private`): `host:port:addresses` as curl's `--resolve`
/// takes them, so git connects to exactly what was checked.
fn guard(url: &str, allow_private: bool) -> Result<String, String> {
    use std::net::ToSocketAddrs;
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let host = parsed.host_str().ok_or("the URL has no host")?;
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<_> = (host.trim_matches(['[', ']']), port)
        .to_socket_addrs()
        .map_err(|e| format!("{host} does not resolve: {e}"))?
        .collect();
    match addrs
        .iter()
        .find(|a| !crate::probe::http::is_allowed(a.ip(), allow_private))
    {
        Some(bad) => Err(format!(
            "{host} resolves to {}, a private or loopback address (--pack-allow-private allows it)",
            bad.ip()
        )),
        None => {
            let ips: Vec<String> = addrs
                .iter()
                .map(|a| match a.ip() {
                    std::net::IpAddr::V6(ip) => format!("[{ip}]"),
                    ip => ip.to_string(),
                })
                .collect();
            Ok(format!(
                "{}:{port}:{}",
                host.trim_matches(['[', ']']),
                ips.join(",")
            ))
        }
    }
}

/// A directory of the cache, made on first use.
fn cache_dir(cache: &Path, parts: &[&str]) -> Result<PathBuf, SourceError> {
    let dir = parts.iter().fold(cache.to_path_buf(), |d, p| d.join(p));
    std::fs::create_dir_all(&dir).map_err(|e| {
        SourceError::new(
            format!("cannot create the pack cache {}: {e}", dir.display()),
            "pass a writable --cache-dir",
        )
    })?;
    Ok(dir)
}

/// A cache entry, or nothing when there is none (or it cannot be read:
/// then it is fetched again).
fn cached(path: &Path) -> Option<String> {
    crate::document::read_regular_file(path, super::source::MAX_PACK_BYTES).ok()
}

/// Write a cache entry whole or not at all, so a killed run never leaves
/// half a pack for the next one.
fn store(path: &Path, text: &str) -> Result<(), SourceError> {
    let failed = |e: std::io::Error| {
        SourceError::new(
            format!("cannot write the pack cache {}: {e}", path.display()),
            "pass a writable --cache-dir",
        )
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    tmp.write_all(text.as_bytes()).map_err(failed)?;
    tmp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

/// The UTF-8 text of a fetched pack of at most [`MAX_PACK_BYTES`].
fn pack_text(spec: &str, bytes: Vec<u8>) -> Result<String, SourceError> {
    use super::source::MAX_PACK_BYTES;
    if bytes.len() as u64 > MAX_PACK_BYTES {
        return Err(SourceError::new(
            format!("`{spec}` is over the {MAX_PACK_BYTES}-byte limit for a policy pack"),
            "a policy pack is a YAML file of at most 1 MiB",
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        SourceError::new(
            format!("`{spec}` is not UTF-8 text"),
            "a policy pack is a YAML file",
        )
    })
}

pub fn sha256(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_round_trip() {
        let lock = Lock {
            version: 1,
            sources: vec![
                Locked {
                    source: "git+https://h/o/r@v1//p.yaml".into(),
                    commit: Some("a".repeat(40)),
                    sha256: "b".repeat(64),
                },
                Locked {
                    source: "https://h/p.yaml".into(),
                    commit: None,
                    sha256: "c".repeat(64),
                },
            ],
        };
        let text = lock.render();
        assert_eq!(Lock::parse(&text).unwrap(), lock);
        assert_eq!(text.matches("commit:").count(), 1, "{text}");
        assert!(
            Lock::parse("version: 2\n")
                .unwrap_err()
                .message
                .contains("version 2")
        );
        assert!(Lock::parse("version: 1\nextra: 1\n").is_err());
        // A commit or digest that is not one is refused: it would become a
        // path in the cache and a query to GitHub.
        let digest = "c".repeat(64);
        for bad in [
            format!(
                "version: 1\nsources:\n  - {{source: s, commit: /tmp/evil, sha256: {digest}}}\n"
            ),
            format!(
                "version: 1\nsources:\n  - {{source: s, commit: 'aéééééééééé', sha256: {digest}}}\n"
            ),
            "version: 1\nsources:\n  - {source: s, sha256: /dev/zero}\n".to_string(),
        ] {
            assert!(Lock::parse(&bad).is_err(), "{bad}");
        }
        // Its errors never quote the file.
        let err = Lock::parse("root:x:0:0:root:/root:/bin/bash\n")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("root:x"), "{err}");
    }

    #[test]
    fn specs_name_their_place_and_pins_are_digests() {
        let git = RemotePack::parse("git+https://h.example/o/r@v1//p.yaml", true).unwrap();
        assert!(matches!(git.place, Place::Git(_)));
        let gh = RemotePack::parse("github:acme/policies@v1//packs/p.yaml", true).unwrap();
        assert_eq!(gh.spec(), "github:acme/policies@v1//packs/p.yaml");
        let pin = "ab".repeat(32);
        let url =
            RemotePack::parse(&format!("https://h.example/p.yaml#sha256={pin}"), false).unwrap();
        assert_eq!(url.sha256.as_deref(), Some(pin.as_str()));
        assert_eq!(url.spec(), "https://h.example/p.yaml");
        assert!(url.clone().pinned_to(&pin.to_uppercase()).is_ok());
        assert!(url.clone().pinned_to(&"cd".repeat(32)).is_err());
        assert!(git.pinned_to("abc").is_err());
        // The sibling of an https pack is the URL beside it, unpinned.
        let sib = url.sibling("base.yaml", None).unwrap();
        assert_eq!(sib.spec(), "https://h.example/base.yaml");
        assert_eq!(sib.sha256, None);
        assert!(url.sibling("https://other.example/x.yaml", None).is_err());
    }

    #[test]
    fn unpinned_packs_are_refused_before_any_fetch() {
        let cache = tempfile::tempdir().unwrap();
        let remotes = Remotes::new(Some(cache.path().into()), false, None, false);
        // No network in tests: a refusal must come before any fetch.
        for (spec, from_repo) in [
            ("https://packs.invalid/p.yaml", false),
            ("github:acme/policies@main//p.yaml", true),
            ("git+https://packs.invalid/o/r@main//p.yaml", true),
        ] {
            let err = RemotePack::parse(spec, from_repo)
                .unwrap()
                .read(&remotes)
                .unwrap_err();
            assert!(err.message.contains("is not pinned"), "{spec}: {err:?}");
            assert!(err.hint.contains("--allow-unpinned"), "{err:?}");
        }
    }
}
