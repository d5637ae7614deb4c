//! Regression mode (`--baseline REF`): the base ref's files, checked out
//! from the local repository into a temporary tree (no network, and neither
//! the index nor the worktree list is touched), so the same scan and policy
//! can run on them and the two reports be compared.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::changes::ChangedLines;
use crate::diag::{ConfigError, Error, InputError, IoError};

pub mod compare;

/// The base ref's files in a temporary directory, removed on drop.
pub struct BaseTree {
    _dir: tempfile::TempDir,
    /// The scanned root: the same subdirectory of the repository as the
    /// head's root.
    pub root: PathBuf,
    /// The full commit id the ref named.
    pub commit: String,
}

/// Run git in `dir`; its stdout, trimmed of the final newline.
pub(crate) fn git(dir: &Path, args: &[&str], index: Option<&Path>) -> Result<String, GitError> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    if let Some(index) = index {
        cmd.env("GIT_INDEX_FILE", index);
    }
    let out = cmd.output().map_err(GitError::Missing)?;
    if !out.status.success() {
        return Err(GitError::Failed(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if text.ends_with('\n') {
        text.pop();
    }
    Ok(text)
}

#[derive(Debug)]
pub(crate) enum GitError {
    /// git could not be started.
    Missing(std::io::Error),
    /// git ran and refused; its message.
    Failed(String),
}

impl GitError {
    pub(crate) fn into_error(self, doing: &str) -> Error {
        match self {
            GitError::Missing(e) => IoError::new(format!("cannot run git to {doing}"), e)
                .hint("--baseline and --annotate changed read the local repository with git; install git")
                .into(),
            GitError::Failed(msg) => {
                InputError::new(format!("git could not {doing}: {msg}")).into()
            }
        }
    }
}

/// The commit `reference` names in the repository holding `root`.
pub fn resolve(root: &Path, reference: &str) -> Result<String, Error> {
    if reference.is_empty() || reference.starts_with('-') {
        return Err(ConfigError::new(format!("`{reference}` is not a git ref"))
            .hint("name a branch, tag or commit, e.g. --baseline origin/main")
            .into());
    }
    git(root, &["rev-parse", "--is-inside-work-tree"], None).map_err(|e| match e {
        GitError::Failed(_) => InputError::new(format!(
            "{} is not inside a git repository, so there is no baseline to compare with",
            root.display()
        ))
        .hint("drop --baseline, or run on a git checkout")
        .into(),
        e => e.into_error("read the repository"),
    })?;
    let spec = format!("{reference}^{{commit}}");
    git(root, &["rev-parse", "--verify", "--quiet", "--end-of-options", &spec], None).map_err(
        |e| match e {
            GitError::Failed(_) => {
                let shallow = git(root, &["rev-parse", "--is-shallow-repository"], None)
                    .is_ok_and(|s| s == "true");
                let hint = if shallow {
                    format!("this is a shallow clone: fetch the base first (`git fetch --depth=1 origin {reference}`), or check out with `fetch-depth: 0`; readygate does not use the network for --baseline")
                } else {
                    format!("fetch it first (`git fetch origin {reference}`), or name a branch, tag or commit that exists here")
                };
                InputError::new(format!("`{reference}` names no commit in this repository")).hint(hint).into()
            }
            e => e.into_error("resolve the baseline"),
        },
    )
}

/// Check out `reference`'s files into a temporary tree. Only the part of
/// the repository under `root` is written, at the tree's root, so paths in
/// both reports are alike.
pub fn checkout(root: &Path, reference: &str) -> Result<BaseTree, Error> {
    let commit = resolve(root, reference)?;
    // One line each: the top, then root's place under it (empty at the top).
    let places = git(
        root,
        &["rev-parse", "--show-toplevel", "--show-prefix"],
        None,
    )
    .map_err(|e| e.into_error("find the repository's top"))?;
    let (top, prefix) = places.split_once('\n').unwrap_or((&places, ""));
    let prefix = prefix.trim_end_matches('/');
    let dir = tempfile::Builder::new()
        .prefix("readygate-baseline-")
        .tempdir()
        .map_err(|e| IoError::new("cannot create a temporary directory", e))?;
    let tree_root = dir.path().join("tree");
    std::fs::create_dir(&tree_root)
        .map_err(|e| IoError::new("cannot create a temporary directory", e))?;
    let tree = if prefix.is_empty() {
        format!("{commit}^{{tree}}")
    } else {
        format!("{commit}:{prefix}")
    };
    let top = Path::new(top);
    // A directory the base ref does not have yet: an empty baseline, so
    // every finding is new.
    if git(top, &["rev-parse", "--verify", "--quiet", &tree], None).is_ok() {
        // A private index: the user's staged changes stay as they are.
        let index = dir.path().join("index");
        let mut dest = tree_root.display().to_string();
        dest.push('/');
        git(top, &["read-tree", &tree], Some(&index))
            .and_then(|_| {
                git(
                    top,
                    &[
                        "checkout-index",
                        "--all",
                        "--force",
                        &format!("--prefix={dest}"),
                    ],
                    Some(&index),
                )
            })
            .map_err(|e| e.into_error(&format!("check out {reference} ({commit})")))?;
    }
    Ok(BaseTree {
        _dir: dir,
        root: tree_root,
        commit,
    })
}

/// The lines changed since `commit` (its merge base with HEAD, as a pull
/// request shows them) in the working tree under `root`, paths relative to
/// `root`. Untracked files are not in git's diff.
pub fn diff(root: &Path, reference: &str, commit: &str) -> Result<ChangedLines, Error> {
    let base =
        git(root, &["merge-base", commit, "HEAD"], None).unwrap_or_else(|_| commit.to_string());
    let text = git(
        root,
        &[
            "diff",
            "--relative",
            "--no-color",
            "--no-ext-diff",
            "--unified=0",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            &base,
            "--",
        ],
        None,
    )
    .map_err(|e| e.into_error(&format!("diff against {reference}")))?;
    Ok(ChangedLines::from_git_diff(
        format!("git diff {reference}"),
        &text,
    ))
}
