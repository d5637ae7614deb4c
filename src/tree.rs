//! A commit's files read straight from git, never written to disk: what
//! `--baseline` scans. Writing a large repository's base (thousands of
//! files) costs far more than reading the few the gate needs: the listing
//! comes from one `git ls-tree`, the blobs the walk reads from one streamed
//! `git cat-file --batch`, and files read later (named rule files, runbook
//! pages) from one long-lived `cat-file` process.
//!
//! Paths are relative to the scanned directory, `/`-separated, as the
//! walk names them. A symlink resolves inside the tree or not at all.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout};
use std::sync::{Mutex, OnceLock};

use crate::document::{normalize, parent_dir};
use crate::git::{self, GitError};

/// One file of the tree. Its size is learnt when it is read: asking git
/// for sizes up front would fetch every blob of a partial clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub oid: String,
    pub symlink: bool,
}

/// Where a path leads once symlinks are followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    File(String),
    Dir(String),
    /// Out of the tree (an absolute target, or `..` past the top); the
    /// target as the link says it.
    Outside(String),
    Missing,
}

/// The files of one commit under one directory.
pub struct CommitTree {
    top: PathBuf,
    /// The commit it lists, for what a partial clone lacks.
    commit: String,
    files: BTreeMap<String, Blob>,
    /// Files whose names are not UTF-8 and read alike once made UTF-8
    /// (`a\xfe` and `a\xff`): the walk reads them all, as it does on
    /// disk; a lookup by name finds the first.
    shadowed: Vec<(String, Blob)>,
    dirs: BTreeSet<String>,
    reader: Mutex<Option<CatFile>>,
    /// The remote missing blobs come from, once asked: none in a full clone.
    promisor: OnceLock<Option<String>>,
    /// The first blob git could not give (missing from a partial clone
    /// whose remote cannot be reached, or from a damaged repository): a
    /// base read in part is no base to compare with.
    failure: Mutex<Option<String>>,
}

impl Default for CommitTree {
    /// No files: a directory the commit does not have.
    fn default() -> Self {
        CommitTree {
            top: PathBuf::new(),
            commit: String::new(),
            files: BTreeMap::new(),
            shadowed: Vec::new(),
            dirs: BTreeSet::from([".".to_string()]),
            reader: Mutex::new(None),
            promisor: OnceLock::new(),
            failure: Mutex::new(None),
        }
    }
}

impl std::fmt::Debug for CommitTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CommitTree({} files)", self.files.len())
    }
}

/// Most symlinks followed to resolve one path: Linux's own limit
/// (MAXSYMLINKS), so a path resolves in the base as in a checkout.
const MAX_LINKS: usize = 40;

