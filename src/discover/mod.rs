//! One parallel, `.gitignore`-aware walk that classifies each file once into
//! a [`DocKind`] (from the kinds it is given) and hands the document to a
//! sink. Files whose path matches no kind are never opened, which keeps the
//! walk close to `rg --files`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::{WalkBuilder, WalkState};

use crate::tree::{Blob, CommitTree, Resolved};

use crate::document::{DocKind, Document, Head, KindSpec, Named, with_key_escapes_decoded};
use crate::evidence::{Location, Problem, ProblemKind};

/// Default per-file size cap.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 8 * 1024 * 1024;
/// How much of a file the binary check looks at, and the content sniff of a
/// file that is not read whole (over the size cap, not UTF-8).
const SNIFF_BYTES: usize = 64 * 1024;
/// Directories never worth descending into, ignored or not: VCS data and
/// vendored dependency trees hold no evidence about this service.
const PRUNED_DIRS: &[&str] = &[".git", ".hg", ".svn", ".terraform", "node_modules"];

#[derive(Debug, Clone)]
pub struct Options {
    pub max_file_size: u64,
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// What the walk saw besides the documents it handed over.
#[derive(Debug, Default)]
pub struct Walk {
    pub visited: u64,
    pub binary: u64,
    pub problems: Vec<Problem>,
}

pub struct Classifier {
    /// Tried in this order: ascending [`KindSpec::order`].
    specs: Vec<&'static KindSpec>,
    set: GlobSet,
    /// Glob index in `set` → index in `specs`.
    owner: Vec<usize>,
}

impl Classifier {
    pub fn new(specs: impl IntoIterator<Item = &'static KindSpec>) -> Self {
        let mut specs: Vec<&'static KindSpec> = specs.into_iter().collect();
        specs.sort_by_key(|s| s.order);
        let mut builder = GlobSetBuilder::new();
        let mut owner = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            for glob in spec.globs {
                let glob = GlobBuilder::new(glob)
                    .literal_separator(true)
                    .build()
                    .expect("registry globs are valid");
                builder.add(glob);
                owner.push(i);
            }
        }
        Self {
            specs,
            set: builder.build().expect("registry globs build"),
            owner,
        }
    }

    /// Registry entries whose globs match `path`, in registry order. A name
    /// whose extension is upper-case (`rules.YML`, which Prometheus loads
    /// when a glob names it) is matched as if it were lower-case, when its
    /// own spelling matches nothing.
    pub fn candidates(&self, path: &str) -> Vec<usize> {
        let mut matched = self.set.matches(path);
        if matched.is_empty() {
            let ext = path
                .rfind(['.', '/'])
                .filter(|&p| path[p..].starts_with('.'));
            if let Some(dot) = ext.filter(|&p| path[p..].bytes().any(|b| b.is_ascii_uppercase())) {
                let lowered = format!("{}{}", &path[..dot], path[dot..].to_ascii_lowercase());
                matched = self.set.matches(&lowered);
            }
        }
        let mut specs: Vec<usize> = matched.into_iter().map(|g| self.owner[g]).collect();
        specs.sort_unstable();
        specs.dedup();
        specs
    }

    /// The first candidate whose sniff (if any) accepts `head`.
    pub fn classify(&self, candidates: &[usize], head: &str) -> Option<DocKind> {
        self.spec_for(candidates, head).map(|spec| spec.kind)
    }

    /// The spec that classifies the file: [`Self::classify`] with how.
    pub fn spec_for(&self, candidates: &[usize], text: &str) -> Option<&'static KindSpec> {
        let text = with_key_escapes_decoded(text);
        let head = Head::new(&text);
        candidates
            .iter()
            .map(|&i| self.specs[i])
            .find(|spec| spec.sniff.is_none_or(|sniff| sniff(&head)))
    }
}

