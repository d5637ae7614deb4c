//! Policy packs that live in another repository (`git+https://`,
//! `git+file://`), fetched with the `git` binary into a cache, pinned by
//! commit and checked against the lock file (`readygate.lock`).
//!
//! A policy read from the repository under review may name a remote pack
//! only at a full commit SHA or as the lock file records it, never through
//! `git+file` (a path on the runner): the change under review must not pick
//! which policy judges it. The workflow author's own `--policy` may name
//! any source.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::source::{MAX_PACK_BYTES, SourceError};
use crate::git;

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
    /// Every remote pack read in this run, as the lock records it.
    resolved: RefCell<Vec<Locked>>,
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
/// named, and the digest of the pack's text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locked {
    pub source: String,
    pub commit: String,
    pub sha256: String,
}

impl Lock {
    /// Parse a lock file's text; an error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Lock, String> {
        let node = crate::yaml::parse_single(text)
            .map_err(|e| format!("line {}: {}", e.pos.line, e.message))?;
        let lock: Lock = serde_json::from_value(node.to_json()).map_err(|e| e.to_string())?;
        if lock.version != 1 {
            return Err(format!(
                "version {} is not one this readygate reads (1)",
                lock.version
            ));
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
            resolved: RefCell::default(),
        }
    }

    /// What was read in this run, sorted, once each.
    pub fn resolved(&self) -> Vec<Locked> {
        let mut all = self.resolved.borrow().clone();
        all.sort();
        all.dedup();
        all
    }
}

/// A pack in a git repository: `git+https://HOST/ORG/REPO@REF//path.yaml`
/// or `git+file:///path/to/repo@REF//path.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitPack {
    /// `https://...` or `file:///...`, without the `git+`.
    pub url: String,
    /// A tag, branch or full commit SHA, as written.
    pub reference: String,
    /// The pack's path in that repository.
    pub path: String,
    /// Named by a policy read from the repository under review.
    pub from_repo: bool,
}

fn refused(spec: &str, why: &str) -> SourceError {
    SourceError::new(
        format!("`{spec}`: {why}"),
        "write git+https://HOST/ORG/REPO@REF//path/to/pack.yaml (REF: a tag, a branch or a full commit SHA)",
    )
}

impl GitPack {
    /// Parse `git+URL@REF//PATH`, refusing anything that could reach git as
    /// an option or leave the repository's tree.
    pub fn parse(spec: &str, from_repo: bool) -> Result<GitPack, SourceError> {
        let rest = spec.strip_prefix("git+").unwrap_or(spec);
        let scheme_end = rest
            .find("://")
            .map(|i| i + 3)
            .ok_or_else(|| refused(spec, "no scheme"))?;
        let scheme = &rest[..scheme_end];
        if scheme != "https://" && scheme != "file://" {
            return Err(refused(
                spec,
                "only git+https:// and git+file:// are fetched",
            ));
        }
        let after = &rest[scheme_end..];
        let at = after.find('@').ok_or_else(|| refused(spec, "no @REF"))?;
        let sep = after[at..]
            .find("//")
            .map(|i| at + i)
            .ok_or_else(|| refused(spec, "no //path after the ref"))?;
        let url = format!("{scheme}{}", &after[..at]);
        let reference = after[at + 1..sep].to_string();
        let path = crate::document::normalize(".", &after[sep + 2..])
            .filter(|p| p != "." && !p.starts_with('/'))
            .ok_or_else(|| refused(spec, "the pack's path must stay inside that repository"))?;
        let url_ok = !url.chars().any(|c| c.is_whitespace() || c.is_control())
            && url.len() > scheme.len()
            && (scheme == "file://" || !after[..at].contains(['?', '#']));
        if !url_ok {
            return Err(refused(spec, "not a repository URL"));
        }
        let ref_ok = !reference.is_empty()
            && reference.len() <= 200
            && !reference.starts_with(['-', '.', '/'])
            && !reference.contains("..")
            && reference
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._/+-".contains(c));
        if !ref_ok {
            return Err(refused(
                spec,
                "the ref must be a tag, branch or commit name",
            ));
        }
        if from_repo && scheme == "file://" {
            return Err(SourceError::new(
                format!(
                    "`{spec}`: a policy read from the repository may not name git+file: sources (a path on the runner)"
                ),
                "publish the pack in a repository and name it with git+https://, pinned to a commit, or pass it with --policy from the workflow",
            ));
        }
        Ok(GitPack {
            url,
            reference,
            path,
            from_repo,
        })
    }

