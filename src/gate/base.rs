//! `--policy-ref REF`: everything that decides the verdict, read from a
//! commit through git objects (no checkout, no network, never the working
//! tree): the policy and the packs it extends locally, and from the
//! manifest the tier, lifecycle and alert conventions. The change under
//! review can still add evidence; it cannot lower its own bar.

use std::path::{Path, PathBuf};

use crate::diag::{ConfigError, Error};
use crate::document::Document;
use crate::evidence::Judging;
use crate::evidence::scope::{IGNORE_FILE, MAX_IGNORE_FILE};
use crate::findings::{PolicyChange, PolicyChangeKind, PolicyFromRef};
use crate::git::{self, Purpose};
use crate::policy::source::Base;
use crate::policy::{self, Policy};
use crate::scan::manifest::{self, READYGATE_MANIFEST};

use super::{DEFAULT_POLICY, REPO_POLICY, cwd};

pub const POLICY_REF: Purpose = Purpose {
    flag: "--policy-ref",
    needs: "the policy cannot be read from a base commit",
};

/// Largest manifest read from the base.
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// The base commit's say in the run.
pub struct FromBase {
    pub reference: String,
    pub commit: String,
    pub policy: Policy,
    pub judging: Judging,
}

/// Read the policy (`--policy` when it names a file in the repository, else
/// the repository's `.readygate/policy.yaml`, else the default) and the
/// manifest's judging fields as `reference` has them.
pub fn read(
    root: &Path,
    reference: &str,
    policy: Option<&str>,
    packs: &super::PackFetch,
    env: &dyn super::Env,
) -> Result<FromBase, Error> {
    let commit = git::resolve(root, reference, &POLICY_REF)?;
    let (top, prefix) = git::places(root)?;
    // git resolves links to find the prefix: a root that is (or passes
    // through) a symlink inside the repository would read another
    // directory's policy at the base.
    if let Some(link) = symlink_under(&top, root) {
        return Err(crate::diag::InputError::new(format!(
            "{} is a symbolic link inside the repository; the policy at {reference} would be read from where it points",
            link.display()
        ))
        .hint("check the directory itself, not a link to it")
        .into());
    }
    let in_repo = |rel: &str| match prefix.as_str() {
        "" => rel.to_string(),
        p => format!("{p}/{rel}"),
    };
    let at_commit = Base::Git {
        top: top.clone(),
        commit: commit.clone(),
        dir: ".".into(),
    };
    // The lock file as the commit has it, beside its policy.
    let lock_rel = in_repo(&format!(".readygate/{}", crate::policy::remote::LOCK_FILE));
    let lock = git::read_at(
        &top,
        &commit,
        &lock_rel,
        crate::policy::source::MAX_PACK_BYTES,
    )
    .ok()
    .flatten();
    let shown = format!("{lock_rel}@{reference}");
    let remotes = packs.remotes(env, lock.map(|t| (shown.as_str(), t)))?;
    let unlocked = packs.remotes(env, None)?;
    let outside = Base::Dir {
        dir: cwd().to_path_buf(),
        confined: None,
    };
    let policy = match policy {
        Some(spec) if spec.starts_with("builtin:") => policy::load(spec, cwd())?,
        Some(spec) => match repository_path(&top, Path::new(spec)) {
            // A file of the repository: as the commit has it.
            Some(rel) => policy::load::load_with(&rel, &at_commit, &remotes)?,
            // The workflow author's own file, outside the repository.
            None => policy::load::load_with(spec, &outside, &unlocked)?,
        },
        None => {
            let rel = in_repo(REPO_POLICY);
            let exists = git::read_at(&top, &commit, &rel, crate::policy::source::MAX_PACK_BYTES)
                .map(|t| t.is_some())
                .unwrap_or(true); // present but unreadable: let the loader say why
            if exists {
                policy::load::load_with(&rel, &at_commit, &remotes)?
            } else {
                policy::load(DEFAULT_POLICY, cwd())?
            }
        }
    };
    // The manifest in force at the commit: the first by path, as the scan
    // picks it in the working tree.
    let mut judging = Judging::default();
    for name in [".readygate.yaml", "readygate.yaml", "readygate.yml"] {
        let rel = in_repo(name);
        let text = git::read_at(&top, &commit, &rel, MAX_MANIFEST_BYTES).map_err(|e| {
            ConfigError::new(format!("cannot read {rel} at {reference}: {e}"))
                .hint("the manifest is read from the --policy-ref commit; fix it there")
        })?;
        if let Some(text) = text {
            let display = format!("{rel}@{reference}");
            let fact = manifest::parse(&Document::new(display, READYGATE_MANIFEST, text))?;
            judging = Judging::of(Some(&fact.manifest));
            break;
        }
    }
    // A lifecycle the manifest does not state comes from the catalog, as
    // the base has it.
    for name in ["catalog-info.yaml", "catalog-info.yml"] {
        let Ok(Some(text)) = git::read_at(&top, &commit, &in_repo(name), MAX_MANIFEST_BYTES) else {
            continue;
        };
        judging.catalog_lifecycle = crate::yaml::parse_documents(&text).ok().and_then(|docs| {
            docs.iter()
                .find_map(|d| d.path(&["spec", "lifecycle"])?.scalar_text())
        });
        break;
    }
    // What is judged is policy too: `.readygateignore` as the commit has it.
    judging.ignore_file = git::read_at(&top, &commit, &in_repo(IGNORE_FILE), MAX_IGNORE_FILE)
        .ok()
        .flatten();
    Ok(FromBase {
        reference: reference.to_string(),
        commit,
        policy,
        judging,
    })
}

