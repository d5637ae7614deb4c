//! Documents: a classified file with its text, parsed at most once per
//! format however many areas read it. Areas register the kinds they own
//! ([`KindSpec`]) and name the kinds they read; the walk classifies each file
//! once and offers the document to every area that reads its kind.

use std::cell::OnceCell;
use std::fmt;

use crate::evidence::{Location, Problem, ProblemKind};

pub mod rules;
use crate::yaml::{self, Node, Pos};

/// A regular file (not a device, FIFO, directory or symlink to one) of at
/// most `max` bytes, read without trusting its reported size: a policy
/// pack, a lock file, a CA bundle named by a flag or the repository.
pub fn read_regular_file(path: &std::path::Path, max: u64) -> std::io::Result<String> {
    use std::io::Read;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > max {
        return Err(std::io::Error::other(format!(
            "{} bytes is over the {max}-byte limit",
            meta.len()
        )));
    }
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(max + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > max {
        return Err(std::io::Error::other(
            "grew past the limit while being read",
        ));
    }
    Ok(text)
}

/// A document kind, by its published name (`prometheus-rules`, the key of
/// `files.by_kind` in the evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocKind(pub &'static str);

impl DocKind {
    pub fn name(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Kinds that more than one area reads. The owning area registers the spec;
/// readers name the kind from here, so no area imports another.
pub mod shared {
    use super::DocKind;

    pub const KUBERNETES_MANIFEST: DocKind = DocKind("kubernetes-manifest");
    pub const TERRAFORM: DocKind = DocKind("terraform");
    pub const CLOUDFORMATION: DocKind = DocKind("cloudformation");
    pub const GITHUB_WORKFLOW: DocKind = DocKind("github-workflow");
    pub const GITLAB_CI: DocKind = DocKind("gitlab-ci");
    // Rule kinds, owned by the alerts area; [`crate::document::rules`] reads their
    // expressions for every area.
    pub const PROMETHEUS_RULES: DocKind = DocKind("prometheus-rules");
    pub const HELM_TEMPLATE: DocKind = DocKind("helm-template");
    pub const GRAFANA_ALERTING: DocKind = DocKind("grafana-alerting");
    pub const DATADOG_MONITOR: DocKind = DocKind("datadog-monitor");
    pub const PROMETHEUS_CONFIG: DocKind = DocKind("prometheus-config");
}

pub type Sniff = fn(&Head) -> bool;

/// How a file becomes a document of a kind: path globs that make it a
/// candidate, and an optional sniff over its first bytes that must agree.
pub struct KindSpec {
    pub kind: DocKind,
    pub globs: &'static [&'static str],
    pub sniff: Option<Sniff>,
    /// Candidates are tried in ascending order and the first match wins,
    /// so specific kinds sort before generic YAML ones (Kubernetes last).
    pub order: u16,
}

impl KindSpec {
    /// Whether a file of this spec is recognised by its content (a sniff
    /// over files named only by extension) rather than by its name.
    pub fn by_content(&self) -> bool {
        self.sniff.is_some() && self.globs.iter().all(|g| GENERIC_GLOBS.contains(g))
    }
}

/// Globs that say nothing but the format.
const GENERIC_GLOBS: &[&str] = &["**/*.yaml", "**/*.yml", "**/*.json", "**/*.template"];

/// A classified file with its text and its parses, made on first use.
pub struct Document {
    /// Relative to the root, `/`-separated.
    pub path: String,
    pub kind: DocKind,
    pub text: String,
    /// Recognised by its content, not its name (see [`KindSpec::by_content`]).
    pub by_content: bool,
    yaml: OnceCell<Result<Vec<Node>, yaml::ParseError>>,
    hcl: OnceCell<Result<Hcl, Problem>>,
    line_starts: OnceCell<Vec<usize>>,
    rules: OnceCell<Vec<rules::RuleExpr>>,
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// An HCL body with the line index its byte spans need.
pub struct Hcl {
    pub body: hcl_edit::structure::Body,
    lines: Vec<usize>,
}

impl Hcl {
    /// Byte offset → 1-based line and column.
    pub fn pos(&self, offset: usize) -> Pos {
        let line = self.lines.partition_point(|&start| start <= offset);
        Pos {
            line: line as u32,
            column: (offset - self.lines[line - 1]) as u32 + 1,
        }
    }
}

/// The `i`-th label of an HCL block (`resource "TYPE" "NAME"`).
pub fn block_label(block: &hcl_edit::structure::Block, i: usize) -> Option<String> {
    use hcl_edit::structure::BlockLabel;
    block.labels.get(i).map(|l| match l {
        BlockLabel::Ident(id) => id.as_str().to_string(),
        BlockLabel::String(s) => s.as_str().to_string(),
    })
}

impl Document {
    pub fn new(path: impl Into<String>, kind: DocKind, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            kind,
            text: text.into(),
            by_content: false,
            yaml: OnceCell::new(),
            hcl: OnceCell::new(),
            line_starts: OnceCell::new(),
            rules: OnceCell::new(),
        }
    }

    /// Every YAML document in the file (JSON is YAML), parsed once.
    pub fn yaml(&self) -> Result<&[Node], &yaml::ParseError> {
        self.yaml
            .get_or_init(|| yaml::parse_documents(&self.text))
            .as_ref()
            .map(Vec::as_slice)
    }

    /// The file as HCL (Terraform, OpenTofu), parsed once.
    pub fn hcl(&self) -> Result<&Hcl, &Problem> {
        self.hcl
            .get_or_init(|| {
                let body = hcl_edit::parser::parse_body(&self.text).map_err(|err| {
                    let loc = err.location();
                    let pos = Pos {
                        line: loc.line() as u32,
                        column: loc.column() as u32,
                    };
                    unparseable(self, pos, err.message())
                })?;
                Ok(Hcl {
                    body,
                    lines: line_starts(&self.text),
                })
            })
            .as_ref()
    }

    /// The alerting and recording rules' expressions, read once however
    /// many areas ask (empty for kinds that hold no rules).
    pub fn rules(&self) -> &[rules::RuleExpr] {
        self.rules.get_or_init(|| rules::read(self))
    }

    /// Where 1-based `line` starts in the text (a byte offset); found once
    /// per document, however many times it is asked.
    pub fn line_start(&self, line: u32) -> Option<usize> {
        let starts = self.line_starts.get_or_init(|| line_starts(&self.text));
        starts.get(line.checked_sub(1)? as usize).copied()
    }

    /// Parse as YAML and hand each document to `f`, or record the file as
    /// unparseable at the line the parser stopped.
    pub fn each_yaml<F>(&self, out: &mut Sink<F>, mut f: impl FnMut(&Node, &mut Sink<F>)) {
        match self.yaml() {
            Ok(nodes) => nodes.iter().for_each(|node| f(node, out)),
            Err(err) => out.problem(unparseable(self, err.pos, &err.message)),
        }
    }
}

/// What an area's collector learnt from one document: its own facts,
/// problems with the document, and other files it names as evidence.
#[derive(Debug)]
pub struct Sink<F> {
    pub facts: Vec<F>,
    pub problems: Vec<Problem>,
    pub named: Vec<Named>,
}

impl<F> Default for Sink<F> {
    fn default() -> Self {
        Self {
            facts: Vec::new(),
            problems: Vec::new(),
            named: Vec::new(),
        }
    }
}

/// Files one document names as evidence of a kind, whatever they are
/// called: a Prometheus config's `rule_files` loads `rules/*.conf` as rule
/// files. After the walk, the files `pattern` matches that the walk did not
/// classify are read as `kind` and go to every area that reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// Where the document names them.
    pub by: Location,
    /// Relative to the repository root, `/`-separated; `*`, `?` and `[...]`
    /// match within one path segment (Go's `filepath.Glob`).
    pub pattern: String,
    pub kind: DocKind,
}

impl<F> Sink<F> {
    pub fn push(&mut self, fact: F) {
        self.facts.push(fact);
    }

    pub fn problem(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    /// Files this document names as evidence of `kind`.
    pub fn name(&mut self, named: Named) {
        self.named.push(named);
    }

    pub fn extend(&mut self, other: Sink<F>) {
        self.facts.extend(other.facts);
        self.problems.extend(other.problems);
        self.named.extend(other.named);
    }
}

/// A document that did not parse: unparseable, or, when the failure is
/// template syntax, a template that was not evaluated.
pub fn unparseable(doc: &Document, pos: Pos, message: &str) -> Problem {
    let (kind, message) = match template_syntax(doc, pos) {
        Some(what) => (
            ProblemKind::Template,
            format!(
                "not evaluated: {what} that parses only once rendered ({message}); render it and run readygate on the output"
            ),
        ),
        None => (ProblemKind::Unparseable, message.to_string()),
    };
    Problem {
        kind,
        document_kind: Some(doc.kind.name().into()),
        location: Location::at(&doc.path, pos),
        message,
    }
}

/// Why a parse failure at `pos` is a template's: its name says template,
/// or the failing line holds template syntax (`{{ }}`, `{% %}`, `${VAR}`,
/// `{PLACEHOLDER}`).
fn template_syntax(doc: &Document, pos: Pos) -> Option<&'static str> {
    let name = doc.path.rsplit('/').next().unwrap_or(&doc.path);
    if [".template.", ".tmpl", ".tpl", ".j2", ".jinja", ".gotmpl"]
        .iter()
        .any(|m| name.contains(m))
    {
        return Some("a template file");
    }
    let line = doc.text.lines().nth(pos.line.saturating_sub(1) as usize)?;
    // What a template line says shows early; a 300 KB line is not read.
    let mut end = line.len().min(4096);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    let line = &line[..end];
    if line.contains("{{") || line.contains("{%") {
        return Some("template syntax");
    }
    let placeholder = |open: &str| {
        line.match_indices(open).any(|(i, _)| {
            let rest = &line[i + open.len()..];
            let end = rest.find('}').unwrap_or(0);
            end > 0
                && rest[..end]
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
    };
    (placeholder("${") || placeholder("{")).then_some("a `{PLACEHOLDER}` substituted before use")
}

/// A problem with a document's shape (it parsed, but not into what its kind
/// requires), reported like a parse failure.
pub fn malformed(doc: &Document, node: &Node, message: impl Into<String>) -> Problem {
    // It parsed: no template to suspect, and no line to scan (a file can
    // have 100 000 of these; scanning each one's line was quadratic).
    Problem {
        kind: ProblemKind::Unparseable,
        document_kind: Some(doc.kind.name().into()),
        location: Location::at(&doc.path, node.pos),
        message: message.into(),
    }
}

pub fn parent_dir(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, _)) => dir.to_string(),
        None => ".".into(),
    }
}

