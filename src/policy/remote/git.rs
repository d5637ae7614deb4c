//! Packs in another git repository (`git+https://`, `git+file://`),
//! fetched with the `git` binary: shallow, by ref, over that URL's protocol
//! only, into one cache repository per URL.

use std::path::{Path, PathBuf};

use super::{PackNet, Remotes, hex, is_commit, ref_ok, sha256};
use crate::git;
use crate::policy::source::{MAX_PACK_BYTES, SourceError};

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
        // `user:password@host`: an `@` before any path. Not echoed: it
        // would be printed in every message that names the pack.
        if scheme == "https://" && !after[..at].contains('/') {
            return Err(SourceError::new(
                "credentials in a git+https pack URL are refused",
                "name the repository without user or password; the runner's git credentials are not used for packs",
            ));
        }
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
        if !ref_ok(&reference) {
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
        })
    }

    /// The spec as written (the lock's key).
    pub fn spec(&self) -> String {
        format!("git+{}@{}//{}", self.url, self.reference, self.path)
    }

    /// The same repository at the same commit (`at`, once read), another
    /// path in it.
    pub fn sibling(&self, path: String, at: Option<&str>) -> GitPack {
        GitPack {
            path,
            reference: at.unwrap_or(&self.reference).to_string(),
            ..self.clone()
        }
    }

    /// Fetch (or take from the cache) and read the pack at the commit the
    /// lock records (`locked`), the SHA written, or the one its ref names:
    /// that commit and the text.
    pub fn read(
        &self,
        cache: &Path,
        locked: Option<&str>,
        remotes: &Remotes,
    ) -> Result<(String, String), SourceError> {
        let spec = self.spec();
        // Runs sharing a cache (a self-hosted runner) take turns in one
        // URL's repository: a fetch by one must not land in another's, nor
        // two make it at once.
        let (repo, _turn) = cache_repo(cache, &self.url)?;
        let commit = match locked {
            _ if is_commit(&self.reference) => self.reference.to_lowercase(),
            Some(c) => c.to_string(),
            None => self.resolve_ref(&repo, remotes)?,
        };
        self.ensure_commit(&repo, &commit, remotes)?;
        match git::read_at(&repo, &commit, &self.path, MAX_PACK_BYTES) {
            Ok(Some(text)) => Ok((commit, text)),
            Ok(None) => Err(SourceError::new(
                format!("`{spec}`: no file {} at commit {commit}", self.path),
                "check the path after // (from that repository's root)",
            )),
            Err(e) => Err(SourceError::new(
                format!("`{spec}`: {e}"),
                "a policy pack is a regular file of at most 1 MiB",
            )),
        }
    }

    /// The commit a tag or branch names now (online), or named when last
    /// fetched (offline).
    fn resolve_ref(&self, repo: &Path, remotes: &Remotes) -> Result<String, SourceError> {
        let local = format!("refs/readygate/{}", hex(self.reference.as_bytes()));
        if remotes.offline {
            return git::git(
                repo,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("{local}^{{commit}}"),
                ],
            )
            .map_err(|_| Remotes::offline_miss(&self.spec(), "its ref"));
        }
        // Into a ref of this run's own, not FETCH_HEAD, which any fetch
        // in the repository rewrites.
        let fetched = format!("refs/readygate-fetch/{}", std::process::id());
        self.fetch(
            repo,
            &format!("+{}:{fetched}", self.reference),
            &remotes.net,
        )?;
        let commit = git::git(
            repo,
            &["rev-parse", "--verify", &format!("{fetched}^{{commit}}")],
        )
        .map_err(|e| {
            SourceError::new(
                format!("`{}`: {}", self.spec(), e.message()),
                "".to_string(),
            )
        });
        let _ = git::git(repo, &["update-ref", "-d", &fetched]);
        let commit = commit?;
        let _ = git::git(repo, &["update-ref", &local, &commit]);
        Ok(commit)
    }

    fn ensure_commit(
        &self,
        repo: &Path,
        commit: &str,
        remotes: &Remotes,
    ) -> Result<(), SourceError> {
        let have =
            |c: &str| git::git(repo, &["cat-file", "-e", &format!("{c}^{{commit}}")]).is_ok();
        if have(commit) {
            return Ok(());
        }
        if remotes.offline {
            return Err(Remotes::offline_miss(
                &self.spec(),
                &format!("commit {commit}"),
            ));
        }
        self.fetch(repo, commit, &remotes.net)?;
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
    fn fetch(&self, repo: &Path, what: &str, net: &PackNet) -> Result<(), SourceError> {
        let mut config = Vec::new();
        if self.url.starts_with("file://") {
            config.push("protocol.file.allow=always".to_string());
        } else {
            let resolved = super::guard(&self.url, net.allow_private).map_err(|why| {
                SourceError::new(
                    format!("`{}`: {why}", self.spec()),
                    "policy packs are fetched from public hosts",
                )
            })?;
            config.push("protocol.https.allow=always".to_string());
            // Connect to the addresses the guard checked, and follow no
            // redirect: neither a second DNS answer nor a redirect can lead
            // git to the runner's network.
            config.push(format!("http.curloptResolve={resolved}"));
            config.push("http.followRedirects=false".to_string());
            if let Some(ca) = &net.ca_file {
                config.push(format!("http.sslCAInfo={}", ca.display()));
            }
            // git has no overall timeout: a transfer below 1 KiB/s for the
            // fetch timeout is abandoned.
            config.push("http.lowSpeedLimit=1024".to_string());
            config.push(format!(
                "http.lowSpeedTime={}",
                net.timeout.as_secs().max(1)
            ));
        }
        let mut args: Vec<&str> = config.iter().flat_map(|c| ["-c", c.as_str()]).collect();
        args.extend([
            "fetch",
            "--quiet",
            "--depth",
            "1",
            "--no-tags",
            "--",
            &self.url,
            what,
        ]);
        git::git(repo, &args)
        .map(|_| ())
        .map_err(|e| {
            SourceError::new(
                format!("cannot fetch `{}`: {}", self.spec(), e.message()),
                "check the URL and that the ref exists; with no network, use --offline and a filled cache",
            )
        })
    }
}

