//! YAML (and JSON, which is YAML 1.2 flow syntax) loaded into a small tree in
//! which every node and every mapping key knows its line and column.
//!
//! Why saphyr: findings must point at the offending key, so the parser has to
//! keep positions on every node (serde_yaml's successors such as `yaml_serde`
//! only report positions in errors), and it must bound alias expansion so a
//! "billion laughs" document cannot exhaust memory. saphyr's parser gives a
//! span with every event; we build [`Node`] from those events directly,
//! counting alias-produced nodes against a budget and rejecting duplicate
//! keys, so collectors and the policy loader navigate plain Rust data.

use std::collections::{HashMap, HashSet};

use saphyr::Scalar;
use saphyr_parser::{Event, Span, SpannedEventReceiver, Tag};
use serde_json::Value as Json;

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
    /// A node with an application tag such as CloudFormation's `!Ref`.
    Tagged(String, Box<Node>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

/// Why a document could not be loaded, with where.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub pos: Pos,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.pos.line, self.pos.column, self.message)
    }
}

/// Most nodes alias expansion may produce in one text: bounds a "billion
/// laughs" document to a few megabytes instead of gigabytes.
const ALIAS_NODE_BUDGET: usize = 100_000;

/// Most text (keys and strings) alias expansion may copy in one text: four
/// times the text, or 128 KiB for a short one. One anchored string of a megabyte
/// aliased a thousand times is few nodes and a gigabyte; bounded by the
/// text's own length, a repository of many such files costs what its text
/// does. Real anchors (CI defaults, Helm values, compose `x-` blocks) copy
/// a few lines each.
const ALIAS_BYTES_FLOOR: usize = 128 << 10;

/// Most nodes one text may hold: the largest real documents (a CRD with
/// its schema, a rule file of a thousand alerts) stay under a tenth of it;
/// past it the text is a problem, not a tree that grows with the input.
pub const MAX_NODES: usize = 400_000;

/// Mappings up to this size check duplicate keys by scanning.
const LINEAR_KEY_SCAN: usize = 16;

/// Deepest nesting of sequences and mappings accepted. Real documents stay
/// far below (a Kubernetes CRD with its OpenAPI schema nests about 30
/// levels); the limit keeps every recursive walk over a tree shallow.
pub const MAX_DEPTH: usize = 128;

/// Longest text kept for a key that is itself a collection (`? [a, b]`):
/// nested complex keys must not make key text grow faster than the input.
const MAX_COMPLEX_KEY: usize = 200;

/// Parse every document of a (possibly multi-document) YAML or JSON text.
///
/// What Go's YAML library (Prometheus, Kubernetes) accepts is accepted: a
/// quoted scalar whose continuation lines sit at its key's indentation is
/// an error to a strict YAML 1.2 parser, so on that error the continuation
/// lines are indented one more space and the text parsed again (lines keep
/// their numbers).
pub fn parse_documents(text: &str) -> Result<Vec<Node>, ParseError> {
    match parse_strict(text) {
        Err(err) if err.message.contains("indentation in quoted scalar") => {
            match reindent_quoted_continuations(text) {
                Some(fixed) => parse_strict(&fixed).map_err(|_| err),
                None => Err(err),
            }
        }
        other => other,
    }
}

/// `text` with every continuation line of a multi-line quoted scalar
/// indented past the line that opened it; `None` when nothing changes.
fn reindent_quoted_continuations(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut open: Option<(char, usize)> = None; // quote, column to indent past
    let mut changed = false;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let scan_from = match open {
            Some((_, key_indent)) => {
                if indent <= key_indent && !line.trim().is_empty() {
                    out.extend(std::iter::repeat_n(' ', key_indent + 1 - indent));
                    changed = true;
                }
                0
            }
            None => match quoted_value_start(line) {
                Some((quote, at, column)) => {
                    open = Some((quote, column));
                    at + 1
                }
                None => {
                    out.push_str(line);
                    continue;
                }
            },
        };
        if let Some((quote, _)) = open
            && closes(&line[scan_from..], quote)
        {
            open = None;
        }
        out.push_str(line);
    }
    changed.then_some(out)
}

