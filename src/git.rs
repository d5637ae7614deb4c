//! The local repository through the `git` binary: resolve a ref, find the
//! repository's top, read a file as a ref has it. Never the network, never
//! the index or the working tree.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::diag::{ConfigError, Error, InputError, IoError};

/// Run git in `dir`; its stdout, trimmed of the final newline.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    git_with_input(dir, args, None)
}

/// [`git`], with `input` on its standard input (`--stdin` lists).
pub fn git_with_input(dir: &Path, args: &[&str], input: Option<&[u8]>) -> Result<String, GitError> {
    run(hardened(dir), args, input).map(trimmed)
}

/// The final newline of most commands' output is not part of what they say.
fn trimmed(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
    }
    text
}

/// The transports a checkout uses, for fetching a partial clone's blobs.
const CHECKOUT_PROTOCOLS: [&str; 6] = [
    "-c",
    "protocol.https.allow=always",
    "-c",
    "protocol.ssh.allow=always",
    "-c",
    "protocol.file.allow=always",
];

/// [`git_with_input`] that may fetch missing objects from the
/// repository's own remote: in a partial clone (`--filter=blob:none`, as
/// actions/checkout can make) the base's blobs the gate reads are fetched
/// on demand, over the transports a checkout uses. The remote is the
/// repository's configuration, which the change under review does not
/// write.
pub fn git_may_fetch(dir: &Path, args: &[&str], input: Option<&[u8]>) -> Result<String, GitError> {
    let mut cmd = hardened(dir);
    cmd.args(CHECKOUT_PROTOCOLS);
    run(cmd, args, input).map(trimmed)
}

/// A long-lived git process in `dir` with piped standard input and output
/// (`cat-file --batch`), hardened, that may fetch as [`git_may_fetch`].
pub fn spawn_may_fetch(dir: &Path, args: &[&str]) -> std::io::Result<std::process::Child> {
    use std::process::Stdio;
    let mut cmd = hardened(dir);
    cmd.args(CHECKOUT_PROTOCOLS);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
}

