//! Packs in a GitHub repository, read through the REST API
//! (`github:ORG/REPO@REF//path`): the ref resolved to its commit, the file
//! read at that commit, the token sent when there is one (private policy
//! repositories). The API is the runner's (`GITHUB_API_URL`), which may be
//! a GitHub Enterprise Server on a private network, so it is not held to
//! the address guard; the token goes to it and nowhere else.

use super::{Remotes, cache_dir, cached, hex, is_commit, pack_text, ref_ok, sha256, store};
use crate::github::api::{Api, ApiError, RAW, SHA, block_on};
use crate::policy::source::{MAX_PACK_BYTES, SourceError};

/// The public API, when the runner names none.
pub const DEFAULT_API: &str = "https://api.github.com";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubPack {
    pub owner: String,
    pub repo: String,
    /// A tag, branch or full commit SHA, as written.
    pub reference: String,
    pub path: String,
}

fn refused(spec: &str, why: &str) -> SourceError {
    SourceError::new(
        format!("`{spec}`: {why}"),
        "write github:ORG/REPO@REF//path/to/pack.yaml (REF: a tag, a branch or a full commit SHA)",
    )
}

/// A name GitHub allows for an owner or repository, and that goes into a
/// URL path as is.
fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

impl GithubPack {
    pub fn parse(spec: &str) -> Result<GithubPack, SourceError> {
        let rest = spec.strip_prefix("github:").unwrap_or(spec);
        let (repo, path) = rest
            .split_once("//")
            .ok_or_else(|| refused(spec, "no //path after the ref"))?;
        let (repo, reference) = repo
            .split_once('@')
            .ok_or_else(|| refused(spec, "no @REF"))?;
        let (owner, repo) = repo
            .split_once('/')
            .filter(|(o, r)| name_ok(o) && name_ok(r))
            .ok_or_else(|| refused(spec, "ORG/REPO are GitHub names"))?;
        if !ref_ok(reference) {
            return Err(refused(
                spec,
                "the ref must be a tag, branch or commit name",
            ));
        }
        let path = crate::document::normalize(".", path)
            .filter(|p| {
                p != "."
                    && p.split('/').all(|seg| {
                        seg.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
                    })
            })
            .ok_or_else(|| {
                refused(
                    spec,
                    "the pack's path stays inside the repository, in letters, digits and ._+-",
                )
            })?;
        Ok(GithubPack {
            owner: owner.to_string(),
            repo: repo.to_string(),
            reference: reference.to_string(),
            path,
        })
    }

    pub fn spec(&self) -> String {
        format!(
            "github:{}/{}@{}//{}",
            self.owner, self.repo, self.reference, self.path
        )
    }

    /// Another path in the same repository at the same commit.
    pub fn sibling(&self, path: String, at: Option<&str>) -> GithubPack {
        GithubPack {
            path,
            reference: at.unwrap_or(&self.reference).to_string(),
            ..self.clone()
        }
    }