/// Where a block line's value opens a quoted scalar (`key: '...`,
/// `- "...`, `- key: '...`): the quote, its byte offset, and the column its
/// continuation lines must be indented past (the key's, or the dash's).
fn quoted_value_start(line: &str) -> Option<(char, usize, usize)> {
    let mut column = line.len() - line.trim_start_matches(' ').len();
    let mut body = &line[column..];
    while let Some(rest) = body.strip_prefix("- ") {
        let skipped = body.len() - rest.trim_start().len();
        if rest.trim_start().starts_with(['\'', '"']) {
            let at = column + skipped;
            return Some((line[at..].chars().next()?, at, column));
        }
        column += skipped;
        body = rest.trim_start();
    }
    let colon = body.find(": ")?;
    let rest = &body[colon + 2..];
    let at = column + colon + 2 + (rest.len() - rest.trim_start().len());
    let quote = line[at..].chars().next()?;
    matches!(quote, '\'' | '"').then_some((quote, at, column))
}

/// Whether `rest` (after the opening quote) holds the closing one.
fn closes(rest: &str, quote: char) -> bool {
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            ('"', '\\') => {
                chars.next();
            }
            ('\'', '\'') if chars.peek() == Some(&'\'') => {
                chars.next();
            }
            (q, c) if q == c => return true,
            _ => {}
        }
    }
    false
}

fn parse_strict(text: &str) -> Result<Vec<Node>, ParseError> {
    // Build our tree straight from parser events: going through saphyr's
    // own tree and converting it cost a third of the parse time. Events are
    // pulled one by one (saphyr's `load` recurses once per nesting level,
    // which a hostile file turns into a stack overflow) and the first error
    // stops the parse.
    let mut parser = saphyr_parser::Parser::new_from_str(text);
    let mut builder = Builder {
        alias_byte_budget: ALIAS_BYTES_FLOOR.max(text.len().saturating_mul(4)),
        ..Builder::default()
    };
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| ParseError {
            pos: pos_of(e.marker()),
            message: e.info().to_string(),
        })?;
        if matches!(event, Event::DocumentStart(_)) {
            builder.anchors.clear(); // anchors are per document
        }
        builder.on_event(event, span);
        if let Some(err) = builder.error.take() {
            return Err(err);
        }
    }
    Ok(builder.docs)
}

/// Parse a text that must hold exactly one document (empty counts as null).
pub fn parse_single(text: &str) -> Result<Node, ParseError> {
    let mut docs = parse_documents(text)?;
    match docs.len() {
        0 => Ok(Node {
            pos: Pos { line: 1, column: 1 },
            value: Value::Null,
        }),
        1 => Ok(docs.remove(0)),
        _ => Err(ParseError {
            pos: docs[1].pos,
            message: "expected a single YAML document, found several".into(),
        }),
    }
}

fn pos_of(m: &saphyr_parser::Marker) -> Pos {
    Pos {
        line: m.line() as u32,
        column: m.col() as u32 + 1,
    }
}

/// An open collection while events arrive.
struct Frame {
    pos: Pos,
    anchor: usize,
    tag: Option<String>,
    kind: FrameKind,
}