    /// The spec as written (the lock's key).
    pub fn spec(&self) -> String {
        format!("git+{}@{}//{}", self.url, self.reference, self.path)
    }

    /// The same repository at `reference`, another path in it.
    pub fn sibling(&self, path: String) -> GitPack {
        GitPack {
            path,
            ..self.clone()
        }
    }

    fn pinned(&self) -> bool {
        self.reference.len() == 40 && self.reference.bytes().all(|b| b.is_ascii_hexdigit())
    }

    /// Fetch (or take from the cache) and read the pack: its commit and
    /// text.
    pub fn read(&self, remotes: &Remotes) -> Result<(String, String), SourceError> {
        let spec = self.spec();
        let cache = remotes.cache.as_ref().ok_or_else(|| {
            SourceError::new(
                format!("`{spec}`: no cache directory for remote packs"),
                "pass --cache-dir DIR, or set HOME or XDG_CACHE_HOME",
            )
        })?;
        let locked = remotes
            .lock
            .as_ref()
            .and_then(|l| l.sources.iter().find(|s| s.source == spec))
            .filter(|_| !remotes.update);
        if self.from_repo && !self.pinned() && locked.is_none() && !remotes.update {
            return Err(SourceError::new(
                format!(
                    "`{spec}` is not pinned: a policy read from the repository names remote packs at a full commit SHA, or as {LOCK_FILE} records them"
                ),
                "run `readygate policy update` and commit .readygate/readygate.lock, or write the commit SHA after @",
            ));
        }
        let repo = cache_repo(cache, &self.url)?;
        let commit = match (self.pinned(), locked) {
            (true, _) => self.reference.to_lowercase(),
            (false, Some(l)) => l.commit.clone(),
            (false, None) => self.resolve_ref(&repo, remotes.offline)?,
        };
        self.ensure_commit(&repo, &commit, remotes.offline)?;
        let text = match git::read_at(&repo, &commit, &self.path, MAX_PACK_BYTES) {
            Ok(Some(text)) => text,
            Ok(None) => {
                return Err(SourceError::new(
                    format!("`{spec}`: no file {} at commit {commit}", self.path),
                    "check the path after // (from that repository's root)",
                ));
            }
            Err(e) => {
                return Err(SourceError::new(
                    format!("`{spec}`: {e}"),
                    "a policy pack is a regular file of at most 1 MiB",
                ));
            }
        };
        let digest = sha256(text.as_bytes());
        if let Some(l) = locked
            && l.sha256 != digest
        {
            return Err(SourceError::new(
                format!(
                    "`{spec}` at {commit} has sha256 {digest}, but {LOCK_FILE} records {}",
                    l.sha256
                ),
                "the pack changed since the lock was written: review the change, then run `readygate policy update`",
            ));
        }
        remotes.resolved.borrow_mut().push(Locked {
            source: spec,
            commit: commit.clone(),
            sha256: digest,
        });
        Ok((commit, text))
    }

    /// The commit a tag or branch names now (online), or named when last
    /// fetched (offline).
    fn resolve_ref(&self, repo: &Path, offline: bool) -> Result<String, SourceError> {
        let local = format!("refs/readygate/{}", hex(self.reference.as_bytes()));
        if offline {
            return git::git(repo, &["rev-parse", "--verify", "--quiet", &format!("{local}^{{commit}}")], None)
                .map_err(|_| {
                    SourceError::new(
                        format!("`{}` is not in the cache and --offline forbids fetching it", self.spec()),
                        "run once without --offline (or pin the pack and fill the cache), or give --cache-dir where it was fetched",
                    )
                });
        }
        self.fetch(repo, &self.reference)?;
        let commit = git::git(
            repo,
            &["rev-parse", "--verify", "FETCH_HEAD^{commit}"],
            None,
        )
        .map_err(|e| {
            SourceError::new(
                format!("`{}`: {}", self.spec(), e.message()),
                "".to_string(),
            )
        })?;
        let _ = git::git(repo, &["update-ref", &local, &commit], None);
        Ok(commit)
    }