/// Resolve `rel` (`../x/./y`) against the directory `base` (`.` is the
/// root) into a clean relative path; `None` if it leaves the repository.
pub fn normalize(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = if base == "." {
        Vec::new()
    } else {
        base.split('/').collect()
    };
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    })
}

/// Byte offsets where each line of `text` starts, line 1 first.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// A GitHub Actions workflow's `on`: YAML 1.1 readers turn a bare `on`
/// into `true`; saphyr (YAML 1.2) keeps the string, but accept both.
pub fn workflow_on(workflow: &Node) -> Option<&Node> {
    workflow.get("on").or_else(|| workflow.get("true"))
}

/// GitLab top-level keys that are settings, not jobs.
const GITLAB_RESERVED: &[&str] = &[
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "spec",
];

/// The jobs of a `.gitlab-ci.yml` document: its mappings that are neither
/// settings nor hidden (`.template`) jobs.
pub fn gitlab_jobs(node: &Node) -> impl Iterator<Item = &(yaml::Key, Node)> {
    node.as_map().unwrap_or_default().iter().filter(|(k, v)| {
        !GITLAB_RESERVED.contains(&k.name.as_str()) && !k.name.starts_with('.') && v.is_map()
    })
}

/// Every Kubernetes object in one YAML document, with its `apiVersion` and
/// `kind`: the document itself, or each item of a `*List`. A document
/// without both keys (values, an empty one between `---`) has none.
pub fn kubernetes_objects<'n>(node: &'n Node, f: &mut impl FnMut(&'n Node, String, String)) {
    let (Some(api_version), Some(kind)) = (
        node.scalar_text_at("apiVersion"),
        node.scalar_text_at("kind"),
    ) else {
        return;
    };
    if kind.ends_with("List") {
        for item in node.get("items").and_then(Node::as_seq).unwrap_or_default() {
            kubernetes_objects(item, f);
        }
        return;
    }
    f(node, api_version, kind);
}