enum FrameKind {
    Seq(Vec<Node>),
    Map {
        entries: Vec<(Key, Node)>,
        /// Key names, once the mapping is too big for a linear duplicate scan.
        index: Option<HashSet<String>>,
        key: Option<Key>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    docs: Vec<Node>,
    anchors: HashMap<usize, Node>,
    alias_nodes: usize,
    alias_bytes: usize,
    /// [`ALIAS_BYTES_FLOOR`] or four times the text.
    alias_byte_budget: usize,
    nodes: usize,
    error: Option<ParseError>,
}

/// Application tags (`!Ref`) are kept; core-schema tags (`!!str`) are not data.
fn application_tag(tag: Option<&Tag>) -> Option<String> {
    tag.filter(|t| !t.is_yaml_core_schema())
        .map(|t| format!("{}{}", t.handle, t.suffix))
}

fn wrap(tag: Option<String>, node: Node) -> Node {
    match tag {
        Some(tag) => Node {
            pos: node.pos,
            value: Value::Tagged(tag, Box::new(node)),
        },
        None => node,
    }
}

/// What copying `node` costs: its nodes, and the bytes of its keys,
/// strings and tags.
fn expansion(node: &Node) -> (usize, usize) {
    let add = |(n, b): (usize, usize), (n2, b2): (usize, usize)| (n + n2, b + b2);
    let inner = match &node.value {
        Value::Seq(items) => items.iter().map(expansion).fold((0, 0), add),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| add((1, k.name.len()), expansion(v)))
            .fold((0, 0), add),
        Value::Tagged(tag, inner) => add((0, tag.len()), expansion(inner)),
        Value::Str(text) => (0, text.len()),
        _ => (0, 0),
    };
    add((1, 0), inner)
}

/// YAML merge keys (`<<: *defaults`, `<<: [*a, *b]`, YAML 1.1, which Go's
/// YAML library and so Kubernetes, Prometheus, Helm and GitLab CI honour),
/// applied once when the text is read, so a lookup and a walk over a map
/// see the same entries: the merged maps' entries follow the map's own,
/// and a key the map (or an earlier merged map) already has wins. A `<<`
/// that brings in no map stays a plain key.
fn merge_keys(entries: Vec<(Key, Node)>) -> Vec<(Key, Node)> {
    if !entries.iter().any(|(k, _)| k.name == "<<") {
        return entries;
    }
    let brings_maps = |n: &Node| match &n.untagged().value {
        Value::Map(_) => true,
        Value::Seq(items) => items.iter().any(|i| i.untagged().as_map().is_some()),
        _ => false,
    };
    let mut own = Vec::with_capacity(entries.len());
    let mut merged = Vec::new();
    for (key, node) in entries {
        if key.name != "<<" || !brings_maps(&node) {
            own.push((key, node));
            continue;
        }
        match into_map(node) {
            Ok(map) => merged.push(map),
            Err(Value::Seq(items)) => {
                merged.extend(items.into_iter().filter_map(|i| into_map(i).ok()))
            }
            Err(_) => {}
        }
    }
    let mut names: std::collections::HashSet<String> =
        own.iter().map(|(k, _)| k.name.clone()).collect();
    for (key, node) in merged.into_iter().flatten() {
        if names.insert(key.name.clone()) {
            own.push((key, node));
        }
    }
    own
}

/// A node's mapping entries, its tags stripped; else its untagged value.
fn into_map(node: Node) -> Result<Vec<(Key, Node)>, Value> {
    match node.value {
        Value::Map(entries) => Ok(entries),
        Value::Tagged(_, inner) => into_map(*inner),
        other => Err(other),
    }
}

impl Builder {
    fn fail(&mut self, pos: Pos, message: &str) {
        self.error.get_or_insert(ParseError {
            pos,
            message: message.into(),
        });
    }

    fn insert(&mut self, node: Node, anchor: usize) {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            self.fail(
                node.pos,
                &format!("more than {MAX_NODES} YAML nodes; not read (split the file)"),
            );
            return;
        }
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let Some(frame) = self.stack.last_mut() else {
            self.docs.push(node);
            return;
        };
        match &mut frame.kind {
            FrameKind::Seq(items) => items.push(node),
            FrameKind::Map {
                entries,
                index,
                key,
            } => match key.take() {
                None => {
                    let name = key_text(&node);
                    // Most mappings are small: scanning beats hashing them.
                    if entries.len() >= LINEAR_KEY_SCAN && index.is_none() {
                        *index = Some(entries.iter().map(|(k, _)| k.name.clone()).collect());
                    }
                    let duplicate = match index {
                        Some(index) => !index.insert(name.clone()),
                        None => entries.iter().any(|(k, _)| k.name == name),
                    };
                    if duplicate {
                        let first = entries
                            .iter()
                            .find(|(k, _)| k.name == name)
                            .map_or(0, |(k, _)| k.pos.line);
                        self.fail(
                            node.pos,
                            &format!("duplicate key `{name}` (first at line {first}); keep one"),
                        );
                        return;
                    }
                    *key = Some(Key {
                        name,
                        pos: node.pos,
                    });
                }
                Some(k) => entries.push((k, node)),
            },
        }
    }
}