/// Run git; its stdout exactly.
fn run(mut cmd: Command, args: &[&str], input: Option<&[u8]>) -> Result<String, GitError> {
    use std::io::Write;
    cmd.args(args);
    let out = match input {
        None => cmd.output().map_err(GitError::Missing)?,
        Some(input) => {
            let mut child = cmd
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .map_err(GitError::Missing)?;
            // Written from a thread: git may fill its output pipe before
            // it has read all of its input.
            let mut stdin = child.stdin.take().expect("piped");
            let input = input.to_vec();
            let writer = std::thread::spawn(move || stdin.write_all(&input));
            let out = child.wait_with_output().map_err(GitError::Missing)?;
            let _ = writer.join();
            out
        }
    };
    if !out.status.success() {
        return Err(GitError::Failed(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[derive(Debug)]
pub enum GitError {
    /// git could not be started.
    Missing(std::io::Error),
    /// git ran and refused; its message.
    Failed(String),
}

impl GitError {
    /// What happened, in one line.
    pub fn message(&self) -> String {
        match self {
            GitError::Missing(e) => format!("cannot run git: {e}"),
            GitError::Failed(msg) => format!("git: {msg}"),
        }
    }

    pub fn into_error(self, doing: &str) -> Error {
        match self {
            GitError::Missing(e) => IoError::new(format!("cannot run git to {doing}"), e)
                .hint("--baseline, --policy-ref and --annotate changed read the local repository with git; install git")
                .into(),
            GitError::Failed(msg) => {
                InputError::new(format!("git could not {doing}: {msg}")).into()
            }
        }
    }
}

/// git in `dir`, hardened against the repository it reads: the change under
/// review writes the working tree, and can plant a repository (a `HEAD`,
/// `config` and `objects/` in a subdirectory) whose configuration runs
/// commands (`core.fsmonitor`) or swaps objects (`refs/replace`). So: no
/// implicit bare repositories, no fsmonitor or hooks, no replace refs, no
/// network protocol, no system configuration.
fn hardened(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args([
            "-c",
            "safe.bareRepository=explicit",
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "protocol.allow=never",
        ])
        .env("GIT_NO_REPLACE_OBJECTS", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_TERMINAL_PROMPT", "0");
    cmd
}

/// The option a ref came from, for messages.
pub struct Purpose {
    pub flag: &'static str,
    /// What is missing without a repository: "there is no baseline to compare with".
    pub needs: &'static str,
}

/// The commit `reference` names in the repository holding `root`.
pub fn resolve(root: &Path, reference: &str, purpose: &Purpose) -> Result<String, Error> {
    let flag = purpose.flag;
    let not_a_ref = || {
        Error::from(
            ConfigError::new(format!("`{reference}` is not a git ref")).hint(format!(
                "name a branch, tag or commit, e.g. {flag} origin/main"
            )),
        )
    };
    if reference.is_empty() || reference.starts_with(['-', '^']) {
        return Err(not_a_ref());
    }
    git(root, &["rev-parse", "--is-inside-work-tree"]).map_err(|e| match e {
        GitError::Failed(_) => InputError::new(format!(
            "{} is not inside a git repository, so {}",
            root.display(),
            purpose.needs
        ))
        .hint(format!("drop {flag}, or run on a git checkout"))
        .into(),
        e => e.into_error("read the repository"),
    })?;
    let spec = format!("{reference}^{{commit}}");
    let commit = git(root, &["rev-parse", "--verify", "--quiet", "--end-of-options", &spec]).map_err(
        |e| match e {
            GitError::Failed(_) => {
                let shallow = git(root, &["rev-parse", "--is-shallow-repository"])
                    .is_ok_and(|s| s == "true");
                // `main~1`, `HEAD^`, `main@{1}`: history, not a ref to fetch.
                let relative = reference.contains(['~', '^', '@', ':']);
                let hint = if shallow && relative {
                    format!("this is a shallow clone without that history: check out with `fetch-depth: 0` (or `git fetch --deepen=N`); readygate fetches no refs for {flag}")
                } else if shallow {
                    format!("this is a shallow clone: fetch the base first (`git fetch --depth=1 origin {reference}`), or check out with `fetch-depth: 0`; readygate fetches no refs for {flag}")
                } else if relative {
                    "name a branch, tag or commit that exists here (`git branch -a` and `git log` list them)".to_string()
                } else {
                    format!("fetch it first (`git fetch origin {reference}`), or name a branch, tag or commit that exists here")
                };
                InputError::new(format!("`{reference}` names no commit in this repository")).hint(hint).into()
            }
            e => e.into_error(&format!("resolve {flag} {reference}")),
        },
    )?;
    // `^HEAD` verifies as `^<id>` (a negation), which names no commit.
    let is_id = matches!(commit.len(), 40 | 64) && commit.bytes().all(|b| b.is_ascii_hexdigit());
    if !is_id {
        return Err(not_a_ref());
    }
    Ok(commit)
}

/// The repository's top and `root`'s place under it (`services/api`, or
/// empty at the top).
pub fn places(root: &Path) -> Result<(PathBuf, String), Error> {
    let places = git(root, &["rev-parse", "--show-toplevel", "--show-prefix"])
        .map_err(|e| e.into_error("find the repository's top"))?;
    let (top, prefix) = places.split_once('\n').unwrap_or((&places, ""));
    Ok((PathBuf::from(top), prefix.trim_end_matches('/').to_string()))
}

/// The branch checked out in the repository holding `root`, if any (not
/// when detached).
pub fn current_branch(root: &Path) -> Option<String> {
    let branch = git(root, &["symbolic-ref", "--short", "-q", "HEAD"]).ok()?;
    (!branch.is_empty()).then_some(branch)
}

/// Files git tracks under `root` that its ignore rules would hide
/// (`git ls-files --cached --ignored --exclude-standard`), relative to
/// `root`. Empty outside a repository or when git cannot run.
pub fn tracked_but_ignored(root: &Path) -> Vec<String> {
    ls_files(root, &["--cached", "--ignored", "--exclude-standard"]).unwrap_or_default()
}

/// Files git tracks under `root` matching `pathspec` (a git pathspec, so
/// `*.xml` matches at any depth), submodules' files included, relative to
/// `root`; `Ok(None)` outside a repository, `Err` when git cannot say
/// (not installed, or refusing a repository owned by another user).
pub fn tracked(
    root: &Path,
    pathspec: &str,
) -> Result<Option<std::collections::HashSet<String>>, String> {
    let out = hardened(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--recurse-submodules",
            "--",
            pathspec,
        ])
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .map_err(|e| format!("git cannot run: {e}"))?;
    if out.status.success() {
        return Ok(Some(
            String::from_utf8_lossy(&out.stdout)
                .split('\0')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        ));
    }
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("not a git repository") {
        return Ok(None);
    }
    let first = err
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    Err(first.chars().take(200).collect())
}

fn ls_files(root: &Path, args: &[&str]) -> Option<Vec<String>> {
    let out = hardened(root)
        .args(["ls-files", "-z"])
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .ok()
        .filter(|out| out.status.success())?;
    Some(
        String::from_utf8_lossy(&out.stdout)
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// Why a file at a ref cannot be read as a policy or manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobError {
    /// Not a regular file there (a directory, a symlink, a submodule).
    NotAFile(String),
    TooLarge(u64),
    Git(String),
}

impl std::fmt::Display for BlobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobError::NotAFile(kind) => write!(f, "not a regular file at that commit (a {kind})"),
            BlobError::TooLarge(size) => write!(f, "{size} bytes, over the limit"),
            BlobError::Git(e) => f.write_str(e),
        }
    }
}

/// The text of `path` (relative to the repository's top) at `commit`:
/// `None` when the commit has no such path. Only a regular file of at most
/// `cap` bytes is read.
pub fn read_at(
    top: &Path,
    commit: &str,
    path: &str,
    cap: u64,
) -> Result<Option<String>, BlobError> {
    let spec = format!("{commit}:{path}");
    // `ls-tree -l`: "MODE TYPE OBJECT SIZE\tPATH" for the entry, if any.
    let entry = git(top, &["ls-tree", "-l", "--full-tree", commit, "--", path])
        .map_err(|e| BlobError::Git(e.message()))?;
    let Some(line) = entry.lines().next() else {
        return Ok(None);
    };
    let meta = line.split('\t').next().unwrap_or_default();
    let fields: Vec<&str> = meta.split_whitespace().collect();
    match fields.as_slice() {
        [mode, "blob", _, size] if *mode == "100644" || *mode == "100755" => {
            let size: u64 = size.parse().unwrap_or(u64::MAX);
            if size > cap {
                return Err(BlobError::TooLarge(size));
            }
        }
        [mode, kind, ..] => {
            let what = match (*mode, *kind) {
                ("120000", _) => "symlink",
                ("160000", _) => "submodule",
                (_, "tree") => "directory",
                _ => "special entry",
            };
            return Err(BlobError::NotAFile(what.into()));
        }
        _ => {
            return Err(BlobError::Git(format!(
                "unexpected ls-tree output for {spec}"
            )));
        }
    }
    // The blob as it is, final newline included (a digest of it must be
    // what `sha256sum` says of the file).
    let text = run(hardened(top), &["cat-file", "blob", &spec], None)
        .map_err(|e| BlobError::Git(e.message()))?;
    Ok(Some(text))
}

/// git for unit tests that build repositories: a fixed identity, no
/// signing, `main` as the first branch, no user or system configuration.
/// Fails the test when git does; its output, trimmed.
#[cfg(test)]
pub fn for_tests(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