/// The scalar items of a YAML list, as text.
pub fn strings(node: Option<&Node>) -> Vec<String> {
    node.and_then(Node::as_seq)
        .map(|items| items.iter().filter_map(Node::scalar_text).collect())
        .unwrap_or_default()
}

/// The start of a file as the sniffs see it. Top-level lines (column 0,
/// not comments) are split once, not once per sniff.
pub struct Head<'a> {
    pub text: &'a str,
    top: Vec<&'a str>,
}

impl<'a> Head<'a> {
    pub fn new(text: &'a str) -> Self {
        // A byte-order mark and CR-only line ends are YAML too.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let top_line = |l: &&'a str| !l.is_empty() && !l.starts_with([' ', '\t', '#']);
        // `lines()` is the fast path; a file with CR-only line ends (no LF
        // at all) is split on CR.
        let top = if text.contains('\n') || !text.contains('\r') {
            text.lines().filter(top_line).collect()
        } else {
            text.split('\r').filter(top_line).collect()
        };
        Self { text, top }
    }

    pub fn top(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.top.iter().copied()
    }

    /// The value of a top-level `key:`, unquoted, in every spelling the
    /// YAML engines accept: `key:`, `"key":`, `'key':`, `key :`, an explicit
    /// `? key` (its value on the next line), and a flow or JSON document's
    /// `{"key": value, ...}`.
    pub fn value(&self, key: &str) -> Option<&'a str> {
        let block = self.top().find_map(|l| {
            let explicit = l.starts_with("? ");
            let mut l = l.strip_prefix("? ").unwrap_or(l);
            // A tag or an anchor on the key: `!!str groups:`, `&a groups:`.
            while l.starts_with(['!', '&']) {
                l = l.split_once(' ').map_or("", |(_, rest)| rest.trim_start());
            }
            let rest = strip_key(l, key)?.trim_start();
            match rest.strip_prefix(':') {
                Some(v) if v.is_empty() || v.starts_with([' ', '\t']) => {
                    Some(v.trim().trim_matches(['"', '\'']))
                }
                // `? key` with its `: value` on the next line.
                None if explicit && rest.is_empty() => Some(""),
                _ => None,
            }
        });
        block.or_else(|| self.flow_value(key))
    }

    /// In a flow or JSON document (`{` first, after comments, `---`, tags
    /// and anchors): the value of `key` in the outermost mapping, up to `,`
    /// `}` or the line's end. One pass over the text: quoted scalars,
    /// comments and nested collections are stepped over, so a key inside a
    /// string or a nested mapping is never taken for a top-level one.
    fn flow_value(&self, key: &str) -> Option<&'a str> {
        let text = self.text;
        let b = text.as_bytes();
        let skip_blank = |mut i: usize| {
            loop {
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                match b.get(i) {
                    Some(b'#') => i = text[i..].find('\n').map_or(b.len(), |n| i + n),
                    Some(b'/') if b.get(i + 1) == Some(&b'/') => {
                        i = text[i..].find('\n').map_or(b.len(), |n| i + n)
                    }
                    _ => return i,
                }
            }
        };
        // Past a document start, tags and anchors to the `{`.
        let mut i = skip_blank(0);
        loop {
            if text[i..].starts_with("---") {
                i = skip_blank(i + 3);
            } else if matches!(b.get(i), Some(b'!' | b'&')) {
                let end = text[i..]
                    .find(char::is_whitespace)
                    .map_or(b.len(), |n| i + n);
                i = skip_blank(end);
            } else {
                break;
            }
        }
        if b.get(i) != Some(&b'{') {
            return None;
        }
        let mut depth = 0usize;
        // At depth 1, where a key may start: after `{` or `,`.
        let mut at_key = false;
        while i < b.len() {
            match b[i] {
                b'{' | b'[' => {
                    depth += 1;
                    at_key = depth == 1;
                    i += 1;
                }
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return None;
                    }
                    i += 1;
                }
                b',' => {
                    at_key = depth == 1;
                    i += 1;
                }
                b'#' if b[i - 1].is_ascii_whitespace() || b[i - 1] == b'{' || b[i - 1] == b',' => {
                    i = text[i..].find('\n').map_or(b.len(), |n| i + n);
                }
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    i = text[i..].find('\n').map_or(b.len(), |n| i + n);
                }
                c if c.is_ascii_whitespace() => i += 1,
                b'"' | b'\'' => {
                    let quote = b[i];
                    let start = i + 1;
                    let mut j = start;
                    while j < b.len() && b[j] != quote {
                        j += if quote == b'"' && b[j] == b'\\' { 2 } else { 1 };
                    }
                    let name = &text[start..j.min(b.len())];
                    i = j + 1;
                    if at_key {
                        at_key = false;
                        if let Some(v) = self.flow_value_after(name, key, i) {
                            return Some(v);
                        }
                    }
                }
                _ if at_key => {
                    // A plain key, perhaps behind `?`, a tag or an anchor.
                    let mut j = i;
                    while matches!(b.get(j), Some(b'?' | b'!' | b'&')) {
                        j = text[j..]
                            .find(char::is_whitespace)
                            .map_or(b.len(), |n| j + n);
                        j = skip_blank(j);
                    }
                    if matches!(b.get(j), Some(b'"' | b'\'')) {
                        i = j; // a quoted key after them: the arm above
                        continue;
                    }
                    let end = text[j..]
                        .find([':', ',', '}', ']', '{', '['])
                        .map_or(b.len(), |n| j + n);
                    let name = text[j..end].trim();
                    at_key = false;
                    if let Some(v) = self.flow_value_after(name, key, end) {
                        return Some(v);
                    }
                    i = end.max(i + 1);
                }
                _ => i += 1,
            }
        }
        None
    }

    /// When `name` is `key` and a `:` follows at `at`: the value after it.
    fn flow_value_after(&self, name: &str, key: &str, at: usize) -> Option<&'a str> {
        if name != key {
            return None;
        }
        let v = self.text[at..].trim_start().strip_prefix(':')?;
        let end = v.find([',', '}', '\n']).unwrap_or(v.len());
        Some(v[..end].trim().trim_matches(['"', '\'']))
    }

    /// Whether `key:` appears anywhere (any depth), in any spelling.
    pub fn mentions_key(&self, key: &str) -> bool {
        mentions_key(self.text, key)
    }

    /// A top-level `apiVersion:` starting with `prefix`.
    pub fn api_version_starts(&self, prefix: &str) -> bool {
        self.top().any(|l| {
            l.strip_prefix("apiVersion:")
                .is_some_and(|v| v.trim().trim_matches(['"', '\'']).starts_with(prefix))
        })
    }
}