/// An exclusive hold on one URL's cache repository, released on drop.
fn take_turn(path: &Path) -> Result<std::fs::File, SourceError> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .and_then(|f| f.lock().map(|()| f))
        .map_err(|e| {
            SourceError::new(
                format!("cannot lock the pack cache {}: {e}", path.display()),
                "pass a writable --cache-dir",
            )
        })?;
    Ok(file)
}

/// The cache's repository for one URL, made on first use, and this run's
/// turn in it (held until dropped).
fn cache_repo(cache: &Path, url: &str) -> Result<(PathBuf, std::fs::File), SourceError> {
    let name = &sha256(url.as_bytes())[..32];
    let packs = super::cache_dir(cache, &["packs"])?;
    let turn = take_turn(&packs.join(format!("{name}.turn")))?;
    let repo = super::cache_dir(cache, &["packs", name])?;
    if !repo.join(".git").is_dir() {
        git::git(&repo, &["init", "--quiet"]).map_err(|e| {
            SourceError::new(
                format!("cannot create the pack cache: {}", e.message()),
                "pass a writable --cache-dir",
            )
        })?;
    }
    Ok((repo, turn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::remote::{Lock, Locked, Place, RemotePack};

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
        let err =
            GitPack::parse("git+https://user:hunter2@example.com/r@v1//p.yaml", false).unwrap_err();
        assert!(err.message.contains("credentials"), "{err:?}");
        assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
        let err = GitPack::parse("git+file:///srv/packs@v1//p.yaml", true).unwrap_err();
        assert!(err.message.contains("may not name git+file"));
        assert!(GitPack::parse("git+file:///srv/packs@v1//p.yaml", false).is_ok());
    }

    #[test]
    fn the_lock_decides_the_commit_and_the_digest_must_match() {
        let source = tempfile::tempdir().unwrap();
        let dir = source.path();
        crate::git::for_tests(dir, &["init", "-q"]);
        std::fs::write(dir.join("p.yaml"), "name: one\n").unwrap();
        crate::git::for_tests(dir, &["add", "."]);
        crate::git::for_tests(dir, &["commit", "-qm", "one"]);
        crate::git::for_tests(dir, &["tag", "v1"]);
        let first = crate::git::for_tests(dir, &["rev-parse", "HEAD"]);
        // The tag moves: the lock still says the first commit.
        std::fs::write(dir.join("p.yaml"), "name: two\n").unwrap();
        crate::git::for_tests(dir, &["commit", "-qam", "two"]);
        crate::git::for_tests(dir, &["tag", "-f", "v1"]);
        let second = crate::git::for_tests(dir, &["rev-parse", "HEAD"]);
        // As a repository's policy would name it (git+file is refused there
        // by the parser; the lock logic is the same for https).
        let pack = RemotePack {
            place: Place::Git(GitPack {
                url: format!("file://{}", dir.display()),
                reference: "v1".into(),
                path: "p.yaml".into(),
            }),
            sha256: None,
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
                commit: Some(first.clone()),
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
        assert_eq!(
            updating.resolved()[0].commit.as_deref(),
            Some(second.as_str())
        );
        assert_eq!(updating.resolved()[0].sha256, sha256(b"name: two\n"));
    }
}
