//! Mutation fuzzing of everything that reads files a pull-request author
//! writes: the YAML reader, the whole scan (every area's collectors) and the
//! policy loader. Seeds are the repository's own fixtures, read at test time:
//! every YAML, JSON, HCL and Markdown file under `tests/fixtures/`,
//! `examples/` and `policies/`. Each case takes one seed and applies one to
//! eight mutations: byte flips, YAML/JSON/HCL/Markdown tokens, a token
//! repeated up to 5 000 times, very long lines, odd Unicode (U+FFFE, U+202E,
//! BOM, NEL), NUL and invalid UTF-8, splices of two seeds, truncation,
//! deletion, duplication, and line-wise edits that mostly keep the document
//! valid (a line's value replaced by an odd one, a line repeated, deleted or
//! re-indented) so the collectors and the loader past the parser get odd
//! input too.
//!
//! Asserted for every case: no panic, no crash (stack overflow, abort), no
//! hang past a per-case timeout, and bounded memory (see `Counting`).
//!
//! Runs (the count is cases per target; three targets):
//!
//! ```sh
//! cargo test --test fuzz                                            # 64 cases, seconds
//! READYGATE_FUZZ_CASES=20000 cargo test --release --test fuzz       # the long run
//! PROPTEST_RNG_SEED=42 cargo test --test fuzz                       # repeat a run exactly
//! ```
//!
//! `READYGATE_FUZZ_TIMEOUT_MS` changes the per-case time limit (default
//! 20 000 ms, meant for debug builds on a loaded two-core machine).
//!
//! Each run draws new random cases (a fuzzer in CI explores a little more
//! every time) and leaves no regression file behind. How a failure shows
//! up: proptest shrinks it and prints the minimal case as the seed's path,
//! the mutations, and the input as a Rust expression (long runs written as
//! `"- ".repeat(4200)`), ready to paste into a test. A panic also names
//! where it panicked; a crash says "failed in other process", with the
//! child's "has overflowed its stack" or "memory allocation of N bytes
//! failed" above it. Findings stay as `known_*` tests at the end of this
//! file, `#[ignore]`d while the bug is open (`cargo test --test fuzz --
//! --ignored` runs them).
//!
//! Crashes: a stack overflow or a failed allocation aborts the *process*, it
//! cannot be caught in-process. So every target runs with proptest's `fork`
//! mode: the cases run in a child process (this test binary re-run for the
//! one test), and a child that dies mid-case counts as that case failing;
//! proptest then shrinks it in fresh children as usual. Within the child each
//! case runs on its own thread with the stack size its code gets in the real
//! CLI (see `STACK_*`), so a recursion that would overflow in production
//! overflows here too. The parent also kills a child stuck on one case
//! longer than the timeout, which reports the case as failing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use proptest::prelude::*;
use proptest::sample::Index;

// ---------------------------------------------------------------------------
// Bounded memory
// ---------------------------------------------------------------------------

/// Counts live heap bytes in this process, remembers the peak, and refuses
/// any allocation past `HARD_LIMIT`.
///
/// Two layers, because each alone falls short:
/// - `CASE_LIMIT` is asserted after each case on the peak it reached (the
///   peak is reset when the case starts). Going over is an ordinary test
///   failure, which proptest shrinks and prints like any other. This is
///   exact because, in fork mode, the child process runs one target and one
///   case at a time, so every byte counted is that case's (plus the
///   harness's few megabytes, measured at the start).
/// - `HARD_LIMIT` stops a runaway before it can take the shared machine
///   down or reach the OOM killer: the allocation returns null, Rust aborts
///   ("memory allocation of N bytes failed"), and the fork-mode parent
///   records that case as failed. An input that grows memory by many
///   gigabytes in one step (one huge `Vec::with_capacity`) is caught too,
///   since the request itself is refused before anything is touched.
///
/// Counting live bytes rather than limiting the address space (`ulimit -v`,
/// as tests/hostile.rs does for the binary) keeps the bound independent of
/// thread stacks, allocator arenas and mapped libraries, which vary by
/// machine.
struct Counting;