/// `text` with the escapes a double-quoted YAML or JSON key may spell a
/// letter with (`"\x67roups"`, `"\u0067roups"`) decoded, so the sniffs see
/// the key the parser will; borrowed when there are none. Only escapes of
/// ASCII letters, digits and `_` are decoded: that is all a key sniff reads.
pub fn with_key_escapes_decoded(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let escape_at = |i: usize| -> Option<(char, usize)> {
        let digits = match bytes.get(i + 1)? {
            b'x' => 2,
            b'u' => 4,
            b'U' => 8,
            _ => return None,
        };
        let hex = text.get(i + 2..i + 2 + digits)?;
        let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
        (c.is_ascii_alphanumeric() || c == '_').then_some((c, 2 + digits))
    };
    if !text
        .match_indices('\\')
        .any(|(i, _)| escape_at(i).is_some())
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    let mut i = 0;
    while let Some(p) = text[i..].find('\\') {
        let at = i + p;
        match escape_at(at) {
            Some((c, len)) => {
                out.push_str(&text[rest..at]);
                out.push(c);
                i = at + len;
                rest = i;
            }
            None => i = at + 1,
        }
    }
    out.push_str(&text[rest..]);
    std::borrow::Cow::Owned(out)
}

/// Whether `key:` appears anywhere in `text` (any depth), bare or quoted,
/// with or without space before the colon: what [`Head::mentions_key`]
/// asks, for a collector that has the text but no head.
pub fn mentions_key(text: &str, key: &str) -> bool {
    text.match_indices(key).any(|(i, _)| {
        let before_ok = text[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let after = text[i + key.len()..]
            .trim_start_matches(['"', '\''])
            .trim_start_matches([' ', '\t']);
        before_ok && after.starts_with(':')
    })
}

/// `line` with `key` (bare or quoted) stripped from its start.
fn strip_key<'l>(line: &'l str, key: &str) -> Option<&'l str> {
    for quote in ['"', '\''] {
        if let Some(rest) = line.strip_prefix(quote) {
            return rest.strip_prefix(key)?.strip_prefix(quote);
        }
    }
    line.strip_prefix(key)
}