impl CommitTree {
    /// The files of `tree_ish` (`COMMIT^{tree}` or `COMMIT:dir`) in the
    /// repository at `top`.
    pub fn load(top: &Path, tree_ish: &str) -> Result<CommitTree, GitError> {
        let listing = git::git(top, &["ls-tree", "-r", "-z", "--", tree_ish])?;
        let mut files = BTreeMap::new();
        let mut shadowed = Vec::new();
        let mut dirs = BTreeSet::from([".".to_string()]);
        for record in listing.split('\0').filter(|r| !r.is_empty()) {
            // `MODE TYPE OID\tPATH`; submodules (commits) have no blob.
            let Some((meta, path)) = record.split_once('\t') else {
                continue;
            };
            let mut fields = meta.split_whitespace();
            let (Some(mode), Some("blob"), Some(oid)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let mut dir = parent_dir(path);
            while dir != "." && dirs.insert(dir.clone()) {
                dir = parent_dir(&dir);
            }
            let blob = Blob {
                oid: oid.to_string(),
                symlink: mode == "120000",
            };
            if files.contains_key(path) {
                shadowed.push((path.to_string(), blob));
            } else {
                files.insert(path.to_string(), blob);
            }
        }
        Ok(CommitTree {
            top: top.to_path_buf(),
            commit: tree_ish
                .split([':', '^'])
                .next()
                .unwrap_or(tree_ish)
                .to_string(),
            files,
            shadowed,
            dirs,
            reader: Mutex::new(None),
            promisor: OnceLock::new(),
            failure: Mutex::new(None),
        })
    }

    /// Every file, in path order (then the shadowed ones).
    pub fn files(&self) -> impl Iterator<Item = (&str, &Blob)> {
        self.files
            .iter()
            .chain(self.shadowed.iter().map(|(p, b)| (p, b)))
            .map(|(p, b)| (p.as_str(), b))
    }

    /// What git could not give, if anything failed to read: the base is
    /// then incomplete.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn failed<T>(&self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(err) = &result {
            self.failure
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert_with(|| err.to_string());
        }
        result
    }

    pub fn blob(&self, rel: &str) -> Option<&Blob> {
        self.files.get(rel)
    }

    /// The entries directly in `dir`: each name and whether it is a
    /// directory. Names that are not UTF-8 are left out, as a directory
    /// listing on disk leaves them out.
    pub fn list(&self, dir: &str) -> Vec<(String, bool)> {
        let prefix = if dir == "." || dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let child = |path: &str| {
            let rest = path.strip_prefix(&prefix)?;
            (!rest.is_empty() && !rest.contains('/') && !rest.contains(char::REPLACEMENT_CHARACTER))
                .then(|| rest.to_string())
        };
        let mut out: Vec<(String, bool)> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter_map(|(p, _)| child(p).map(|n| (n, false)))
            .chain(
                self.dirs
                    .range(prefix.clone()..)
                    .take_while(|d| d.starts_with(&prefix))
                    .filter(|d| d.as_str() != ".")
                    .filter_map(|d| child(d).map(|n| (n, true))),
            )
            .collect();
        out.sort();
        out
    }

    /// Where `rel` leads once symlinks (in it or on its way) are followed.
    pub fn resolve(&self, rel: &str) -> Resolved {
        let mut path = rel.to_string();
        // One turn per link followed, and one to find none left.
        for _ in 0..=MAX_LINKS {
            // The first symlink on the way, the path itself included.
            let segments: Vec<&str> = path.split('/').collect();
            let link = (1..=segments.len())
                .map(|n| segments[..n].join("/"))
                .find(|p| self.files.get(p).is_some_and(|b| b.symlink));
            let Some(link) = link else {
                return if self.files.contains_key(&path) {
                    Resolved::File(path)
                } else if self.dirs.contains(&path) || path == "." {
                    Resolved::Dir(path)
                } else {
                    Resolved::Missing
                };
            };
            let target = match self.link_target(&link) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(_) => return Resolved::Missing,
            };
            let rest = path[link.len()..].trim_start_matches('/');
            let joined = match normalize(&parent_dir(&link), &target) {
                Some(p) if !target.starts_with('/') => p,
                _ => return Resolved::Outside(target),
            };
            path = if rest.is_empty() {
                joined
            } else {
                format!("{joined}/{rest}")
            };
        }
        Resolved::Missing
    }

    /// What the symlink `rel` points at, as written (a path is at most
    /// PATH_MAX, 4 KiB).
    pub fn link_target(&self, rel: &str) -> std::io::Result<Vec<u8>> {
        self.read_raw(rel, 4096)
    }

    /// The first `max` bytes of the file `rel` (no symlink followed) and
    /// its size: a larger blob is never held whole.
    pub fn read(&self, rel: &str, max: u64) -> std::io::Result<(Vec<u8>, u64)> {
        let blob = self
            .files
            .get(rel)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))?;
        self.with_reader(|r| r.read(&blob.oid, max))
    }

    /// All of the file `rel`, if it is at most `max` bytes; more is an
    /// error.
    pub fn read_raw(&self, rel: &str, max: u64) -> std::io::Result<Vec<u8>> {
        let (bytes, size) = self.read(rel, max)?;
        if size > max {
            return Err(std::io::Error::other(format!("{size} bytes, over {max}")));
        }
        Ok(bytes)
    }

    /// In a partial clone, fetch the blobs of `wanted` that are missing in
    /// one request, as a checkout would (`cat-file` alone would fetch them
    /// one round trip each). Best effort: what is still missing is fetched
    /// on demand, or reported when read.
    fn prefetch(&self, wanted: &[&Blob]) {
        let Some(remote) = self
            .promisor
            .get_or_init(|| promisor_remote(&self.top))
            .as_deref()
        else {
            return; // a full clone
        };
        let Ok(listing) = git::git(
            &self.top,
            &[
                "rev-list",
                "--objects",
                "--missing=print",
                "--no-walk",
                &self.commit,
            ],
        ) else {
            return;
        };
        let missing: BTreeSet<&str> = listing
            .lines()
            .filter_map(|l| l.strip_prefix('?'))
            .collect();
        let fetch: Vec<u8> = wanted
            .iter()
            .filter(|b| missing.contains(b.oid.as_str()))
            .flat_map(|b| b.oid.bytes().chain(std::iter::once(b'\n')))
            .collect();
        if fetch.is_empty() {
            return;
        }
        let _ = git::git_may_fetch(
            &self.top,
            &[
                "-c",
                "fetch.negotiationAlgorithm=noop",
                "fetch",
                remote,
                "--no-tags",
                "--no-write-fetch-head",
                "--recurse-submodules=no",
                "--filter=blob:none",
                "--stdin",
            ],
            Some(&fetch),
        );
    }

    fn with_reader<T>(
        &self,
        work: impl FnOnce(&mut CatFile) -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        if reader.is_none() {
            *reader = Some(self.failed(CatFile::start(&self.top, false))?);
        }
        let result = self.failed(work(reader.as_mut().expect("started")));
        if result.is_err() {
            // The stream may be mid-object: start afresh next time.
            *reader = None;
        }
        result
    }

    /// Stream `blobs` (files of the tree; a symlink as the text of its
    /// target path), in order, to `each` with their first `max` bytes and
    /// their size: one `cat-file` process, its input written while its
    /// output is read. Stops at the first error.
    pub fn stream(
        &self,
        blobs: &[&Blob],
        max: u64,
        each: impl FnMut(usize, Vec<u8>, u64),
    ) -> std::io::Result<()> {
        if blobs.is_empty() {
            return Ok(());
        }
        self.prefetch(blobs);
        let result = self.stream_from_git(blobs, max, each);
        self.failed(result)
    }

    fn stream_from_git(
        &self,
        blobs: &[&Blob],
        max: u64,
        mut each: impl FnMut(usize, Vec<u8>, u64),
    ) -> std::io::Result<()> {
        let mut cat = CatFile::start(&self.top, true)?;
        let mut input = cat.stdin.take().expect("piped");
        let oids: Vec<u8> = blobs
            .iter()
            .flat_map(|b| b.oid.bytes().chain(std::iter::once(b'\n')))
            .collect();
        let writer = std::thread::spawn(move || {
            let result = input.write_all(&oids);
            drop(input);
            result
        });
        for i in 0..blobs.len() {
            let (bytes, size) = cat.read_next(max)?;
            each(i, bytes, size);
        }
        let _ = writer.join();
        Ok(())
    }
}