    fn ensure_commit(&self, repo: &Path, commit: &str, offline: bool) -> Result<(), SourceError> {
        let have =
            |c: &str| git::git(repo, &["cat-file", "-e", &format!("{c}^{{commit}}")], None).is_ok();
        if have(commit) {
            return Ok(());
        }
        if offline {
            return Err(SourceError::new(
                format!(
                    "`{}`: commit {commit} is not in the cache and --offline forbids fetching it",
                    self.spec()
                ),
                "run once without --offline, or give --cache-dir where it was fetched",
            ));
        }
        self.fetch(repo, commit)?;
        if have(commit) {
            Ok(())
        } else {
            Err(SourceError::new(
                format!("`{}`: the fetch did not bring commit {commit}", self.spec()),
                "check that the commit exists in that repository",
            ))
        }
    }

    /// One shallow fetch of `what` (a ref or a commit), over this URL's
    /// protocol only, after the host passed the address guard.
    fn fetch(&self, repo: &Path, what: &str) -> Result<(), SourceError> {
        let protocol = if self.url.starts_with("file://") {
            "protocol.file.allow=always"
        } else {
            guard(&self.url).map_err(|why| {
                SourceError::new(
                    format!("`{}`: {why}", self.spec()),
                    "policy packs are fetched from public hosts",
                )
            })?;
            "protocol.https.allow=always"
        };
        git::git(
            repo,
            &["-c", protocol, "fetch", "--quiet", "--depth", "1", "--no-tags", "--", &self.url, what],
            None,
        )
        .map(|_| ())
        .map_err(|e| {
            SourceError::new(
                format!("cannot fetch `{}`: {}", self.spec(), e.message()),
                "check the URL and that the ref exists; with no network, use --offline and a filled cache",
            )
        })
    }
}

/// The host of an https URL must resolve to public addresses only.
fn guard(url: &str) -> Result<(), String> {
    use std::net::ToSocketAddrs;
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let host = parsed.host_str().ok_or("the URL has no host")?;
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("{host} does not resolve: {e}"))?
        .collect();
    match addrs
        .iter()
        .find(|a| !crate::probe::http::is_allowed(a.ip(), false))
    {
        Some(bad) => Err(format!(
            "{host} resolves to {}, a private or loopback address",
            bad.ip()
        )),
        None => Ok(()),
    }
}