/// Walk `root`, calling `sink` for every classified document (from several
/// threads). Problems with evidence-looking files are returned, not skipped.
///
/// `.gitignore` hides untracked files only, as in git itself: a file git
/// tracks is read even when a `.gitignore` (which the change under review
/// can edit) lists it. `.ignore` files are not honoured at all.
pub fn walk(
    root: &Path,
    opts: &Options,
    classifier: &Classifier,
    sink: &(dyn Fn(Document) + Sync),
) -> Walk {
    let root_canonical = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let visited = AtomicU64::new(0);
    let binary = AtomicU64::new(0);
    let problems = Mutex::new(Vec::new());
    // Candidates the walk reached, so tracked files it skipped can be told
    // apart.
    let seen = Mutex::new(std::collections::HashSet::new());

    let walker = WalkBuilder::new(root)
        .hidden(false) // .github/ holds workflows and CODEOWNERS
        .git_global(false) // results must not depend on the runner's config
        .ignore(false) // `.ignore` is not git's: a change could hide evidence with it
        .require_git(false)
        .follow_links(false)
        .threads(opts.threads)
        .filter_entry(|e| {
            !(e.file_type().is_some_and(|t| t.is_dir())
                && PRUNED_DIRS.iter().any(|d| e.file_name() == *d))
        })
        .build_parallel();

    walker.run(|| {
        let ctx = FileContext {
            root,
            root_canonical: &root_canonical,
            classifier,
            opts,
        };
        let (visited, binary, problems, seen) = (&visited, &binary, &problems, &seen);
        Box::new(move |entry| {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    let path = error_path(&err)
                        .map(|p| ctx.relative(&p))
                        .unwrap_or_default();
                    problems.lock().unwrap().push(problem(
                        ProblemKind::Unreadable,
                        None,
                        &path,
                        format!("cannot read: {}", root_cause(&err)),
                    ));
                    return WalkState::Continue;
                }
            };
            let Some(file_type) = entry.file_type() else {
                return WalkState::Continue;
            };
            if file_type.is_dir() {
                return WalkState::Continue;
            }
            visited.fetch_add(1, Ordering::Relaxed);
            let rel = ctx.relative(entry.path());
            let candidates = ctx.classifier.candidates(&rel);
            if candidates.is_empty() {
                return WalkState::Continue;
            }
            seen.lock().unwrap().insert(rel.clone());
            match ctx.visit(
                entry.path(),
                rel,
                Kinding::Candidates(&candidates),
                file_type.is_symlink(),
            ) {
                Visit::Document(doc) => sink(doc),
                Visit::Problem(p) => problems.lock().unwrap().push(p),
                Visit::Binary => {
                    binary.fetch_add(1, Ordering::Relaxed);
                }
                Visit::Nothing => {}
            }
            WalkState::Continue
        })
    });

    // Tracked files a `.gitignore` hid from the walk.
    let seen = seen.into_inner().unwrap();
    let ctx = FileContext {
        root,
        root_canonical: &root_canonical,
        classifier,
        opts,
    };
    for rel in crate::git::tracked_but_ignored(root) {
        if seen.contains(&rel) || rel.split('/').any(|part| PRUNED_DIRS.contains(&part)) {
            continue;
        }
        let candidates = classifier.candidates(&rel);
        let path = root.join(&rel);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue; // deleted in the working tree
        };
        if candidates.is_empty() || meta.is_dir() {
            continue;
        }
        visited.fetch_add(1, Ordering::Relaxed);
        match ctx.visit(
            &path,
            rel,
            Kinding::Candidates(&candidates),
            meta.file_type().is_symlink(),
        ) {
            Visit::Document(doc) => sink(doc),
            Visit::Problem(p) => problems.lock().unwrap().push(p),
            Visit::Binary => {
                binary.fetch_add(1, Ordering::Relaxed);
            }
            Visit::Nothing => {}
        }
    }

    let mut problems = problems.into_inner().unwrap();
    problems.sort();
    Walk {
        visited: visited.into_inner(),
        binary: binary.into_inner(),
        problems,
    }
}