const MIB: usize = 1024 * 1024;
const HARD_LIMIT: usize = 512 * MIB;
const CASE_LIMIT: usize = 256 * MIB;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn reserve(bytes: usize) -> bool {
    let before = LIVE.fetch_add(bytes, Ordering::Relaxed);
    let after = before.saturating_add(bytes);
    if after > HARD_LIMIT {
        LIVE.fetch_sub(bytes, Ordering::Relaxed);
        return false;
    }
    PEAK.fetch_max(after, Ordering::Relaxed);
    true
}

fn release(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        let ptr = unsafe { System.alloc(layout) };
        if ptr.is_null() {
            release(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if ptr.is_null() {
            release(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        release(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old && !reserve(new_size - old) {
            return std::ptr::null_mut();
        }
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if new.is_null() {
            if new_size > old {
                release(new_size - old);
            }
        } else if new_size < old {
            release(old - new_size);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// ---------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------

/// Extensions of the seed files: YAML, JSON, HCL (Terraform, OpenTofu, lock
/// files) and Markdown.
const SEED_EXTENSIONS: &[&str] = &["yaml", "yml", "json", "tf", "tofu", "hcl", "md", "xml"];

struct Seed {
    /// Path in this repository, for messages.
    origin: String,
    /// The fixture repository it belongs to (index into `Corpus::repos`).
    repo: usize,
    /// Where it sits in a scanned copy of that repository.
    rel: PathBuf,
    bytes: Vec<u8>,
    /// A policy pack: also a seed for the policy loader.
    policy: bool,
}

/// A fixture repository: a directory whose files are copied, as a
/// repository, into a temporary directory for the scan target.
struct Repo {
    dir: PathBuf,
    /// Prefix of every file's path in the copy.
    prefix: &'static str,
}

struct Corpus {
    repos: Vec<Repo>,
    seeds: Vec<Seed>,
    /// Indexes into `seeds` of the policy packs.
    policies: Vec<usize>,
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(load_corpus)
}

fn load_corpus() -> Corpus {
    let top = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut repos = Vec::new();
    let subdirs = |dir: &str| {
        let mut found: Vec<PathBuf> = std::fs::read_dir(top.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        found.sort();
        found
    };
    for dir in subdirs("tests/fixtures") {
        repos.push(Repo { dir, prefix: "" });
    }
    for dir in subdirs("examples") {
        // examples/workflows holds workflow files as users copy them into
        // `.github/workflows/`, which is where the CI area reads them.
        let prefix = if dir.ends_with("workflows") {
            ".github/workflows/"
        } else {
            ""
        };
        repos.push(Repo { dir, prefix });
    }
    // The builtin packs as a repository's own policy files.
    repos.push(Repo {
        dir: top.join("policies"),
        prefix: ".readygate/",
    });

    let mut seeds = Vec::new();
    for (index, repo) in repos.iter().enumerate() {
        let mut files = Vec::new();
        walk(&repo.dir, &mut files);
        files.sort();
        for file in files {
            let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !SEED_EXTENSIONS.contains(&ext) {
                continue;
            }
            let inner = file.strip_prefix(&repo.dir).unwrap();
            let origin = file.strip_prefix(top).unwrap();
            let policy = matches!(ext, "yaml" | "yml")
                && (origin.starts_with("policies")
                    || origin.starts_with("tests/fixtures/policies"));
            seeds.push(Seed {
                origin: origin.display().to_string(),
                repo: index,
                rel: Path::new(repo.prefix).join(inner),
                bytes: std::fs::read(&file).unwrap(),
                policy,
            });
        }
    }
    let policies: Vec<usize> = (0..seeds.len()).filter(|&i| seeds[i].policy).collect();
    assert!(seeds.len() > 50, "seeds went missing: {}", seeds.len());
    assert!(
        policies.len() > 10,
        "policy seeds went missing: {}",
        policies.len()
    );
    Corpus {
        repos,
        seeds,
        policies,
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

// ---------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------

/// Inserted at a random place: structure of YAML (and the JSON, HCL and
/// Markdown that areas read), scalars YAML resolves oddly, odd Unicode
/// (noncharacter, BOM, bidi override, NUL, NEL, line separator), invalid
/// UTF-8.
const TOKENS: &[&[u8]] = &[
    b"- ",
    b"? ",
    b": ",
    b":",
    b"{",
    b"}",
    b"[",
    b"]",
    b", ",
    b"&a ",
    b"*a",
    b"*a ",
    b"!!",
    b"!!str ",
    b"!!map ",
    b"!!seq ",
    b"!!binary ",
    b"!<tag:yaml.org,2002:str> ",
    b"!local ",
    b"<<: *a\n",
    b"<<: ",
    b"a: &a [*a, *a]\n",
    b"|",
    b"|-\n",
    b">+\n",
    b"|2\n",
    b"#",
    b" #",
    b"---\n",
    b"...\n",
    b"%YAML 1.2\n---\n",
    b"%TAG ! tag:x,2000:\n",
    b"\n",
    b"\r\n",
    b"\r",
    b"\t",
    b"  ",
    b"    ",
    b"'",
    b"\"",
    b"\\",
    b"\"\\u0000\"",
    b"\"\\ud800\"",
    b"~",
    b"null",
    b"1e999",
    b"-0x1F",
    b"0o777",
    b".inf",
    b"-.nan",
    b"2024-02-30",
    b"yes",
    b"on",
    b"=",
    b"${",
    b"%{",
    b"<<EOT\n",
    b"EOT\n",
    b"/*",
    b"*/",
    b"//",
    b"```\n",
    b"](",
    b"<!--",
    b"|---|\n",
    b"# ",
    b"> ",
    b"{{ .Values.x }}",
    b"../",
    b"/dev/zero",
    b"https://",
    "\u{FFFE}".as_bytes(),
    "\u{FEFF}".as_bytes(),
    "\u{202E}".as_bytes(),
    b"\0",
    "\u{85}".as_bytes(),
    "\u{2028}".as_bytes(),
    "\u{1F600}".as_bytes(),
    "e\u{301}".as_bytes(),
    "\u{10FFFF}".as_bytes(),
    b"\x7f",
    b"\x1b[31m",
    b"\xff",
    b"\xc0\x80",
    b"\xed\xa0\x80",
];

/// Repeated up to a few thousand times: nesting (block and flow, YAML and
/// JSON and HCL), alias and tag chains, long runs of quotes, escapes and
/// bidi controls.
const REPEATED: &[&[u8]] = &[
    b"- ",
    b"[",
    b"{",
    b"{a: ",
    b"? ",
    b"- [",
    b"[{",
    b"  ",
    b"\t",
    b"a: ",
    b"&a ",
    b"*a ",
    b"!!str ",
    b"- - ",
    b"a:\n  ",
    b"\n",
    b">",
    b"'",
    b"\"",
    b"\\",
    b"#",
    b"`",
    b"*a, ",
    b"[*a, ",
    b"{\"a\":",
    b"a { ",
    b"${f(",
    b"> ",
    b"](",
    b"<<: *a\n",
    b"? [",
    b"x",
    "\u{202E}".as_bytes(),
    b"\0",
];

#[derive(Clone, Debug)]
enum Mutation {
    Flip {
        at: Index,
        bit: u8,
    },
    Insert {
        at: Index,
        token: Index,
    },
    Repeat {
        at: Index,
        token: Index,
        times: usize,
    },
    LongLine {
        at: Index,
        byte: u8,
        len: usize,
    },
    Splice {
        at: Index,
        other: Index,
        from: Index,
    },
    Truncate {
        at: Index,
    },
    Delete {
        at: Index,
        len: usize,
    },
    Duplicate {
        from: Index,
        len: usize,
        to: Index,
    },
    /// Replace the value on a line (after `: `, `= ` or `- `).
    Value {
        line: Index,
        value: Index,
    },
    /// Repeat a line: duplicate keys, extra list items.
    CopyLine {
        line: Index,
    },
    DeleteLine {
        line: Index,
    },
    /// Indent a line two spaces deeper, or (`deeper` false) one less.
    Indent {
        line: Index,
        deeper: bool,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let long_byte = prop::sample::select(vec![b'a', b' ', b'-', b'[', b'{', b'"', b'\'', b'#']);
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        6 => (any::<Index>(), any::<Index>()).prop_map(|(at, token)| Mutation::Insert { at, token }),
        2 => (any::<Index>(), any::<Index>(), 2usize..5_000)
            .prop_map(|(at, token, times)| Mutation::Repeat { at, token, times }),
        1 => (any::<Index>(), long_byte, 1_000usize..200_000)
            .prop_map(|(at, byte, len)| Mutation::LongLine { at, byte, len }),
        1 => (any::<Index>(), any::<Index>(), any::<Index>())
            .prop_map(|(at, other, from)| Mutation::Splice { at, other, from }),
        1 => any::<Index>().prop_map(|at| Mutation::Truncate { at }),
        2 => (any::<Index>(), 1usize..64).prop_map(|(at, len)| Mutation::Delete { at, len }),
        2 => (any::<Index>(), 1usize..4_096, any::<Index>())
            .prop_map(|(from, len, to)| Mutation::Duplicate { from, len, to }),
        // Line-wise mutations mostly keep the document parseable, so the
        // collectors and the loader past the parser see odd values too.
        8 => (any::<Index>(), any::<Index>()).prop_map(|(line, value)| Mutation::Value { line, value }),
        3 => any::<Index>().prop_map(|line| Mutation::CopyLine { line }),
        2 => any::<Index>().prop_map(|line| Mutation::DeleteLine { line }),
        2 => (any::<Index>(), any::<bool>()).prop_map(|(line, deeper)| Mutation::Indent { line, deeper }),
    ]
}

/// Values put in place of a line's value: odd scalars and types, empty and
/// huge collections, anchors and tags, paths, URLs, templates, dates, CEL
/// and globs, Unicode.
const VALUES: &[&str] = &[
    "",
    "~",
    "null",
    "[]",
    "{}",
    "[[]]",
    "{a: 1, a: 2}",
    "0",
    "-1",
    "1e999",
    "-.inf",
    ".nan",
    "9999999999999999999999999",
    "0x7fffffffffffffff",
    "true",
    "no",
    "2024-02-30",
    "1999-12-31",
    "9999-12-31",
    "\"\"",
    "''",
    "\" \"",
    "\"\\u0000\"",
    "\"\u{202E}gnp.exe\"",
    "\"\u{FFFE}\"",
    "\u{1F600}",
    "&a [*a, *a]",
    "*a",
    "*nope",
    "!!binary AAAA",
    "!!int x",
    "!custom x",
    "|\n  block\n",
    ">-\n",
    "../../../../etc/passwd",
    "/dev/zero",
    "/",
    ".",
    "..",
    "**",
    "[!",
    "{a,b",
    "\\",
    "https://",
    "https://user:pw@[::1]:99999/x?#",
    "http://localhost/\u{0}",
    "mailto:x",
    "\"${{ github.event.pull_request.title }}\"",
    "\"{{ .Values.x }}\"",
    "\"${var.x}\"",
    "a.all(x, b.exists(y, c.map(z, z)))",
    "\"size(size(size(size(x))))\"",
    "\"((((((((((((((((((((((((((((1))))))))))))))))))))))))))))\"",
    "\"evidence.\"",
    "\"1 / 0\"",
    "\"'a' * 99999999\"",
    "\"@\"",
    "release/*",
    "tier-1",
    "-5",
    "101",
    "P1Y",
    "30s",
    "-1d",
    "1000000000000h",
];

impl Mutation {
    fn apply(&self, bytes: &mut Vec<u8>, seeds: &[&Seed]) {
        let len = bytes.len();
        // A position in 0..=len (insertions may go at the end).
        let pos = |at: &Index| at.index(len + 1);
        match self {
            Mutation::Flip { at, bit } => {
                if len > 0 {
                    bytes[at.index(len)] ^= 1 << bit;
                }
            }
            Mutation::Insert { at, token } => {
                let at = pos(at);
                bytes.splice(at..at, TOKENS[token.index(TOKENS.len())].iter().copied());
            }
            Mutation::Repeat { at, token, times } => {
                let at = pos(at);
                let token = REPEATED[token.index(REPEATED.len())];
                bytes.splice(at..at, token.repeat(*times));
            }
            Mutation::LongLine { at, byte, len } => {
                let at = pos(at);
                bytes.splice(at..at, std::iter::repeat_n(*byte, *len));
            }
            Mutation::Splice { at, other, from } => {
                let other = &seeds[other.index(seeds.len())].bytes;
                bytes.truncate(pos(at));
                bytes.extend_from_slice(&other[from.index(other.len() + 1)..]);
            }
            Mutation::Truncate { at } => bytes.truncate(pos(at)),
            Mutation::Delete { at, len: n } => {
                let at = pos(at);
                bytes.drain(at..(at + n).min(len));
            }
            Mutation::Duplicate { from, len: n, to } => {
                let from = pos(from);
                let chunk = bytes[from..(from + n).min(len)].to_vec();
                let to = pos(to);
                bytes.splice(to..to, chunk);
            }
            Mutation::Value { line, value } => {
                let (start, end) = line_at(bytes, line);
                let text = &bytes[start..end];
                let after = [&b": "[..], b"= ", b"- "]
                    .iter()
                    .filter_map(|sep| find(text, sep).map(|i| i + sep.len()))
                    .min();
                let value = VALUES[value.index(VALUES.len())].as_bytes();
                match after {
                    Some(after) => drop(bytes.splice(start + after..end, value.iter().copied())),
                    // `key:` opening a block keeps it; a bare line takes the
                    // value after a space.
                    None if text.ends_with(b":") => {}
                    None => drop(bytes.splice(end..end, b" ".iter().chain(value).copied())),
                }
            }
            Mutation::CopyLine { line } => {
                let (start, end) = line_at(bytes, line);
                let mut copy = bytes[start..end].to_vec();
                copy.push(b'\n');
                bytes.splice(start..start, copy);
            }
            Mutation::DeleteLine { line } => {
                let (start, end) = line_at(bytes, line);
                bytes.drain(start..(end + 1).min(len));
            }
            Mutation::Indent { line, deeper } => {
                let (start, end) = line_at(bytes, line);
                if *deeper {
                    bytes.splice(start..start, *b"  ");
                } else if start < end && bytes[start] == b' ' {
                    bytes.remove(start);
                }
            }
        }
    }
}

/// The line `line` picks: its start and end (at its `\n` or the end).
fn line_at(bytes: &[u8], line: &Index) -> (usize, usize) {
    let lines = bytes.iter().filter(|b| **b == b'\n').count() + 1;
    let n = line.index(lines);
    let start = if n == 0 {
        0
    } else {
        bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(n - 1)
            .map_or(0, |(i, _)| i + 1)
    };
    let end = find(&bytes[start..], b"\n").map_or(bytes.len(), |i| start + i);
    (start, end)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Which seeds a target draws from.
#[derive(Clone, Copy, Debug)]
enum Pool {
    All,
    Policies,
}

impl Pool {
    fn seeds(self) -> Vec<&'static Seed> {
        let corpus = corpus();
        match self {
            Pool::All => corpus.seeds.iter().collect(),
            Pool::Policies => corpus.policies.iter().map(|&i| &corpus.seeds[i]).collect(),
        }
    }
}

/// One generated case: a seed, the mutations applied to it in order, and
/// the window of lines kept of the result.
#[derive(Clone)]
struct Case {
    pool: Pool,
    seed: Index,
    mutations: Vec<Mutation>,
    /// Keep the last `tail` lines, then the first `head` of those. Both are
    /// generated as "everything" and only shrink, so a failure shrinks to
    /// the lines around what triggers it rather than the whole seed.
    tail: usize,
    head: usize,
}

impl Case {
    fn seed(&self) -> &'static Seed {
        let seeds = self.pool.seeds();
        seeds[self.seed.index(seeds.len())]
    }

    fn input(&self) -> Vec<u8> {
        let seeds = self.pool.seeds();
        let mut bytes = self.seed().bytes.clone();
        for m in &self.mutations {
            m.apply(&mut bytes, &seeds);
        }
        let starts: Vec<usize> = std::iter::once(0)
            .chain(
                bytes
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .filter(|&i| i < bytes.len())
            .collect();
        let lines = starts.len();
        let first = lines - self.tail.min(lines);
        let last = (first + self.head).min(lines);
        let from = starts.get(first).copied().unwrap_or(bytes.len());
        let to = starts.get(last).copied().unwrap_or(bytes.len());
        bytes[from..to].to_vec()
    }
}

/// Shown for the minimal failing case: the seed, the mutations and the
/// input itself as a Rust expression.
impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let input = self.input();
        writeln!(f, "Case {{")?;
        writeln!(
            f,
            "  seed: {:?} (in a repository at {:?})",
            self.seed().origin,
            self.seed().rel
        )?;
        writeln!(f, "  mutations: {:?}", self.mutations)?;
        if self.tail < ALL_LINES || self.head < ALL_LINES {
            writeln!(
                f,
                "  lines kept: the last {}, then the first {} of those",
                self.tail, self.head
            )?;
        }
        writeln!(f, "  input ({} bytes): {}", input.len(), rust_expr(&input))?;
        write!(f, "}}")
    }
}

fn cases(pool: Pool) -> impl Strategy<Value = Case> {
    (
        any::<Index>(),
        // Mostly one or two mutations, which often keep the document
        // valid; now and then a pile of them.
        prop_oneof![
            3 => prop::collection::vec(mutation(), 1..=1),
            2 => prop::collection::vec(mutation(), 2..=3),
            1 => prop::collection::vec(mutation(), 4..=8),
        ],
        AllLines,
        AllLines,
    )
        .prop_map(move |(seed, mutations, tail, head)| Case {
            pool,
            seed,
            mutations,
            tail,
            head,
        })
}

/// More lines than any input has (5 000 repeated newlines at most 8 times,
/// plus the seed).
const ALL_LINES: usize = 1 << 20;

/// Always `ALL_LINES` when generated; shrinks toward 0 by binary search.
#[derive(Debug)]
struct AllLines;

impl Strategy for AllLines {
    type Tree = proptest::num::usize::BinarySearch;
    type Value = usize;

    fn new_tree(
        &self,
        _: &mut proptest::test_runner::TestRunner,
    ) -> proptest::strategy::NewTree<Self> {
        Ok(proptest::num::usize::BinarySearch::new(ALL_LINES))
    }
}

/// `bytes` as a Rust expression that rebuilds them, runs of one repeated
/// token (8 times or more) written as `.repeat(n)`: a string if they are
/// UTF-8, else a byte vector.
fn rust_expr(bytes: &[u8]) -> String {
    let text = std::str::from_utf8(bytes).ok();
    let boundary = |i: usize| text.is_none_or(|t| t.is_char_boundary(i));
    let literal = |piece: &[u8]| match text {
        Some(_) => format!("{:?}", std::str::from_utf8(piece).unwrap()),
        None => {
            let escaped: String = piece
                .iter()
                .flat_map(|&b| std::ascii::escape_default(b))
                .map(char::from)
                .collect();
            format!("b\"{escaped}\"")
        }
    };
    let (lit_suffix, empty) = match text {
        Some(_) => (".to_string()", "String::new()"),
        None => (".to_vec()", "Vec::<u8>::new()"),
    };
    let mut parts = Vec::new();
    let mut plain_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // The longest run starting here of a token of 1..=16 bytes.
        let mut best: Option<(usize, usize)> = None;
        if boundary(i) {
            for width in 1..=16.min(bytes.len() - i) {
                if !boundary(i + width) {
                    continue;
                }
                let token = &bytes[i..i + width];
                let mut times = 1;
                while bytes[i + times * width..].starts_with(token) {
                    times += 1;
                }
                if times >= 8 && best.is_none_or(|(w, t)| width * times > w * t) {
                    best = Some((width, times));
                }
            }
        }
        match best {
            Some((width, times)) => {
                if plain_start < i {
                    parts.push(format!("{}{lit_suffix}", literal(&bytes[plain_start..i])));
                }
                parts.push(format!("{}.repeat({times})", literal(&bytes[i..i + width])));
                i += width * times;
                plain_start = i;
            }
            None => i += 1,
        }
    }
    if plain_start < bytes.len() {
        parts.push(format!("{}{lit_suffix}", literal(&bytes[plain_start..])));
    }
    match parts.len() {
        0 => empty.to_string(),
        1 => parts.pop().unwrap(),
        _ => format!("[{}].concat()", parts.join(", ")),
    }
}

// ---------------------------------------------------------------------------
// Running one case
// ---------------------------------------------------------------------------

/// The YAML reader runs on the walk's threads in the CLI (the `ignore`
/// crate's workers, Rust's default 2 MiB stack), so it gets no more here.
const STACK_WALKER: usize = 2 * MIB;
/// The scan and the policy loader run on the CLI's main thread (8 MiB on
/// Linux); the scan's own walker threads keep their default.
const STACK_MAIN: usize = 8 * MIB;

fn cases_per_target() -> u32 {
    match std::env::var("READYGATE_FUZZ_CASES") {
        Ok(v) => v.parse().expect("READYGATE_FUZZ_CASES must be a number"),
        Err(_) => 64,
    }
}

fn config() -> ProptestConfig {
    let timeout = match std::env::var("READYGATE_FUZZ_TIMEOUT_MS") {
        Ok(v) => v
            .parse()
            .expect("READYGATE_FUZZ_TIMEOUT_MS must be a number"),
        Err(_) => 20_000,
    };
    ProptestConfig {
        cases: cases_per_target(),
        fork: true,
        timeout,
        // Shrinking a slow failure must not run for hours.
        max_shrink_time: 300_000,
        // No regression file: a run's outcome depends on nothing left behind
        // by an earlier run (the working tree and target/ are shared). A
        // failure prints its input; a finding worth keeping becomes a test
        // like `known_*` below.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The first panic on any thread while a case runs (the scan's walker
/// threads included): where, and its message.
static FIRST_PANIC: Mutex<Option<String>> = Mutex::new(None);
static IN_CASE: AtomicBool = AtomicBool::new(false);

fn install_panic_hook() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_CASE.load(Ordering::SeqCst) {
                return default(info);
            }
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(non-string payload)".into());
            let location = info.location().map_or("?".into(), |l| l.to_string());
            let thread = std::thread::current()
                .name()
                .unwrap_or("unnamed")
                .to_string();
            FIRST_PANIC
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert_with(|| {
                    format!("thread '{thread}' panicked at {location}: {message}")
                });
        }));
    });
}

/// Run `body` on a fresh thread with `stack` bytes of stack, under the
/// per-case memory limit. A panic or the limit is a case failure.
fn run_case<T: Send + 'static>(
    stack: usize,
    body: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TestCaseError> {
    install_panic_hook();
    *FIRST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = None;
    IN_CASE.store(true, Ordering::SeqCst);
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let joined = std::thread::Builder::new()
        .name("fuzz-case".into())
        .stack_size(stack)
        .spawn(body)
        .expect("spawn a case thread")
        .join();
    IN_CASE.store(false, Ordering::SeqCst);
    let used = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    match joined {
        Err(_) => {
            let panic = FIRST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
            Err(TestCaseError::fail(
                panic.unwrap_or_else(|| "panicked".into()),
            ))
        }
        Ok(_) if used > CASE_LIMIT => Err(TestCaseError::fail(format!(
            "used {} MiB of heap at its peak (limit {} MiB)",
            used / MIB,
            CASE_LIMIT / MIB
        ))),
        Ok(value) => Ok(value),
    }
}

/// A temporary copy of fixture repository `repo`, shared by the cases of
/// one process (they run one at a time); each case puts its input in place
/// of its seed and restores the seed after.
fn repo_copy(repo: usize) -> PathBuf {
    static COPIES: Mutex<BTreeMap<usize, tempfile::TempDir>> = Mutex::new(BTreeMap::new());
    let mut copies = COPIES.lock().unwrap_or_else(|e| e.into_inner());
    let dir = copies.entry(repo).or_insert_with(|| {
        let corpus = corpus();
        let source = &corpus.repos[repo];
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        walk(&source.dir, &mut files);
        for file in files {
            let to = dir
                .path()
                .join(source.prefix)
                .join(file.strip_prefix(&source.dir).unwrap());
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&file, &to).unwrap();
        }
        dir
    });
    dir.path().to_path_buf()
}

/// Cases of the targets that write files run one at a time per process.
static FILES: Mutex<()> = Mutex::new(());

/// `input` written at `seed`'s place in its repository copy while `body`
/// runs on it; the seed is put back after.
fn with_input_in_repo<T>(seed: &Seed, input: &[u8], body: impl FnOnce(&Path, PathBuf) -> T) -> T {
    let _one_at_a_time = FILES.lock().unwrap_or_else(|e| e.into_inner());
    let root = repo_copy(seed.repo);
    let file = root.join(&seed.rel);
    std::fs::write(&file, input).unwrap();
    let out = body(&root, file.clone());
    std::fs::write(&file, &seed.bytes).unwrap();
    out
}

// ---------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// The YAML reader on any seed (JSON, HCL and Markdown are inputs too).
    /// Not valid UTF-8 is read lossily, as `Document` does for text.
    #[test]
    fn yaml_reader(case in cases(Pool::All)) {
        let text = String::from_utf8_lossy(&case.input()).into_owned();
        run_case(STACK_WALKER, move || {
            let _ = readygate::yaml::parse_documents(&text);
        })?;
    }

    /// The whole scan of the seed's repository with the mutated file in the
    /// seed's place: discovery and every area's collectors and assembly.
    /// An error result is fine; a panic, crash or blow-up is not.
    #[test]
    fn scan(case in cases(Pool::All)) {
        let input = case.input();
        with_input_in_repo(case.seed(), &input, |root, _| {
            let root = root.to_path_buf();
            run_case(STACK_MAIN, move || {
                let _ = readygate::scan::scan(
                    &root,
                    &readygate::scan::Settings::default(),
                    &readygate::probe::Probes::offline(),
                );
            })
        })?;
    }

    /// The policy loader on a mutated pack, next to the packs it extends.
    #[test]
    fn policy_loader(case in cases(Pool::Policies)) {
        let input = case.input();
        with_input_in_repo(case.seed(), &input, |_, file| {
            run_case(STACK_MAIN, move || {
                let _ = readygate::policy::load(file.to_str().unwrap(), Path::new(""));
            })
        })?;
    }
}

/// The harness itself: the corpus is found, and `rust_expr` writes runs
/// compactly.
#[test]
fn harness_sanity() {
    let corpus = corpus();
    assert!(
        corpus
            .seeds
            .iter()
            .any(|s| s.rel.starts_with(".github/workflows"))
    );
    assert!(corpus.seeds.iter().any(|s| s.origin.ends_with(".tf")));
    assert!(corpus.seeds.iter().any(|s| s.origin.ends_with(".md")));
    assert_eq!(
        rust_expr(format!("groups:\n{}x\n", "- ".repeat(10)).as_bytes()),
        r#"["groups:\n".to_string(), "- ".repeat(10), "x\n".to_string()].concat()"#
    );
    assert_eq!(rust_expr(b"a\xff"), r#"b"a\xff".to_vec()"#);

    // The scan reads the input where the seed was, and the seed is put back.
    let seed = corpus
        .seeds
        .iter()
        .find(|s| s.origin == "examples/sample-service/.github/workflows/ci.yml")
        .unwrap();
    let problem_paths = |root: &Path| -> Vec<String> {
        let settings = readygate::scan::Settings::default();
        let evidence =
            readygate::scan::scan(root, &settings, &readygate::probe::Probes::offline()).unwrap();
        evidence
            .problems
            .into_iter()
            .map(|p| p.location.path)
            .collect()
    };
    let broken = with_input_in_repo(seed, b"on: [\n", |root, _| problem_paths(root));
    assert!(
        broken.contains(&".github/workflows/ci.yml".to_string()),
        "{broken:?}"
    );
    let fixed = with_input_in_repo(seed, &seed.bytes, |root, _| problem_paths(root));
    assert!(
        !fixed.contains(&".github/workflows/ci.yml".to_string()),
        "{fixed:?}"
    );
}

// ---------------------------------------------------------------------------
// Findings
// ---------------------------------------------------------------------------
//
// Each finding of the fuzzer, shrunk by hand to its smallest form, stays
// here as a plain test. One that still fails is `#[ignore]`d with the reason
// (run them with `cargo test --test fuzz -- --ignored`); remove the
// `#[ignore]` when the bug is fixed.

/// Found by `policy_loader` (20 000 cases, release): a CEL expression with a
/// non-ASCII character right before an opening bracket, outside a string
/// (`é(`, `x.\u{85}size()`), panics in `policy::expr::within_limits`
/// (src/policy/expr.rs:70, "end byte index 1 is not a char boundary"):
/// `rfind` gives the byte index where that character *starts* and `+ 1`
/// lands inside it. `readygate check` exited 101 on a repository whose
/// `.readygate/policy.yaml` had such a rule. Fixed: the name before a
/// bracket is found by character, not byte.
#[test]
fn known_cel_non_ascii_before_bracket() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("policy.yaml");
    std::fs::write(
        &pack,
        "name: x\nrules:\n  - id: a.b\n    title: t\n    area: service\n    level: gold\n    expr: \"é(\"\n    why: w\n    remediation: r\n",
    )
    .unwrap();
    let result = run_case(STACK_MAIN, move || {
        readygate::policy::load(pack.to_str().unwrap(), Path::new("")).map(|_| ())
    });
    match result {
        Ok(loaded) => assert!(loaded.is_err(), "`é(` is not a valid CEL expression"),
        Err(failure) => panic!("{failure}"),
    }
}