/// The first component of `root` (as given) under the repository's top that
/// is a symbolic link.
fn symlink_under(top: &Path, root: &Path) -> Option<PathBuf> {
    let top = top.canonicalize().ok()?;
    let mut here = std::env::current_dir().ok()?.join(root);
    let mut links = Vec::new();
    loop {
        if std::fs::symlink_metadata(&here).is_ok_and(|m| m.file_type().is_symlink()) {
            links.push(here.clone());
        }
        match here.parent() {
            Some(parent) if parent.canonicalize().is_ok_and(|p| p.starts_with(&top)) => {
                here = parent.to_path_buf();
            }
            _ => break,
        }
    }
    links.pop()
}

/// What the working tree would change in how it is judged: the policy (if
/// it loads) and the manifest's judging fields, against the base's.
pub fn head_changes(
    from_base: &FromBase,
    head_policy: Result<Policy, ConfigError>,
    head_manifest: Option<&crate::evidence::Manifest>,
    head_ignore_file: Option<&str>,
    head_catalog_lifecycle: Option<&str>,
) -> PolicyFromRef {
    let (mut head_changes, head_error) = match head_policy {
        Ok(head) => (policy::diff::changes(&from_base.policy, &head), None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let head = Judging::of(head_manifest);
    let base = &from_base.judging;
    if head_ignore_file != base.ignore_file.as_deref() {
        head_changes.push(PolicyChange {
            kind: PolicyChangeKind::Manifest,
            subject: IGNORE_FILE.into(),
            message: ".readygateignore would change which paths are judged".into(),
            location: None,
        });
    }
    let mut manifest = |subject: &str, message: String| {
        head_changes.push(PolicyChange {
            kind: PolicyChangeKind::Manifest,
            subject: subject.into(),
            message,
            location: None,
        })
    };
    let text = |v: Option<String>| v.unwrap_or_else(|| "none".into());
    if head.tier != base.tier {
        manifest(
            "tier",
            format!(
                "readygate.yaml would make the tier {} instead of {}",
                text(head.tier.map(|t| t.to_string())),
                text(base.tier.map(|t| t.to_string()))
            ),
        );
    }
    if head.lifecycle != base.lifecycle {
        manifest(
            "lifecycle",
            format!(
                "readygate.yaml would make the lifecycle {} instead of {}",
                text(head.lifecycle.map(|l| l.as_str().to_string())),
                text(base.lifecycle.map(|l| l.as_str().to_string()))
            ),
        );
    }
    if head.lifecycle.is_none()
        && base.lifecycle.is_none()
        && head_catalog_lifecycle != base.catalog_lifecycle.as_deref()
    {
        manifest(
            "lifecycle",
            format!(
                "catalog-info.yaml would make the lifecycle {} instead of {}",
                head_catalog_lifecycle.unwrap_or("none"),
                base.catalog_lifecycle.as_deref().unwrap_or("none")
            ),
        );
    }
    if head.scopes != base.scopes || head.exclude != base.exclude {
        manifest(
            "scopes",
            "readygate.yaml would change which paths are judged (`scopes:` / `exclude:`)".into(),
        );
    }
    if head.alerts != base.alerts {
        manifest(
            "alerts",
            "readygate.yaml would change which annotations hold runbooks (`alerts.runbook_keys`)"
                .into(),
        );
    }
    PolicyFromRef {
        policy_ref: from_base.reference.clone(),
        commit: from_base.commit.clone(),
        head_changes,
        head_error,
    }
}

/// `path` (as the user typed it, relative or absolute) from the
/// repository's top, when it names a place inside the repository; `None`
/// for one outside it (the workflow author's own file).
fn repository_path(top: &Path, path: &Path) -> Option<String> {
    let full = std::env::current_dir().ok()?.join(path);
    let name = full.file_name()?;
    // The directory in real terms (links and `..` resolved); the file itself
    // may not exist in the working tree.
    let parent = full.parent()?.canonicalize().ok()?;
    let top = top.canonicalize().ok()?;
    let joined = parent.join(name);
    let rel = joined.strip_prefix(&top).ok()?;
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
    )
}