/// [`walk`] over a commit's files read from git (the baseline), without
/// writing them: the same candidates, kinds and problems. Every tracked
/// file is there, so no ignore file applies. The blobs stream from one
/// `git cat-file`; judging them runs on the walk's threads.
pub fn walk_tree(
    tree: &CommitTree,
    opts: &Options,
    classifier: &Classifier,
    sink: &(dyn Fn(Document) + Sync),
) -> Walk {
    let ctx = FileContext {
        root: Path::new("."),
        root_canonical: Path::new("."),
        classifier,
        opts,
    };
    let mut visited = 0u64;
    // Regular files stream; symlinks are followed one by one.
    let mut streamed: Vec<(&str, &Blob, Vec<usize>)> = Vec::new();
    let mut one_by_one: Vec<(&str, Vec<usize>)> = Vec::new();
    for (rel, blob) in tree.files() {
        if rel.split('/').any(|part| PRUNED_DIRS.contains(&part)) {
            continue;
        }
        visited += 1;
        let candidates = classifier.candidates(rel);
        if candidates.is_empty() {
            continue;
        }
        if blob.symlink {
            one_by_one.push((rel, candidates));
        } else {
            streamed.push((rel, blob, candidates));
        }
    }
    let problems = Mutex::new(Vec::new());
    let binary = AtomicU64::new(0);
    let record = |visit: Visit| match visit {
        Visit::Document(doc) => sink(doc),
        Visit::Problem(p) => problems.lock().unwrap().push(p),
        Visit::Binary => {
            binary.fetch_add(1, Ordering::Relaxed);
        }
        Visit::Nothing => {}
    };
    // Few files in flight: each may be up to the size cap.
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Vec<u8>, u64)>(opts.threads.max(1) * 2);
    let rx = Mutex::new(rx);
    std::thread::scope(|scope| {
        for _ in 0..opts.threads.max(1) {
            scope.spawn(|| {
                loop {
                    let next = rx.lock().unwrap().recv();
                    let Ok((i, bytes, size)) = next else { break };
                    let (rel, _, candidates) = &streamed[i];
                    record(ctx.judge_read(
                        rel.to_string(),
                        Kinding::Candidates(candidates),
                        size,
                        bytes,
                    ));
                }
            });
        }
        let blobs: Vec<&Blob> = streamed.iter().map(|(_, b, _)| *b).collect();
        let result = tree.stream(&blobs, opts.max_file_size, |i, bytes, size| {
            let _ = tx.send((i, bytes, size));
        });
        drop(tx);
        if let Err(err) = result {
            problems.lock().unwrap().push(problem(
                ProblemKind::Unreadable,
                None,
                ".",
                format!("cannot read the files from git: {err}"),
            ));
        }
    });
    for (rel, candidates) in &one_by_one {
        record(ctx.visit_tree(tree, rel, Kinding::Candidates(candidates)));
    }
    let mut problems = problems.into_inner().unwrap();
    problems.sort();
    Walk {
        visited,
        binary: binary.into_inner(),
        problems,
    }
}

/// Most files the documents of one run may name; the rest are a problem.
pub const MAX_NAMED_FILES: usize = 10_000;
/// Most directory entries listed to expand the named patterns of one run.
const MAX_NAMED_LISTING: usize = 100_000;

/// Read the files that `named` patterns match and the walk did not already
/// classify (`walked`), each as the kind its pattern gives. Bounded: a
/// problem at the naming line when the patterns list or match too much.
/// Documents go to `sink` one at a time, as the walk's do, so memory does
/// not grow with how many files are named. Patterns are taken in the order
/// of where they are written, so the budgets cut at the same place on
/// every run.
pub fn read_named(
    root: &Path,
    tree: Option<&CommitTree>,
    opts: &Options,
    classifier: &Classifier,
    named: &[Named],
    walked: &std::collections::HashSet<String>,
    sink: &dyn Fn(Document),
) -> Vec<Problem> {
    let mut named: Vec<&Named> = named.iter().collect();
    named.sort_by(|a, b| (&a.by, &a.pattern).cmp(&(&b.by, &b.pattern)));
    let root_canonical = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let ctx = FileContext {
        root,
        root_canonical: &root_canonical,
        classifier,
        opts,
    };
    let mut problems = Vec::new();
    let mut taken = std::collections::HashSet::new();
    let mut listed = 0usize;
    for n in named {
        let over = |what: String| Problem {
            kind: ProblemKind::OverBudget,
            document_kind: Some(n.kind.name().into()),
            location: n.by.clone(),
            message: what,
        };
        let list = |dir: &str| -> Option<Listing> {
            match tree {
                // A symlinked directory named on the way is followed, as
                // reading it on disk follows it.
                Some(tree) if dir.is_empty() || dir == "." => Some(tree.list(".")),
                Some(tree) => match tree.resolve(dir) {
                    Resolved::Dir(real) => Some(tree.list(&real)),
                    _ => None,
                },
                None => list_dir(&root.join(dir)),
            }
        };
        let paths = match expand(&list, &n.pattern, &mut listed) {
            Ok(paths) => paths,
            Err(e) => {
                problems.push(over(e));
                continue;
            }
        };
        for rel in paths {
            if walked.contains(&rel) || !taken.insert(rel.clone()) {
                continue;
            }
            if taken.len() > MAX_NAMED_FILES {
                problems.push(over(format!(
                    "the files named by patterns such as `{}` are over the run's limit of {MAX_NAMED_FILES}; the rest were not read",
                    n.pattern
                )));
                return problems;
            }
            let visit = match tree {
                Some(tree) => match tree.resolve(&rel) {
                    Resolved::File(_) => ctx.visit_tree(tree, &rel, Kinding::Named(n.kind)),
                    _ => continue,
                },
                None => {
                    let path = root.join(&rel);
                    // A symlinked directory on the way may not lead out.
                    match path.canonicalize() {
                        Ok(c) if c.starts_with(&root_canonical) && c.is_file() => {}
                        _ => continue,
                    }
                    let is_symlink = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink());
                    ctx.visit(&path, rel, Kinding::Named(n.kind), is_symlink)
                }
            };
            match visit {
                Visit::Document(doc) => sink(doc),
                Visit::Problem(p) => problems.push(p),
                Visit::Binary | Visit::Nothing => {}
            }
        }
    }
    problems
}