impl<'input> SpannedEventReceiver<'input> for Builder {
    fn on_event(&mut self, event: Event<'input>, span: Span) {
        if self.error.is_some() {
            return;
        }
        let pos = pos_of(&span.start);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let value =
                    match Scalar::parse_from_cow_and_metadata(text.clone(), style, tag.as_ref()) {
                        Some(s) => scalar(&s),
                        // A core tag the text does not fit (`!!int abc`): keep the text.
                        None => Value::Str(text.into_owned()),
                    };
                let node = wrap(application_tag(tag.as_deref()), Node { pos, value });
                self.insert(node, anchor);
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.fail(
                    pos,
                    &format!("nested deeper than {MAX_DEPTH} levels; not read"),
                );
            }
            Event::SequenceStart(anchor, tag) => self.stack.push(Frame {
                pos,
                anchor,
                tag: application_tag(tag.as_deref()),
                kind: FrameKind::Seq(Vec::new()),
            }),
            Event::MappingStart(anchor, tag) => self.stack.push(Frame {
                pos,
                anchor,
                tag: application_tag(tag.as_deref()),
                kind: FrameKind::Map {
                    entries: Vec::new(),
                    index: None,
                    key: None,
                },
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return;
                };
                let value = match frame.kind {
                    FrameKind::Seq(items) => Value::Seq(items),
                    FrameKind::Map { entries, .. } => Value::Map(merge_keys(entries)),
                };
                let node = wrap(
                    frame.tag,
                    Node {
                        pos: frame.pos,
                        value,
                    },
                );
                self.insert(node, frame.anchor);
            }
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id).cloned() else {
                    self.fail(pos, "alias to an unknown anchor");
                    return;
                };
                let (nodes, bytes) = expansion(&node);
                self.alias_nodes += nodes;
                self.alias_bytes += bytes;
                if self.alias_nodes > ALIAS_NODE_BUDGET || self.alias_bytes > self.alias_byte_budget
                {
                    self.fail(pos, "alias expansion exceeded its budget of nodes or bytes (possible billion-laughs attack)");
                    return;
                }
                self.insert(Node { pos, ..node }, 0);
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd => {}
        }
    }
}

fn scalar(s: &Scalar<'_>) -> Value {
    match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Int(*i),
        Scalar::FloatingPoint(f) => Value::Float(f.into_inner()),
        Scalar::String(s) => Value::Str(s.to_string()),
    }
}

fn key_text(k: &Node) -> String {
    match &k.untagged().value {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        // A collection as a key: compact JSON, cut short, so nesting such
        // keys cannot make the text grow faster than the input.
        _ => {
            let mut text = k.to_json().to_string();
            if text.len() > MAX_COMPLEX_KEY {
                let mut end = MAX_COMPLEX_KEY;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.truncate(end);
                text.push('…');
            }
            text
        }
    }
}

