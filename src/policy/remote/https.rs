//! Packs at an https URL, pinned by the sha256 of their text: fetched
//! through the shared HTTP client (rustls, timeouts, the address guard on
//! every hop) and kept in the cache by digest, so a pinned pack is read
//! from the network once.

use super::{Remotes, cache_dir, cached, pack_text, sha256, store};
use crate::policy::source::{MAX_PACK_BYTES, SourceError};
use crate::probe::{Online, http};

/// `https://HOST/path/pack.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsPack {
    pub url: url::Url,
}

fn refused(spec: &str, why: &str) -> SourceError {
    SourceError::new(
        format!("`{spec}`: {why}"),
        "write https://HOST/path/pack.yaml with its digest: `extends: [{source: URL, sha256: DIGEST}]`",
    )
}

impl HttpsPack {
    /// Parse an https URL; a `#sha256=DIGEST` fragment is its pin.
    pub fn parse(spec: &str) -> Result<(HttpsPack, Option<String>), SourceError> {
        if !spec.starts_with("https://") {
            return Err(refused(spec, "packs are fetched over https only"));
        }
        let mut url = url::Url::parse(spec).map_err(|e| refused(spec, &e.to_string()))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(refused(spec, "the URL has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            // It would be printed in every report that names the pack.
            return Err(SourceError::new(
                format!(
                    "`{}`: credentials in a pack URL are refused",
                    url.host_str().unwrap_or("")
                ),
                "serve the pack without authentication, or use github: with GITHUB_TOKEN",
            ));
        }
        let pin = match url.fragment() {
            None => None,
            Some(f) => match f.strip_prefix("sha256=") {
                Some(d) if super::is_digest(d) => Some(d.to_ascii_lowercase()),
                Some(_) => {
                    return Err(refused(
                        spec,
                        "#sha256= takes the 64 hex digits `sha256sum` prints",
                    ));
                }
                None => {
                    return Err(refused(
                        spec,
                        "the only fragment a pack URL takes is #sha256=DIGEST",
                    ));
                }
            },
        };
        url.set_fragment(None);
        Ok((HttpsPack { url }, pin))
    }

    /// `spec` beside this URL, on the same origin.
    pub fn sibling(&self, spec: &str) -> Result<HttpsPack, SourceError> {
        let url = self
            .url
            .join(spec)
            .ok()
            .filter(|u| u.origin() == self.url.origin() && u.fragment().is_none())
            .ok_or_else(|| {
                SourceError::new(
                    format!("`{spec}` is not beside {}", self.url),
                    "an https pack extends packs on its own server (relative URLs), builtin: packs or pinned remote packs",
                )
            })?;
        Ok(HttpsPack { url })
    }

    /// The pack's text: from the cache when a digest is expected and held
    /// there, else fetched (never when offline).
    pub fn read(
        &self,
        cache: &std::path::Path,
        expected: Option<&str>,
        remotes: &Remotes,
    ) -> Result<String, SourceError> {
        let spec = self.url.as_str();
        let dir = cache_dir(cache, &["https", &sha256(spec.as_bytes())[..32]])?;
        // Only a digest names a cache file.
        let held = |digest: &str| {
            super::is_digest(digest)
                .then(|| cached(&dir.join(digest)))
                .flatten()
                .filter(|t| sha256(t.as_bytes()) == digest)
        };
        if let Some(text) = expected.and_then(held) {
            return Ok(text);
        }
        if remotes.offline {
            let latest = cached(&dir.join("latest"));
            return match (expected, latest.as_deref().and_then(|d| held(d.trim()))) {
                (None, Some(text)) => Ok(text),
                _ => Err(Remotes::offline_miss(spec, "the pack")),
            };
        }
        let text = self.fetch(remotes)?;
        let digest = sha256(text.as_bytes());
        store(&dir.join(&digest), &text)?;
        store(&dir.join("latest"), &digest)?;
        Ok(text)
    }

    fn fetch(&self, remotes: &Remotes) -> Result<String, SourceError> {
        let spec = self.url.as_str();
        let failed = |why: String| {
            SourceError::new(
                format!("cannot fetch `{spec}`: {why}"),
                "check the URL; with no network, use --offline and a filled cache",
            )
        };
        let online = Online {
            timeout: remotes.net.timeout,
            allow_private: remotes.net.allow_private,
            extra_roots: remotes.net.extra_roots.clone(),
            https_only: true,
            ..Online::default()
        };
        // The guard's refusal names the probes' flag; packs have their own.
        let failed =
            |why: String| failed(why.replace("--online-allow-private", "--pack-allow-private"));
        let client = http::client(&online).map_err(|e| failed(e.0))?;
        let max = MAX_PACK_BYTES as usize;
        let (status, _, body) = crate::github::api::block_on(http::get_bytes(
            &client,
            &self.url,
            online.allow_private,
            max,
        ))
        .map_err(|e| failed(e.0))?
        .map_err(|e| failed(e.0))?;
        if status != 200 {
            return Err(failed(format!("the server answered {status}")));
        }
        pack_text(spec, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_without_credentials_and_pins_come_from_the_fragment() {
        let (pack, pin) = HttpsPack::parse("https://packs.example/v1/prod.yaml").unwrap();
        assert_eq!(pack.url.as_str(), "https://packs.example/v1/prod.yaml");
        assert_eq!(pin, None);
        let digest = "AB".repeat(32);
        let (_, pin) =
            HttpsPack::parse(&format!("https://packs.example/p.yaml#sha256={digest}")).unwrap();
        assert_eq!(pin, Some(digest.to_lowercase()));
        for bad in [
            "http://packs.example/p.yaml",
            "https://user:secret@packs.example/p.yaml",
            "https://packs.example/p.yaml#main",
            "https://packs.example/p.yaml#sha256=/dev/zero",
            "https://packs.example/p.yaml#sha256=../../etc/passwd",
            "ftp://packs.example/p.yaml",
        ] {
            let err = HttpsPack::parse(bad).unwrap_err();
            assert!(!err.message.contains("secret"), "{err:?}");
        }
        let sib = pack.sibling("../base.yaml").unwrap();
        assert_eq!(sib.url.as_str(), "https://packs.example/base.yaml");
        assert!(pack.sibling("//evil.example/p.yaml").is_err());
    }
}
