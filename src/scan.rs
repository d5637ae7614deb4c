//! Walk a repository and collect its evidence: the first half of the pipeline.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use crate::collect::{self, Fact, RepoIdentity};
use crate::diag::ConfigError;
use crate::discover::{self, Options};
use crate::evidence::Evidence;
use crate::probe::{self, Online, runbooks::PageCache};

/// Everything that shapes one scan besides the root.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub walk: Options,
    /// This repository's web address (`--repo-url`); default: the
    /// checkout's `origin` remote.
    pub repo_url: Option<String>,
    /// Fetch external runbook links (`--online`).
    pub online: Option<Online>,
}

impl Settings {
    /// These settings for another copy of the repository at `root` (the
    /// baseline's files, which have no git remote): the same identity, so
    /// runbook URLs into the repository resolve alike in both.
    pub fn for_copy_of(&self, root: &Path) -> Settings {
        Settings {
            repo_url: self
                .repo_url
                .clone()
                .or_else(|| RepoIdentity::from_checkout(root).map(|r| r.web_url())),
            ..self.clone()
        }
    }
}

pub fn scan(root: &Path, settings: &Settings) -> Result<Evidence, ConfigError> {
    scan_with(root, settings, &mut PageCache::default())
}

/// [`scan`], reusing (and adding to) pages fetched by an earlier scan.
pub fn scan_with(
    root: &Path,
    settings: &Settings,
    pages: &mut PageCache,
) -> Result<Evidence, ConfigError> {
    let opts = &settings.walk;
    match std::fs::metadata(root) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(
                ConfigError::new(format!("{} is not a directory", root.display()))
                    .hint("pass the repository's root directory"),
            );
        }
        Err(err) => {
            return Err(
                ConfigError::new(format!("cannot read {}: {err}", root.display()))
                    .hint("pass an existing directory (default: the current one)"),
            );
        }
    }
    let facts = Mutex::new(Vec::<Fact>::new());
    let by_kind = Mutex::new(BTreeMap::<String, u64>::new());
    let walk = discover::walk(root, opts, &|doc| {
        let found = collect::collect(&doc);
        *by_kind
            .lock()
            .unwrap()
            .entry(doc.kind.name().to_string())
            .or_default() += 1;
        facts.lock().unwrap().extend(found);
    });
    let mut ev = collect::assemble(
        facts.into_inner().unwrap(),
        walk,
        by_kind.into_inner().unwrap(),
    )?;
    let repo = match &settings.repo_url {
        Some(url) => Some(RepoIdentity::parse(url).ok_or_else(|| {
            ConfigError::new(format!("--repo-url `{url}` is not a repository URL"))
                .hint("use https://HOST/OWNER/REPO, as in a browser")
        })?),
        None => RepoIdentity::from_checkout(root),
    };
    collect::resolve_runbooks(&mut ev.alerts, root, repo.as_ref(), opts.max_file_size);
    if let Some(online) = &settings.online {
        probe::runbooks::check(&mut ev.alerts, online, pages).map_err(ConfigError::new)?;
    }
    Ok(ev)
}