impl Node {
    /// The value under `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key and value under `key` when this node is a mapping (merge
    /// keys were applied when the text was read: [`merge_keys`]).
    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        let Value::Map(entries) = &self.untagged().value else {
            return None;
        };
        entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, v)| (k, v))
    }

    /// Follow a path of mapping keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    /// Strip application tags (`!Sub "x"` reads as `"x"`).
    pub fn untagged(&self) -> &Node {
        match &self.value {
            Value::Tagged(_, inner) => inner.untagged(),
            _ => self,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.untagged().value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar rendered as text (numbers and booleans included).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.untagged().value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.untagged().value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.untagged().value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn is_map(&self) -> bool {
        self.as_map().is_some()
    }

    /// The string under `key`, if it is one.
    pub fn str_at(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::as_str)
    }

    /// The scalar under `key` rendered as text.
    pub fn scalar_text_at(&self, key: &str) -> Option<String> {
        self.get(key).and_then(Node::scalar_text)
    }

    /// Convert to JSON for schema validation and expressions. Application
    /// tags become `{"!Tag": value}` so no information is lost.
    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            Value::Str(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
            Value::Tagged(tag, inner) => {
                let mut map = serde_json::Map::new();
                map.insert(tag.clone(), inner.to_json());
                Json::Object(map)
            }
        }
    }

    /// The position a JSON pointer (`/rules/3/level`) designates: the key for
    /// a mapping member, the item for a sequence element. Falls back to the
    /// deepest node reached, so an error always has a useful line.
    pub fn pointer_pos(&self, pointer: &str) -> Pos {
        let mut node = self;
        let mut pos = self.pos;
        for raw in pointer.split('/').skip(1) {
            let part = raw.replace("~1", "/").replace("~0", "~");
            let next = match &node.untagged().value {
                Value::Map(entries) => entries
                    .iter()
                    .find(|(k, _)| k.name == part)
                    .map(|(k, v)| (k.pos, v)),
                Value::Seq(items) => part
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(|v| (v.pos, v)),
                _ => None,
            };
            match next {
                Some((p, v)) => {
                    pos = p;
                    node = v;
                }
                None => break,
            }
        }
        pos
    }
}