/// The cache's repository for one URL, made on first use.
fn cache_repo(cache: &Path, url: &str) -> Result<PathBuf, SourceError> {
    let repo = cache.join("packs").join(&sha256(url.as_bytes())[..32]);
    if !repo.join(".git").is_dir() {
        std::fs::create_dir_all(&repo).map_err(|e| {
            SourceError::new(
                format!("cannot create the pack cache {}: {e}", repo.display()),
                "pass a writable --cache-dir",
            )
        })?;
        git::git(&repo, &["init", "--quiet"], None).map_err(|e| {
            SourceError::new(
                format!("cannot create the pack cache: {}", e.message()),
                "pass a writable --cache-dir",
            )
        })?;
    }
    Ok(repo)
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
    fn specs_are_parsed_and_option_injection_refused() {
        let p = GitPack::parse(
            "git+https://github.com/acme/policies@v1.2.0//packs/prod.yaml",
            false,
        )
        .unwrap();
        assert_eq!(p.url, "https://github.com/acme/policies");
        assert_eq!(p.reference, "v1.2.0");
        assert_eq!(p.path, "packs/prod.yaml");
        assert_eq!(
            p.spec(),
            "git+https://github.com/acme/policies@v1.2.0//packs/prod.yaml"
        );
        for bad in [
            "git+https://github.com/acme/p@--upload-pack=touch /tmp/x//p.yaml",
            "git+https://github.com/acme/p@-x//p.yaml",
            "git+ssh://github.com/acme/p@v1//p.yaml",
            "git+https://github.com/acme/p@v1//../../etc/passwd",
            "git+https://github.com/acme/p@v1",
            "git+https://github.com/acme/p//p.yaml",
            "git+https://github.com/acme/p@a..b//p.yaml",
            "git+https://@v1//p.yaml",
        ] {
            assert!(GitPack::parse(bad, false).is_err(), "{bad}");
        }
        let err = GitPack::parse("git+file:///srv/packs@v1//p.yaml", true).unwrap_err();
        assert!(err.message.contains("may not name git+file"));
        assert!(GitPack::parse("git+file:///srv/packs@v1//p.yaml", false).is_ok());
    }

    fn git_in(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t.invalid",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[test]
    fn the_lock_decides_the_commit_and_the_digest_must_match() {
        let source = tempfile::tempdir().unwrap();
        let dir = source.path();
        git_in(dir, &["init", "-q"]);
        std::fs::write(dir.join("p.yaml"), "name: one\n").unwrap();
        git_in(dir, &["add", "."]);
        git_in(dir, &["commit", "-qm", "one"]);
        git_in(dir, &["tag", "v1"]);
        let first = git_in(dir, &["rev-parse", "HEAD"]);
        // The tag moves: the lock still says the first commit.
        std::fs::write(dir.join("p.yaml"), "name: two\n").unwrap();
        git_in(dir, &["commit", "-qam", "two"]);
        git_in(dir, &["tag", "-f", "v1"]);
        let second = git_in(dir, &["rev-parse", "HEAD"]);
        // As a repository's policy would name it (git+file is refused there
        // by the parser; the lock logic is the same for https).
        let pack = GitPack {
            url: format!("file://{}", dir.display()),
            reference: "v1".into(),
            path: "p.yaml".into(),
            from_repo: true,
        };
        let cache = tempfile::tempdir().unwrap();
        let remotes = |lock: Option<Lock>, update: bool| {
            Remotes::new(Some(cache.path().to_path_buf()), false, lock, update)
        };
        let err = pack.read(&remotes(None, false)).unwrap_err();
        assert!(err.message.contains("is not pinned"), "{err:?}");

        let locked = |sha256: String| Lock {
            version: 1,
            sources: vec![Locked {
                source: pack.spec(),
                commit: first.clone(),
                sha256,
            }],
        };
        let good = locked(sha256(b"name: one\n"));
        let (commit, text) = pack.read(&remotes(Some(good), false)).unwrap();
        assert_eq!(
            (commit.as_str(), text.as_str()),
            (first.as_str(), "name: one\n")
        );

        let err = pack
            .read(&remotes(Some(locked("0".repeat(64))), false))
            .unwrap_err();
        assert!(err.message.contains(&sha256(b"name: one\n")), "{err:?}");
        assert!(err.message.contains(&"0".repeat(64)), "{err:?}");

        // `policy update` resolves the ref afresh and records it.
        let updating = remotes(Some(locked("0".repeat(64))), true);
        let (commit, _) = pack.read(&updating).unwrap();
        assert_eq!(commit, second);
        assert_eq!(updating.resolved()[0].commit, second);
        assert_eq!(updating.resolved()[0].sha256, sha256(b"name: two\n"));
    }

    #[test]
    fn locks_round_trip() {
        let lock = Lock {
            version: 1,
            sources: vec![Locked {
                source: "git+https://h/o/r@v1//p.yaml".into(),
                commit: "a".repeat(40),
                sha256: "b".repeat(64),
            }],
        };
        assert_eq!(Lock::parse(&lock.render()).unwrap(), lock);
        assert!(
            Lock::parse("version: 2\n")
                .unwrap_err()
                .contains("version 2")
        );
        assert!(Lock::parse("version: 1\nextra: 1\n").is_err());
    }
}
