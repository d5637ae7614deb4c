//! Regression mode (`--baseline REF`): the base ref's files, checked out
//! from the local repository into a temporary tree (no network, and neither
//! the index nor the worktree list is touched), so the same scan and policy
//! can run on them and the two reports be compared.

use std::path::{Path, PathBuf};

use crate::changes::ChangedLines;
use crate::diag::{Error, IoError};
use crate::git::{self, git};

pub mod compare;

/// How `--baseline` names itself in git errors.
pub const BASELINE: git::Purpose = git::Purpose {
    flag: "--baseline",
    needs: "there is no baseline to compare with",
};

/// The base ref's files in a temporary directory, removed on drop.
pub struct BaseTree {
    // Field order is drop order: unregistered, then removed.
    _interrupt: crate::cleanup::Registered,
    _dir: tempfile::TempDir,
    /// The scanned root: the same subdirectory of the repository as the
    /// head's root.
    pub root: PathBuf,
    /// The full commit id the ref named.
    pub commit: String,
}

/// Check out `reference`'s files into a temporary tree. Only the part of
/// the repository under `root` is written, at the tree's root, so paths in
/// both reports are alike.
pub fn checkout(root: &Path, reference: &str) -> Result<BaseTree, Error> {
    let commit = git::resolve(root, reference, &BASELINE)?;
    // One line each: the top, then root's place under it (empty at the top).
    let (top, prefix) = git::places(root)?;
    let prefix = prefix.as_str();
    let dir = tempfile::Builder::new()
        .prefix("readygate-baseline-")
        .tempdir()
        .map_err(|e| IoError::new("cannot create a temporary directory", e))?;
    let interrupt = crate::cleanup::Registered::new(dir.path());
    let tree_root = dir.path().join("tree");
    std::fs::create_dir(&tree_root)
        .map_err(|e| IoError::new("cannot create a temporary directory", e))?;
    let tree = if prefix.is_empty() {
        format!("{commit}^{{tree}}")
    } else {
        format!("{commit}:{prefix}")
    };
    let top = top.as_path();
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
        _interrupt: interrupt,
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