/// Render JSON as a YAML document (for `readygate evidence --format yaml`).
pub fn emit(json: &Json) -> String {
    fn to_yaml(json: &Json) -> saphyr::Yaml<'static> {
        use saphyr::Yaml;
        match json {
            Json::Null => Yaml::Value(Scalar::Null),
            Json::Bool(b) => Yaml::Value(Scalar::Boolean(*b)),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Yaml::Value(Scalar::Integer(i)),
                None => Yaml::Value(Scalar::FloatingPoint(n.as_f64().unwrap_or_default().into())),
            },
            Json::String(s) => Yaml::Value(Scalar::String(s.clone().into())),
            Json::Array(items) => Yaml::Sequence(items.iter().map(to_yaml).collect()),
            Json::Object(map) => Yaml::Mapping(
                map.iter()
                    .map(|(k, v)| (Yaml::Value(Scalar::String(k.clone().into())), to_yaml(v)))
                    .collect(),
            ),
        }
    }
    let mut out = String::new();
    let mut emitter = saphyr::YamlEmitter::new(&mut out);
    emitter
        .dump(&to_yaml(json))
        .expect("writing to a String cannot fail");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_carry_lines() {
        let doc = parse_single("a: 1\nb:\n  c: [x, y]\n").unwrap();
        let (key, value) = doc.entry("b").unwrap();
        assert_eq!(key.pos, Pos { line: 2, column: 1 });
        assert_eq!(value.get("c").unwrap().as_seq().unwrap().len(), 2);
        assert_eq!(doc.pointer_pos("/b/c/1").line, 3);
    }

    #[test]
    fn multi_document_and_json() {
        let docs = parse_documents("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].pos.line, 3);
        let json = parse_single("{\n  \"x\": {\"y\": [1, 2]}\n}").unwrap();
        assert_eq!(json.pointer_pos("/x/y").line, 2);
    }

    #[test]
    fn application_tags_are_kept() {
        let doc = parse_single("Value: !Ref Bucket\nOther: !!str 12\n").unwrap();
        assert_eq!(doc.get("Value").unwrap().as_str(), Some("Bucket"));
        assert!(matches!(doc.get("Value").unwrap().value, Value::Tagged(ref t, _) if t == "!Ref"));
        assert_eq!(doc.get("Other").unwrap().as_str(), Some("12"));
    }

    #[test]
    fn duplicate_keys_in_big_mappings_are_found() {
        let mut text: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
        text.push_str("k3: again\n");
        assert_eq!(parse_single(&text).unwrap_err().pos.line, 41);
    }

    #[test]
    fn quoted_continuations_at_the_key_indentation_read_as_go_reads_them() {
        let text = "groups:\n- name: x\n  rules:\n  - alert: A\n    annotations:\n      description: 'The API is\n      down, it''s bad'\n      summary: \"two\n      \\\"lines\\\"\"\n    expr: up\n";
        let doc = parse_single(text).unwrap();
        let rule = &doc.path(&["groups"]).unwrap().as_seq().unwrap()[0]
            .get("rules")
            .unwrap()
            .as_seq()
            .unwrap()[0];
        let ann = rule.get("annotations").unwrap();
        assert_eq!(ann.str_at("description"), Some("The API is down, it's bad"));
        assert_eq!(ann.str_at("summary"), Some("two \"lines\""));
        // Lines keep their numbers.
        assert_eq!(rule.entry("expr").unwrap().0.pos.line, 10);
        // A CRD description in a sequence item, same shape.
        let crd = "- description: 'A field\n  that wraps'\n  type: string\n";
        assert_eq!(
            parse_single(crd).unwrap().as_seq().unwrap()[0].str_at("description"),
            Some("A field that wraps")
        );
        // Other errors stay errors.
        assert!(parse_single("a: 'open\nb: 1\n").is_err());
    }

    #[test]
    fn duplicate_keys_and_tabs_are_errors_with_lines() {
        let err = parse_single("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.pos.line, 3);
        let err = parse_single("a:\n\tb: 1\n").unwrap_err();
        assert_eq!(err.pos.line, 2);
    }

    #[test]
    fn emitted_yaml_reads_back() {
        let json =
            serde_json::json!({"a": [1, "two: x", null], "b": {"c": true, "d": "multi\nline"}});
        assert_eq!(parse_single(&emit(&json)).unwrap().to_json(), json);
    }

    #[test]
    fn alias_bomb_is_rejected() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 9].join(", ")));
        }
        let err = parse_documents(&text).unwrap_err();
        assert!(err.message.contains("alias"), "{}", err.message);
        // Few nodes, many bytes: one long string aliased over and over.
        let mut text = format!("big: &a \"{}\"\ncopies:\n", "x".repeat(100_000));
        for _ in 0..100 {
            text.push_str("  - *a\n");
        }
        let err = parse_documents(&text).unwrap_err();
        assert!(err.message.contains("alias"), "{}", err.message);
        // A merge of defaults, as Helm values and compose files write it.
        let fine = "defaults: &d {image: app, replicas: 2}\nprod:\n  <<: *d\n  replicas: 3\n";
        assert!(parse_documents(fine).is_ok());
        // Merge keys apply, the map's own keys first and winning.
        let merged = parse_single(
            "a: &a {x: 1, y: 2}\nb: &b {z: 3}\nc:\n  <<: [*a, *b]\n  y: 9\nd: {<<: 5}\n",
        )
        .unwrap()
        .to_json();
        assert_eq!(merged["c"], serde_json::json!({"y": 9, "x": 1, "z": 3}));
        assert_eq!(merged["d"], serde_json::json!({"<<": 5}));
        // Lookups see the same entries; a list's maps merge, the rest not.
        let node = parse_single("a: &a {x: 1}\ne: {<<: [*a, 3], w: 2}\n").unwrap();
        assert_eq!(
            node.path(&["e", "x"]).map(|n| n.to_json()),
            Some(serde_json::json!(1))
        );
        assert_eq!(node.to_json()["e"], serde_json::json!({"w": 2, "x": 1}));
        // A CI file of 150 jobs sharing an 800-byte block of defaults.
        let mut ci = format!(".defaults: &defaults\n  script: \"{}\"\n", "x".repeat(800));
        for i in 0..150 {
            ci.push_str(&format!(
                "job{i}:\n  <<: *defaults\n  stage: test\n  variables: {{N: '{i}'}}\n"
            ));
        }
        assert!(parse_documents(&ci).is_ok());
        // Many large files each copying past four times their text: each is
        // refused, so a repository of them costs what its text does.
        let mut big = format!("big: &a \"{}\"\ncopies:\n", "x".repeat(900_000));
        for _ in 0..5 {
            big.push_str("  - *a\n");
        }
        assert!(parse_documents(&big).is_err());
    }
}