    /// The commit (the SHA written, the lock's, or the one the ref names)
    /// and the pack's text there; both cached, so `--offline` can serve
    /// them.
    pub fn read(
        &self,
        cache: &std::path::Path,
        locked: Option<&str>,
        remotes: &Remotes,
    ) -> Result<(String, String), SourceError> {
        let spec = self.spec();
        let api_url = if remotes.github.api.is_empty() {
            DEFAULT_API
        } else {
            remotes.github.api.trim_end_matches('/')
        };
        let repo_key = format!("{api_url}/{}/{}", self.owner, self.repo);
        let dir = cache_dir(cache, &["github", &sha256(repo_key.as_bytes())[..32]])?;
        let net = &remotes.net;
        let api = || {
            let token = remotes.github.token.clone().unwrap_or_default();
            let mut api = Api::with(api_url, token, net.timeout, &net.extra_roots)
                .map_err(|e| SourceError::new(format!("`{spec}`: {}", e.0), ""))?;
            // One retry: a pack fetch is not worth minutes of backoff.
            api.retries = 1;
            Ok::<_, SourceError>(api)
        };
        let ref_file = dir.join(format!("ref-{}", hex(self.reference.as_bytes())));
        let commit = match locked {
            _ if is_commit(&self.reference) => self.reference.to_lowercase(),
            Some(c) => c.to_string(),
            None if remotes.offline => cached(&ref_file)
                .map(|c| c.trim().to_string())
                .filter(|c| is_commit(c))
                .ok_or_else(|| Remotes::offline_miss(&spec, "its ref"))?,
            None => {
                let path = format!(
                    "/repos/{}/{}/commits/{}",
                    self.owner, self.repo, self.reference
                );
                let answer = self.call(&spec, "the ref", || async {
                    api()?.get_as(&path, SHA, 256).await.map_err(Into::into)
                })?;
                let answer = String::from_utf8_lossy(&answer);
                let commit = Some(answer.trim())
                    .filter(|c| is_commit(c))
                    .ok_or_else(|| {
                        SourceError::new(
                            format!("`{spec}`: GitHub named no commit for `{}`", self.reference),
                            "check the ref",
                        )
                    })?
                    .to_lowercase();
                store(&ref_file, &commit)?;
                commit
            }
        };
        let file = dir.join(format!("{commit}-{}", &sha256(self.path.as_bytes())[..32]));
        if let Some(text) = cached(&file) {
            return Ok((commit, text));
        }
        if remotes.offline {
            return Err(Remotes::offline_miss(&spec, &format!("commit {commit}")));
        }
        let path = format!(
            "/repos/{}/{}/contents/{}?ref={commit}",
            self.owner, self.repo, self.path
        );
        let max = MAX_PACK_BYTES as usize;
        let bytes = self.call(&spec, "the file", || async {
            api()?.get_as(&path, RAW, max).await.map_err(Into::into)
        })?;
        let text = pack_text(&spec, bytes)?;
        store(&file, &text)?;
        Ok((commit, text))
    }

    /// One API call, its failure said for this pack.
    fn call<T, F>(&self, spec: &str, what: &str, work: impl FnOnce() -> F) -> Result<T, SourceError>
    where
        F: std::future::Future<Output = Result<T, Called>>,
    {
        let outcome =
            block_on(work()).map_err(|e| SourceError::new(format!("`{spec}`: {}", e.0), ""))?;
        outcome.map_err(|e| match e {
            Called::Source(e) => e,
            Called::Api(e) => {
                let hint = match e.status {
                    Some(401) => "GITHUB_TOKEN was refused: check that it is valid",
                    Some(403 | 404) => {
                        "check ORG/REPO, the ref and the path; a private repository needs GITHUB_TOKEN with `contents: read` on it"
                    }
                    _ => "with no network, use --offline and a filled cache",
                };
                let message = match e.status {
                    Some(_) => format!("`{spec}`: GitHub refused {what}: {e}"),
                    None => format!("`{spec}`: could not read {what} from GitHub: {e}"),
                };
                SourceError::new(message, hint)
            }
        })
    }
}

/// What can go wrong in one call: building the client, or the API's answer.
enum Called {
    Source(SourceError),
    Api(ApiError),
}

impl From<SourceError> for Called {
    fn from(e: SourceError) -> Self {
        Called::Source(e)
    }
}

impl From<ApiError> for Called {
    fn from(e: ApiError) -> Self {
        Called::Api(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorthands_parse_and_refuse_what_would_leave_the_repository() {
        let p = GithubPack::parse("github:acme/policies@v1.2.0//packs/prod.yaml").unwrap();
        assert_eq!(
            (
                p.owner.as_str(),
                p.repo.as_str(),
                p.reference.as_str(),
                p.path.as_str()
            ),
            ("acme", "policies", "v1.2.0", "packs/prod.yaml")
        );
        assert_eq!(p.spec(), "github:acme/policies@v1.2.0//packs/prod.yaml");
        for bad in [
            "github:acme@v1//p.yaml",
            "github:acme/policies//p.yaml",
            "github:acme/policies@v1",
            "github:acme/../x@v1//p.yaml",
            "github:acme/policies@--upload-pack=x//p.yaml",
            "github:acme/policies@v1//../secrets.yaml",
            "github:acme/policies@v1//p.yaml?ref=main",
            "github:acme/policies@v1//p yaml",
        ] {
            assert!(GithubPack::parse(bad).is_err(), "{bad}");
        }
        let sib = p.sibling("packs/base.yaml".into(), Some(&"a".repeat(40)));
        assert_eq!(sib.reference, "a".repeat(40));
    }
}
