//! Walk a repository and collect its evidence: the first half of the
//! pipeline. One walk classifies every file once; each document goes to
//! every area that reads its kind; after the walk the manifest is chosen,
//! each area assembles its section, and, with probes, observes live state.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use crate::area::{self, AREAS, Evidence};
use crate::contract::Assembly;
use crate::diag::{ConfigError, Error, InputError};
use crate::discover::{self, Classifier, Options};
use crate::document::Document;
use crate::evidence::scope::{self, Scopes};
use crate::evidence::{
    EVIDENCE_VERSION, FileStats, Judging, ManifestFact, Recognised, RepoIdentity,
};
use crate::probe::Probes;

pub mod manifest;
#[cfg(test)]
mod tests;

/// Everything that shapes one scan besides the root and the probes.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub walk: Options,
    /// This repository's web address (`--repo-url`); default: the
    /// checkout's `origin` remote.
    pub repo_url: Option<String>,
    /// How the service is judged when it is not the manifest in force's
    /// (`--policy-ref`: the base ref's manifest).
    pub judging: Option<Judging>,
    /// Test reports and history the run was pointed at.
    pub inputs: crate::contract::Inputs,
    /// Read the repository's files from this commit's tree instead of the
    /// directory (the baseline); the root is then only where nothing else
    /// is.
    pub tree: Option<std::sync::Arc<crate::tree::CommitTree>>,
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

/// Every document kind: the scan's own and the areas'.
pub fn classifier() -> Classifier {
    Classifier::new(manifest::KINDS.iter().chain(area::kinds()))
}

/// Scan `root`. `probes` observes live state when online; its cache is
/// shared by every scan that uses it.
pub fn scan(root: &Path, settings: &Settings, probes: &Probes) -> Result<Evidence, Error> {
    let opts = &settings.walk;
    match std::fs::metadata(root) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(
                InputError::new(format!("{} is not a directory", root.display()))
                    .hint("pass the repository's root directory")
                    .into(),
            );
        }
        Err(err) => {
            return Err(
                InputError::new(format!("cannot read {}: {err}", root.display()))
                    .hint("pass an existing directory (default: the current one)")
                    .into(),
            );
        }
    }
    settings.inputs.validate(root)?;
    let collectors: Vec<_> = AREAS.iter().map(|a| a.start()).collect();
    let readers: Vec<(&dyn area::Registered, &dyn area::Collecting)> = AREAS
        .iter()
        .copied()
        .zip(collectors.iter().map(|c| c.as_ref()))
        .collect();
    let manifests = Mutex::new(Vec::<Result<ManifestFact, ConfigError>>::new());
    // Per kind: files, and how they were recognised; and every document's
    // path, for its scope once the manifest says what the scopes are.
    // One lock per document for both.
    let seen = Mutex::new((
        BTreeMap::<String, (u64, Recognised)>::new(),
        Vec::<String>::new(),
    ));
    let classifier = classifier();
    let take = |doc: Document| {
        {
            let mut seen = seen.lock().unwrap();
            let (counts, paths) = &mut *seen;
            paths.push(doc.path.clone());
            let (files, how) = counts.entry(doc.kind.name().to_string()).or_default();
            *files += 1;
            if doc.by_content {
                how.by_content += 1;
            } else {
                how.by_name += 1;
            }
        }
        if doc.kind == manifest::READYGATE_MANIFEST {
            let parsed = manifest::parse(&doc);
            manifests.lock().unwrap().push(parsed);
        }
        for (area, collector) in &readers {
            if area.reads(doc.kind) {
                collector.collect(&doc);
            }
        }
    };
    let tree = settings.tree.as_deref();
    let mut walk = match tree {
        Some(tree) => discover::walk_tree(tree, opts, &classifier, &take),
        None => discover::walk(root, opts, &classifier, &take),
    };
    // Files that documents name as evidence (Prometheus `rule_files`),
    // whatever they are called: read once, as the kind they are named as.
    // Files they name are not followed further.
    let named: Vec<_> = collectors.iter().flat_map(|c| c.take_named()).collect();
    if !named.is_empty() {
        let walked: std::collections::HashSet<String> = seen
            .lock()
            .unwrap()
            .1
            .iter()
            .cloned()
            .chain(walk.problems.iter().map(|p| p.location.path.clone()))
            .collect();
        let problems = discover::read_named(root, tree, opts, &classifier, &named, &walked, &take);
        walk.problems.extend(problems);
        collectors.iter().for_each(|c| drop(c.take_named()));
    }
    drop(readers);

    // The first manifest by path is in force; a broken one stops the gate.
    let mut manifests = manifests.into_inner().unwrap();
    manifests.sort_by_key(|m| match m {
        Ok(m) => m.location.path.clone(),
        Err(e) => e.file.clone().unwrap_or_default(),
    });
    let manifest = match manifests.first() {
        Some(Err(e)) => return Err(e.clone().into()),
        Some(Ok(m)) => Some(m.clone()),
        None => None,
    };
    let parsed: Vec<ManifestFact> = manifests.into_iter().filter_map(Result::ok).collect();

    let (counts, paths) = seen.into_inner().unwrap();
    let mut ev = Evidence {
        evidence_version: EVIDENCE_VERSION,
        generator: format!("readygate {}", env!("CARGO_PKG_VERSION")),
        files: FileStats {
            visited: walk.visited,
            by_kind: counts.iter().map(|(k, (n, _))| (k.clone(), *n)).collect(),
            binary: walk.binary,
            recognised: counts.into_iter().map(|(k, (_, how))| (k, how)).collect(),
        },
        problems: walk.problems,
        ..Evidence::default()
    };
    let repo = match &settings.repo_url {
        Some(url) => Some(RepoIdentity::parse(url).ok_or_else(|| {
            ConfigError::new(format!("--repo-url `{url}` is not a repository URL"))
                .hint("use https://HOST/OWNER/REPO, as in a browser")
        })?),
        None => RepoIdentity::from_checkout(root),
    };
    let judging = match &settings.judging {
        Some(judging) => judging.clone(),
        None => Judging {
            ignore_file: match tree {
                Some(tree) => ignore_file_in(tree),
                None => scope::read_ignore_file(root),
            },
            ..Judging::of(manifest.as_ref().map(|m| &m.manifest))
        },
    };
    let rules = judging.scope_rules();
    let matcher = rules.matcher()?;
    let mut files_by_scope = BTreeMap::new();
    for path in paths {
        *files_by_scope.entry(matcher.scope(&path)).or_insert(0u64) += 1;
    }
    ev.scopes = Scopes {
        rules,
        files: files_by_scope,
    };
    let ctx = Assembly {
        root,
        tree,
        repo: repo.as_ref(),
        manifest: manifest.as_ref(),
        manifests: &parsed,
        judging: &judging,
        max_file_size: opts.max_file_size,
        scopes: &matcher,
        inputs: &settings.inputs,
    };
    for collector in collectors {
        collector.finish(&ctx, &mut ev);
    }
    // The walk is parallel; sort so output never depends on thread timing.
    ev.problems.sort();
    if probes.is_online() {
        for area in AREAS {
            area.probe(&mut ev, probes)?;
        }
    }
    Ok(ev)
}

/// [`scope::read_ignore_file`] from a commit's tree.
fn ignore_file_in(tree: &crate::tree::CommitTree) -> Option<String> {
    if tree.blob(scope::IGNORE_FILE)?.symlink {
        return None;
    }
    String::from_utf8(
        tree.read_raw(scope::IGNORE_FILE, scope::MAX_IGNORE_FILE)
            .ok()?,
    )
    .ok()
}