/// The remote a partial clone fetches missing objects from: the one
/// `extensions.partialclone` names, else (git 2.47 writes only this)
/// the first `remote.NAME.promisor = true`.
fn promisor_remote(top: &Path) -> Option<String> {
    if let Ok(remote) = git::git(top, &["config", "--get", "extensions.partialclone"]) {
        let remote = remote.trim();
        return (!remote.is_empty() && !remote.starts_with('-')).then(|| remote.to_string());
    }
    let promisors = git::git(
        top,
        &[
            "config",
            "--type=bool",
            "--get-regexp",
            r"^remote\..*\.promisor$",
        ],
    )
    .ok()?;
    promisors.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        let name = key.strip_prefix("remote.")?.strip_suffix(".promisor")?;
        (value == "true" && !name.is_empty() && !name.starts_with('-')).then(|| name.to_string())
    })
}

/// A `git cat-file --batch` process.
struct CatFile {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl CatFile {
    /// `buffered`: the whole input is written up front (`--buffer`).
    fn start(top: &Path, buffered: bool) -> std::io::Result<CatFile> {
        let mut args = vec!["cat-file", "--batch"];
        if buffered {
            args.push("--buffer");
        }
        let mut child = git::spawn_may_fetch(top, &args)?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Ok(CatFile {
            child,
            stdin,
            stdout,
        })
    }

    /// Ask for `oid` and read at most `max` of its bytes: the bytes, and
    /// its size.
    fn read(&mut self, oid: &str, max: u64) -> std::io::Result<(Vec<u8>, u64)> {
        let stdin = self.stdin.as_mut().expect("piped");
        writeln!(stdin, "{oid}")?;
        stdin.flush()?;
        self.read_next(max)
    }