/// A directory's entries: each name, and whether it is a directory.
type Listing = Vec<(String, bool)>;

/// The entries of a directory on disk (a symlink to a directory is not
/// one).
fn list_dir(dir: &Path) -> Option<Listing> {
    let entries = std::fs::read_dir(dir).ok()?;
    Some(
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                let is_dir = e.file_type().ok()?.is_dir();
                Some((name, is_dir))
            })
            .collect(),
    )
}

/// The files `pattern` matches, sorted, listing directories with `list`
/// (a directory's entries by name, each with whether it is a directory);
/// `*`, `?` and `[...]` match within one segment, `**` any number of
/// directories (symlinked directories are not descended). Errs when the
/// run's listing budget is spent.
fn expand(
    list: &dyn Fn(&str) -> Option<Listing>,
    pattern: &str,
    listed: &mut usize,
) -> Result<Vec<String>, String> {
    let join = |dir: &str, name: &str| {
        if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        }
    };
    // One more directory entry listed, within the run's budget.
    let count = |listed: &mut usize| {
        *listed += 1;
        if *listed > MAX_NAMED_LISTING {
            return Err(format!(
                "expanding `{pattern}` listed more than {MAX_NAMED_LISTING} directory entries in this run; not read"
            ));
        }
        Ok(())
    };
    let mut paths = vec![String::new()];
    for segment in pattern.split('/').filter(|s| !s.is_empty() && *s != ".") {
        // Patterns arrive normalized; never climb, and never into what the
        // walk prunes (`.git/` holds hooks and config, not evidence).
        if segment == ".." || PRUNED_DIRS.contains(&segment) {
            return Ok(Vec::new());
        }
        if !segment.contains(['*', '?', '[']) {
            paths = paths.iter().map(|p| join(p, segment)).collect();
            continue;
        }
        if segment == "**" {
            // Any depth, this directory included (Flipt's index globs).
            let mut all = Vec::new();
            let mut queue: Vec<String> = paths.clone();
            while let Some(dir) = queue.pop() {
                let Some(entries) = list(if dir.is_empty() { "." } else { &dir }) else {
                    continue;
                };
                for (name, is_dir) in entries {
                    count(listed)?;
                    if is_dir && !PRUNED_DIRS.contains(&name.as_str()) {
                        queue.push(join(&dir, &name));
                    }
                }
                all.push(dir);
            }
            all.sort();
            paths = all;
            continue;
        }
        let Ok(glob) = globset::Glob::new(segment) else {
            return Ok(Vec::new()); // Prometheus reports a bad pattern; it loads nothing
        };
        let glob = glob.compile_matcher();
        let mut next = Vec::new();
        for dir in &paths {
            let Some(entries) = list(if dir.is_empty() { "." } else { dir }) else {
                continue;
            };
            for (name, _) in entries {
                count(listed)?;
                if glob.is_match(&name) && !PRUNED_DIRS.contains(&name.as_str()) {
                    next.push(join(dir, &name));
                }
            }
        }
        next.sort();
        paths = next;
    }
    paths.retain(|p| !p.is_empty());
    Ok(paths)
}

