//! Regression mode (`--baseline REF`): the base ref's files, checked out
//! from the local repository into a temporary tree (no network, and neither
//! the index nor the worktree list is touched), so the same scan and policy
//! can run on them and the two reports be compared.

use std::path::{Path, PathBuf};

use crate::changes::ChangedLines;
use crate::diag::{Error, IoError};
use crate::git::{self, git, git_may_fetch};

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
        let _progress = crate::progress::Progress::start(
            None,
            &format!("checking out {reference} ({commit:.12})"),
        );
        // A private index: the user's staged changes stay as they are.
        let index = dir.path().join("index");
        let mut dest = tree_root.display().to_string();
        dest.push('/');
        // Only files the gate may read: source code, media and archives
        // are most of a large repository's bytes, and no area reads them.
        git(top, &["read-tree", &tree], Some(&index))
            .and_then(|_| git(top, &["ls-files", "-z"], Some(&index)))
            .and_then(|listed| {
                let wanted: Vec<u8> = listed
                    .split('\0')
                    .filter(|p| !p.is_empty() && may_be_read(p))
                    .flat_map(|p| p.bytes().chain(std::iter::once(0)))
                    .collect();
                git_may_fetch(
                    top,
                    &[
                        "checkout-index",
                        "--force",
                        "-z",
                        "--stdin",
                        &format!("--prefix={dest}"),
                    ],
                    Some(&index),
                    Some(&wanted),
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

/// Extensions of files no area reads: source code, media, archives and
/// binaries. Everything else of the base is written (a runbook page may be
/// any text; a rule file a Prometheus config names may have any name).
const NEVER_READ: &[&str] = &[
    "go", "rs", "java", "kt", "scala", "groovy", "c", "h", "cc", "cpp", "hpp", "cs", "fs", "m",
    "mm", "swift", "rb", "php", "py", "pyi", "js", "jsx", "ts", "tsx", "mjs", "cjs", "vue",
    "svelte", "css", "scss", "sass", "less", "sql", "proto", "dart", "ex", "exs", "erl", "hs",
    "clj", "lua", "pl", "r", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "bmp", "tiff",
    "pdf", "woff", "woff2", "ttf", "otf", "eot", "mp3", "mp4", "wav", "webm", "mov", "zip", "gz",
    "tgz", "tar", "bz2", "xz", "zst", "7z", "jar", "war", "class", "so", "dylib", "dll", "exe",
    "a", "o", "wasm", "bin", "pyc", "dat", "parquet", "avro",
];

/// Whether the gate may read the file at `path` (by its extension).
fn may_be_read(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => {
            !NEVER_READ.contains(&ext.to_ascii_lowercase().as_str())
        }
        _ => true,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_and_media_are_not_written_text_and_config_are() {
        for kept in [
            "deploy/app.yaml",
            "docs/runbooks/HighErrorRate.md",
            "rules/alerts.conf",
            "Dockerfile",
            ".github/CODEOWNERS",
            "build.gradle.kts",
            "go.mod",
            ".readygateignore",
            "reports/junit.xml",
        ] {
            assert!(may_be_read(kept), "{kept}");
        }
        for skipped in [
            "pkg/ingester/ingester.go",
            "web/app.TSX",
            "docs/logo.png",
            "vendor/a.so",
        ] {
            assert!(!may_be_read(skipped), "{skipped}");
        }
    }
}