    /// The next object of the output: at most `max` bytes of it (the rest
    /// read and dropped), and its size.
    fn read_next(&mut self, max: u64) -> std::io::Result<(Vec<u8>, u64)> {
        let mut header = String::new();
        self.stdout.by_ref().take(512).read_line(&mut header)?;
        let mut fields = header.split_whitespace();
        let (_, kind, size) = (fields.next(), fields.next(), fields.next());
        let size: u64 = match (kind, size.and_then(|s| s.parse().ok())) {
            (Some("blob"), Some(size)) => size,
            _ => {
                return Err(std::io::Error::other(format!(
                    "git cat-file: {}",
                    header.trim()
                )));
            }
        };
        let keep = size.min(max);
        let mut bytes = Vec::with_capacity(keep as usize);
        self.stdout.by_ref().take(keep).read_to_end(&mut bytes)?;
        // The rest of the object, and the newline after it.
        std::io::copy(
            &mut self.stdout.by_ref().take(size - keep + 1),
            &mut std::io::sink(),
        )?;
        if (bytes.len() as u64) < keep {
            return Err(std::io::Error::other("git cat-file: the object broke off"));
        }
        Ok((bytes, size))
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| git::for_tests(dir.path(), args);
        run(&["init", "-q"]);
        let write = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("deploy/app.yaml", "kind: Deployment\n");
        write("docs/runbooks/README.md", "# Runbooks\n");
        write("big.txt", &"x".repeat(10_000));
        std::os::unix::fs::symlink("../docs/runbooks", dir.path().join("deploy/books")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("passwd")).unwrap();
        std::os::unix::fs::symlink("../../../x", dir.path().join("deploy/up")).unwrap();
        run(&["add", "-A"]);
        run(&["commit", "-qm", "one"]);
        dir
    }

    #[test]
    fn a_commit_is_listed_and_read_without_a_checkout() {
        let dir = repo();
        let tree = CommitTree::load(dir.path(), "HEAD^{tree}").unwrap();
        assert_eq!(
            tree.read_raw("deploy/app.yaml", 100).unwrap(),
            b"kind: Deployment\n"
        );
        assert!(tree.read_raw("big.txt", 100).is_err());
        assert_eq!(
            tree.read("big.txt", 5).unwrap(),
            (b"xxxxx".to_vec(), 10_000)
        );
        // The reader carries on after a partial read.
        assert_eq!(
            tree.read_raw("deploy/app.yaml", 100).unwrap(),
            b"kind: Deployment\n"
        );
        assert_eq!(
            tree.list("."),
            [
                ("big.txt".into(), false),
                ("deploy".into(), true),
                ("docs".into(), true),
                ("passwd".into(), false)
            ]
        );
        assert_eq!(
            tree.resolve("deploy/books/README.md"),
            Resolved::File("docs/runbooks/README.md".into())
        );
        assert_eq!(
            tree.resolve("deploy/books"),
            Resolved::Dir("docs/runbooks".into())
        );
        assert_eq!(
            tree.resolve("passwd"),
            Resolved::Outside("/etc/passwd".into())
        );
        assert_eq!(
            tree.resolve("deploy/up"),
            Resolved::Outside("../../../x".into())
        );
        assert_eq!(tree.resolve("nope.yaml"), Resolved::Missing);
        let mut got = Vec::new();
        let blobs: Vec<&Blob> = ["deploy/app.yaml", "big.txt", "docs/runbooks/README.md"]
            .iter()
            .map(|r| tree.blob(r).unwrap())
            .collect();
        tree.stream(&blobs, 100, |i, b, n| got.push((i, b.len(), n)))
            .unwrap();
        assert_eq!(got, [(0, 17, 17), (1, 100, 10_000), (2, 11, 11)]);
        // A subdirectory as the scanned root.
        let sub = CommitTree::load(dir.path(), "HEAD:docs").unwrap();
        assert!(sub.blob("runbooks/README.md").is_some());
    }

    /// git 2.47's `clone --filter` marks the remote a promisor and sets no
    /// `extensions.partialclone`: both say where missing blobs come from.
    #[test]
    fn a_partial_clone_is_known_by_either_setting() {
        let dir = repo();
        assert_eq!(promisor_remote(dir.path()), None);
        let config = |args: &[&str]| {
            git::for_tests(dir.path(), &[&["config"], args].concat());
        };
        config(&["remote.upstream.promisor", "false"]);
        config(&["remote.origin.promisor", "true"]);
        assert_eq!(promisor_remote(dir.path()).as_deref(), Some("origin"));
        config(&["extensions.partialclone", "upstream"]);
        assert_eq!(promisor_remote(dir.path()).as_deref(), Some("upstream"));
    }
}