/// How a file gets its kind: from the registry's globs and sniffs, or given
/// by the document that names it (a Prometheus config's `rule_files`).
#[derive(Clone, Copy)]
enum Kinding<'c> {
    Candidates(&'c [usize]),
    Named(DocKind),
}

impl Kinding<'_> {
    /// The kind, and whether the content decided it.
    fn kind(self, classifier: &Classifier, text: &str) -> Option<(DocKind, bool)> {
        match self {
            Kinding::Candidates(c) => classifier
                .spec_for(c, text)
                .map(|s| (s.kind, s.by_content())),
            Kinding::Named(kind) => Some((kind, false)),
        }
    }
}

enum Visit {
    Document(Document),
    Problem(Problem),
    Binary,
    Nothing,
}

struct FileContext<'a> {
    root: &'a Path,
    root_canonical: &'a Path,
    classifier: &'a Classifier,
    opts: &'a Options,
}

impl FileContext<'_> {
    fn relative(&self, path: &Path) -> String {
        let rel = path.strip_prefix(self.root).unwrap_or(path);
        let text = rel.to_string_lossy();
        // `\` separates paths on Windows only; elsewhere it is a name's.
        let text = if cfg!(windows) {
            text.replace('\\', "/")
        } else {
            text.into_owned()
        };
        if text.is_empty() { ".".into() } else { text }
    }

    /// Read one candidate and give it its kind.
    fn visit(&self, path: &Path, rel: String, how: Kinding, is_symlink: bool) -> Visit {
        // Only path-decided kinds can be named before the content is read.
        let by_path = || {
            how.kind(self.classifier, "")
                .map(|(k, _)| k.name().to_string())
        };

        if is_symlink {
            match path.canonicalize() {
                Ok(target) if !target.starts_with(self.root_canonical) => {
                    return Visit::Problem(problem(
                        ProblemKind::SymlinkOutsideRoot,
                        by_path(),
                        &rel,
                        format!(
                            "symlink points outside the repository ({}); not followed",
                            target.display()
                        ),
                    ));
                }
                Ok(target) if target.is_dir() => return Visit::Nothing,
                Ok(_) => {}
                Err(err) => {
                    return Visit::Problem(problem(
                        ProblemKind::Unreadable,
                        by_path(),
                        &rel,
                        format!("dangling symlink: {err}"),
                    ));
                }
            }
        }

        let size = match std::fs::metadata(path) {
            // A FIFO or device would block the read or never end.
            Ok(meta) if !meta.is_file() => {
                return Visit::Problem(problem(
                    ProblemKind::Unreadable,
                    by_path(),
                    &rel,
                    "not a regular file (a FIFO, socket or device); not read".into(),
                ));
            }
            Ok(meta) => meta.len(),
            Err(err) => {
                return Visit::Problem(problem(
                    ProblemKind::Unreadable,
                    by_path(),
                    &rel,
                    format!("cannot read: {err}"),
                ));
            }
        };
        self.judge(rel, how, size, || read_head(path), || std::fs::read(path))
    }

    /// Read one file of a commit's tree and give it its kind; a symlink is
    /// followed inside the tree only.
    fn visit_tree(&self, tree: &CommitTree, rel: &str, how: Kinding) -> Visit {
        let by_path = || {
            how.kind(self.classifier, "")
                .map(|(k, _)| k.name().to_string())
        };
        let target = match tree.resolve(rel) {
            Resolved::File(target) => target,
            Resolved::Dir(_) => return Visit::Nothing,
            Resolved::Outside(to) => {
                return Visit::Problem(problem(
                    ProblemKind::SymlinkOutsideRoot,
                    by_path(),
                    rel,
                    format!("symlink points outside the repository ({to}); not followed"),
                ));
            }
            Resolved::Missing => {
                return Visit::Problem(problem(
                    ProblemKind::Unreadable,
                    by_path(),
                    rel,
                    "dangling symlink".into(),
                ));
            }
        };
        match tree.read(&target, self.opts.max_file_size) {
            Ok((bytes, size)) => self.judge_read(rel.to_string(), how, size, bytes),
            Err(err) => Visit::Problem(problem(
                ProblemKind::Unreadable,
                by_path(),
                rel,
                format!("cannot read: {err}"),
            )),
        }
    }

    /// [`Self::judge`] of a file already read: all of it, or its first
    /// `max_file_size` bytes when it is larger.
    fn judge_read(&self, rel: String, how: Kinding, size: u64, mut bytes: Vec<u8>) -> Visit {
        if size > self.opts.max_file_size {
            bytes.truncate(SNIFF_BYTES);
            self.judge(rel, how, size, || Ok(bytes), || Ok(Vec::new()))
        } else {
            self.judge(rel, how, size, || Ok(Vec::new()), || Ok(bytes))
        }
    }

    /// A file of `size` bytes, given its kind from its bytes: `head` reads
    /// its start (for an oversize file), `read` all of it.
    fn judge(
        &self,
        rel: String,
        how: Kinding,
        size: u64,
        head: impl FnOnce() -> std::io::Result<Vec<u8>>,
        read: impl FnOnce() -> std::io::Result<Vec<u8>>,
    ) -> Visit {
        let by_path = || {
            how.kind(self.classifier, "")
                .map(|(k, _)| k.name().to_string())
        };
        let unreadable = |err: std::io::Error| {
            Visit::Problem(problem(
                ProblemKind::Unreadable,
                by_path(),
                &rel,
                format!("cannot read: {err}"),
            ))
        };
        if size > self.opts.max_file_size {
            // Only an evidence-looking file over the cap is worth a finding;
            // a huge package-lock.json is not evidence of anything.
            let head = match head() {
                Ok(head) => head,
                Err(err) => return unreadable(err),
            };
            let text = String::from_utf8_lossy(&head);
            return match how.kind(self.classifier, &text) {
                Some((kind, _)) => Visit::Problem(problem(
                    ProblemKind::Oversize,
                    Some(kind.name().into()),
                    &rel,
                    format!(
                        "{} bytes is over the {}-byte limit; not read. Raise --max-file-size or split the file",
                        size, self.opts.max_file_size
                    ),
                )),
                None => Visit::Nothing,
            };
        }
        let bytes = match read() {
            Ok(bytes) => bytes,
            Err(err) => return unreadable(err),
        };
        // UTF-16 with a byte-order mark is text to YAML (and to Prometheus),
        // not a binary file.
        let bytes = utf16_as_utf8(bytes);
        let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
        if head.contains(&0) {
            return Visit::Binary;
        }
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) => {
                let valid = err.utf8_error().valid_up_to();
                let bytes = err.into_bytes();
                let lossy = String::from_utf8_lossy(&bytes[..bytes.len().min(SNIFF_BYTES)]);
                return match how.kind(self.classifier, &lossy) {
                    Some((kind, _)) => {
                        let line =
                            1 + bytes[..valid].iter().filter(|&&b| b == b'\n').count() as u32;
                        Visit::Problem(Problem {
                            kind: ProblemKind::NotUtf8,
                            document_kind: Some(kind.name().into()),
                            location: Location::new(rel, line, 0),
                            message: format!(
                                "invalid UTF-8 at byte {valid}; save the file as UTF-8"
                            ),
                        })
                    }
                    None => Visit::Nothing,
                };
            }
        };
        // The sniffs see the whole text: a key pushed past the first
        // 64 KiB by comments or padding still counts.
        match how.kind(self.classifier, &text) {
            Some((kind, by_content)) => {
                let mut doc = Document::new(rel, kind, text);
                doc.by_content = by_content;
                Visit::Document(doc)
            }
            None => Visit::Nothing,
        }
    }
}

/// Bytes that start with a UTF-16 byte-order mark, as UTF-8 (unpaired
/// surrogates become U+FFFD); any other bytes as they are.
fn utf16_as_utf8(bytes: Vec<u8>) -> Vec<u8> {
    let little = match bytes.get(..2) {
        Some([0xFF, 0xFE]) => true,
        Some([0xFE, 0xFF]) => false,
        _ => return bytes,
    };
    let units = bytes[2..].chunks_exact(2).map(|p| {
        if little {
            u16::from_le_bytes([p[0], p[1]])
        } else {
            u16::from_be_bytes([p[0], p[1]])
        }
    });
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect::<String>()
        .into_bytes()
}

fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    std::fs::File::open(path)?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

fn problem(
    kind: ProblemKind,
    document_kind: Option<String>,
    path: &str,
    message: String,
) -> Problem {
    Problem {
        kind,
        document_kind,
        location: Location::file(path),
        message,
    }
}

fn error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        _ => None,
    }
}

fn root_cause(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => root_cause(err),
        other => other.to_string(),
    }
}