/// YAML files anywhere, for kinds decided by their content.
pub const YAML: &[&str] = &["**/*.yaml", "**/*.yml"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_escapes_decode_to_what_the_parser_reads() {
        assert_eq!(with_key_escapes_decoded("\"\\x67roups\":"), "\"groups\":");
        assert_eq!(
            with_key_escapes_decoded("\"\\u0072ules\": \\U00000061"),
            "\"rules\": a"
        );
        // Nothing to decode: borrowed, not copied.
        assert!(matches!(
            with_key_escapes_decoded("a: \"\\n\\x20 \\x\""),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(with_key_escapes_decoded("\\x6"), "\\x6");
    }

    #[test]
    fn comments_before_a_flow_key_are_passed_over() {
        let head = Head::new("{ # generated\n  \"groups\": [] }\n");
        assert_eq!(head.value("groups"), Some("[]"));
        let head = Head::new("{\n  // flags for the demo\n  \"flags\": {}}\n");
        assert_eq!(head.value("flags"), Some("{"));
    }

    #[test]
    fn flow_keys_count_only_at_the_top_level() {
        // A key spelled inside a string or a nested map is not the document's.
        let head = Head::new(
            "{\"groups\":[{\"rules\":[{\"annotations\":{\"summary\":\"down,apiVersion: v1\"}}]}]}",
        );
        assert_eq!(head.value("apiVersion"), None);
        assert!(head.value("groups").is_some());
        let nested = Head::new("{spec: {apiVersion: v1}, kind: X}");
        assert_eq!(nested.value("apiVersion"), None);
        assert_eq!(nested.value("kind"), Some("X"));
        // Tags, anchors and explicit keys, before the mapping or its keys.
        assert!(Head::new("!!map {groups: []}").value("groups").is_some());
        assert!(
            Head::new("--- &x {? groups : []}")
                .value("groups")
                .is_some()
        );
        assert!(
            Head::new("{!!str groups: [], &k x: 1}")
                .value("groups")
                .is_some()
        );
        assert!(Head::new("{#x\n groups: []}").value("groups").is_some());
    }

    #[test]
    fn the_flow_sniff_is_linear() {
        // Every `groups` a candidate once: 2 MiB used to take minutes.
        // (The quadratic version took minutes on these; a regression shows
        // as a test run that does not end.)
        let text = format!("{{{}}}", "groups ".repeat(300_000));
        assert_eq!(Head::new(&text).value("groups"), None);
        let comments = format!("{{\n{}}}", "#groups\n".repeat(250_000));
        assert_eq!(Head::new(&comments).value("groups"), None);
    }
}
