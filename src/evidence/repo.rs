//! This repository's identity on the web, so links into it can be read
//! from the checkout.

use std::path::{Path, PathBuf};

/// This repository as the web knows it: runbook URLs under it point at
/// files in the checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoIdentity {
    pub host: String,
    pub owner: String,
    pub repo: String,
}

impl RepoIdentity {
    /// From `https://host/owner/repo(.git)`, `git@host:owner/repo.git` or
    /// `ssh://git@host/owner/repo`. Credentials in the URL are dropped.
    pub fn parse(url: &str) -> Option<Self> {
        let url = url.trim();
        let (host, path) = if let Some(rest) = url.split_once("://").map(|(_, r)| r) {
            let (authority, path) = rest.split_once('/')?;
            let host = authority.rsplit('@').next()?;
            (host.split(':').next()?, path)
        } else {
            // scp-like: [user@]host:owner/repo.git
            let (authority, path) = url.split_once(':')?;
            (authority.rsplit('@').next()?, path)
        };
        let path = path.trim_end_matches('/').trim_end_matches(".git");
        let (owner, repo) = path.rsplit_once('/')?;
        if host.is_empty() || owner.is_empty() || repo.is_empty() {
            return None;
        }
        Some(Self {
            host: host.to_ascii_lowercase(),
            owner: owner.to_string(),
            repo: repo.to_string(),
        })
    }

    /// The `origin` remote (else the first remote) in the checkout's git config.
    pub fn from_checkout(root: &Path) -> Option<Self> {
        let config = std::fs::read_to_string(git_dir(root)?.join("config")).ok()?;
        let mut section = String::new();
        let mut first = None;
        for line in config.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_string();
            } else if let Some(url) = line
                .strip_prefix("url")
                .and_then(|r| r.trim_start().strip_prefix('='))
                && section.starts_with("[remote ")
            {
                if section == "[remote \"origin\"]" {
                    return Self::parse(url);
                }
                first.get_or_insert_with(|| url.trim().to_string());
            }
        }
        Self::parse(&first?)
    }

    pub fn web_url(&self) -> String {
        format!("https://{}/{}/{}", self.host, self.owner, self.repo)
    }

    /// For a URL into this repository, the candidate paths it may name
    /// (a branch name can contain `/`, so `blob/release/1.2/docs/x.md` is
    /// tried as ref `release`, then `release/1.2`).
    pub fn paths_in(&self, url: &url::Url) -> Option<Vec<String>> {
        let host = url.host_str()?.to_ascii_lowercase();
        let segments: Vec<String> = url.path_segments()?.map(percent_decode).collect();
        let raw_host = host == "raw.githubusercontent.com" && self.host == "github.com";
        if host != self.host && !raw_host {
            return None;
        }
        let [owner, repo, rest @ ..] = segments.as_slice() else {
            return None;
        };
        if !owner.eq_ignore_ascii_case(&self.owner) || !repo.eq_ignore_ascii_case(&self.repo) {
            return None;
        }
        let after_ref = if raw_host {
            rest
        } else {
            // GitHub: blob|tree|raw|edit/REF/...; GitLab: -/blob/REF/...
            let rest = rest.strip_prefix(&["-".to_string()][..]).unwrap_or(rest);
            match rest.split_first() {
                Some((kind, tail)) if ["blob", "tree", "raw", "edit"].contains(&kind.as_str()) => {
                    tail
                }
                _ => return Some(vec![".".into()]), // the repository's front page
            }
        };
        if after_ref.len() < 2 {
            return Some(vec![".".into()]); // the tree at a ref
        }
        Some(
            (1..after_ref.len())
                .map(|ref_len| after_ref[ref_len..].join("/"))
                .collect(),
        )
    }
}

fn git_dir(root: &Path) -> Option<PathBuf> {
    let dot_git = root.join(".git");
    if dot_git.is_dir() {
        return Some(dot_git);
    }
    // A worktree: `.git` is a file naming the real git dir, whose
    // `commondir` holds the shared config.
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let dir = root.join(text.strip_prefix("gitdir:")?.trim());
    match std::fs::read_to_string(dir.join("commondir")) {
        Ok(common) => Some(dir.join(common.trim())),
        Err(_) => Some(dir),
    }
}

/// `%20` → ` ` in a path or anchor taken from a URL.
pub fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}
