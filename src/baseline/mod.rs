//! Regression mode (`--baseline REF`): the base ref's files, read from the
//! local repository's objects without writing them (no network unless a
//! partial clone must fetch a blob the gate reads; neither the index nor
//! the worktree list is touched), so the same scan and policy can run on
//! them and the two reports be compared.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::changes::ChangedLines;
use crate::diag::{Error, InputError, IoError};
use crate::git::{self, git};
use crate::tree::{Blob, CommitTree, Resolved};

pub mod compare;

/// How `--baseline` names itself in git errors.
pub const BASELINE: git::Purpose = git::Purpose {
    flag: "--baseline",
    needs: "there is no baseline to compare with",
};

/// The base ref's files, and an empty directory as the base scan's root
/// (so nothing of the working tree, such as test reports, is read as the
/// base's), removed on drop.
pub struct BaseTree {
    // Field order is drop order: unregistered, then removed.
    _interrupt: crate::cleanup::Registered,
    _dir: tempfile::TempDir,
    /// The base scan's root: an empty directory.
    pub root: PathBuf,
    /// The files: the same subdirectory of the repository as the head's
    /// root, at the commit.
    pub files: Arc<CommitTree>,
    /// The full commit id the ref named.
    pub commit: String,
}

/// The files of `reference` under the same directory as `root`, so paths
/// in both reports are alike.
pub fn checkout(root: &Path, reference: &str) -> Result<BaseTree, Error> {
    let commit = git::resolve(root, reference, &BASELINE)?;
    // One line each: the top, then root's place under it (empty at the top).
    let (top, prefix) = git::places(root)?;
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
    // A directory the base ref does not have yet: an empty baseline, so
    // every finding is new.
    let files = if git(&top, &["rev-parse", "--verify", "--quiet", &tree]).is_ok() {
        let _progress =
            crate::progress::Progress::start(None, &format!("reading {reference} ({commit:.12})"));
        CommitTree::load(&top, &tree)
            .map_err(|e| e.into_error(&format!("list {reference} ({commit})")))?
    } else {
        CommitTree::default()
    };
    write_reports(&files, &tree_root)?;
    Ok(BaseTree {
        _interrupt: interrupt,
        _dir: dir,
        root: tree_root,
        files: Arc::new(files),
        commit,
    })
}

impl BaseTree {
    /// A base read in part is no base: every file after a blob git could
    /// not give would count as new. So a read failure stops the run.
    pub fn read_whole(&self, reference: &str) -> Result<(), Error> {
        match self.files.failure() {
            None => Ok(()),
            Some(err) => Err(InputError::new(format!(
                "cannot read {reference} ({}) from git: {err}",
                self.commit
            ))
            .hint("a partial clone fetches the base's files from its remote: make the remote reachable (credentials, network), or fetch the base first (`git fetch origin COMMIT`)")
            .into()),
        }
    }
}

/// Largest test report of the base written.
const MAX_REPORT_WRITTEN: u64 = 64 << 20;

/// Test reports the base commits (`*.xml`), written under `root`: the
/// tests area finds reports by glob on disk, in the repository as in a
/// runner's temporary directory. They are few; everything else is read
/// from git. A report that is a symlink in the tree is written as what it
/// leads to; one that leads out of the tree or nowhere is written as that
/// link, so the tests area says of it what it says in a checkout.
///
/// The base is the change's to shape (a tree can hold `..`, names that are
/// not UTF-8 and read alike, a link and a directory of one name), so
/// nothing is written through a link: the regular files first, each only
/// where no component of its path is a link; the links last.
fn write_reports(files: &CommitTree, root: &Path) -> Result<(), Error> {
    let mut reports: Vec<(&str, &Blob)> = Vec::new();
    let mut links: Vec<&str> = Vec::new();
    for (rel, blob) in files.files() {
        if !rel.to_ascii_lowercase().ends_with(".xml") || !plain_path(rel) {
            continue;
        }
        if !blob.symlink {
            reports.push((rel, blob));
            continue;
        }
        match files.resolve(rel) {
            Resolved::File(target) => reports.extend(files.blob(&target).map(|b| (rel, b))),
            Resolved::Dir(_) => {}
            Resolved::Outside(_) | Resolved::Missing => links.push(rel),
        }
    }
    let blobs: Vec<&Blob> = reports.iter().map(|(_, b)| *b).collect();
    let mut failed = None;
    files
        .stream(&blobs, MAX_REPORT_WRITTEN, |i, bytes, size| {
            if size > MAX_REPORT_WRITTEN {
                return;
            }
            match write_under(root, reports[i].0, |path| {
                use std::io::Write;
                no_follow_create(path)?.write_all(&bytes)
            }) {
                Err(e) if !clash(&e) => {
                    failed.get_or_insert(e);
                }
                _ => {}
            }
        })
        .map_err(|e| IoError::new("cannot read the base's test reports from git", e))?;
    if let Some(e) = failed {
        return Err(IoError::new("cannot write the base's test reports", e).into());
    }
    for rel in links {
        write_link(files, rel, root)?;
    }
    Ok(())
}

/// A path the base may have written under the scan's root: `/`-separated
/// names, none empty, `.` or `..`, all UTF-8 (a name made UTF-8 could
/// stand for two files).
fn plain_path(rel: &str) -> bool {
    !rel.contains(char::REPLACEMENT_CHARACTER)
        && rel.split('/').all(|part| !matches!(part, "" | "." | ".."))
}

/// Make `rel` under `root` with `make`, after creating its directories one
/// by one: an existing component that is not a real directory (a link, a
/// file) stops it.
fn write_under(
    root: &Path,
    rel: &str,
    make: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut dir = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    let (name, parents) = parts.split_last().expect("split yields one");
    for part in parents {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) if meta.file_type().is_dir() => {}
            Ok(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    format!("{rel}: {part} is not a directory"),
                ));
            }
            Err(_) => std::fs::create_dir(&dir)?,
        }
    }
    make(&dir.join(name))
}

/// A new file at `path`: `create_new` (O_EXCL) never opens through a link
/// nor over what is there.
fn no_follow_create(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// Two names of one path in a malformed tree (a link and a directory, a
/// name twice): the first written stands, as a checkout cannot hold both.
fn clash(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::NotADirectory
    )
}

/// The symlink `rel` of the tree, made under `root` as it is (its target
/// text), on systems with symlinks.
fn write_link(files: &CommitTree, rel: &str, root: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        let target = files
            .link_target(rel)
            .map_err(|e| IoError::new(format!("cannot read the base's {rel} from git"), e))?;
        let made = write_under(root, rel, |path| {
            use std::os::unix::ffi::OsStrExt;
            std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&target), path)
        });
        match made {
            Err(e) if clash(&e) => {}
            made => made.map_err(|e| IoError::new("cannot write the base's test reports", e))?,
        }
    }
    #[cfg(not(unix))]
    let _ = (files, rel, root);
    Ok(())
}

/// The lines changed since `commit` (its merge base with HEAD, as a pull
/// request shows them) in the working tree under `root`, paths relative to
/// `root`. Untracked files are not in git's diff.
pub fn diff(root: &Path, reference: &str, commit: &str) -> Result<ChangedLines, Error> {
    let base = git(root, &["merge-base", commit, "HEAD"]).unwrap_or_else(|_| commit.to_string());
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
    )
    .map_err(|e| e.into_error(&format!("diff against {reference}")))?;
    Ok(ChangedLines::from_git_diff(
        format!("git diff {reference}"),
        &text,
    ))
}
