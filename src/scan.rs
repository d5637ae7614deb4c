//! Walk a repository and collect its evidence: the first half of the pipeline.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use crate::collect::{self, Fact, RepoIdentity};
use crate::diag::ConfigError;
use crate::discover::{self, Options};
use crate::evidence::Evidence;
use crate::probe::{self, Online};

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

pub fn scan(root: &Path, settings: &Settings) -> Result<Evidence, ConfigError> {
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
        probe::runbooks::check(&mut ev.alerts, online).map_err(ConfigError::new)?;
    }
    Ok(ev)
}
