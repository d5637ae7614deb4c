//! The structure the architecture promises: no evidence area refers to
//! another area (nor to the registry above it), and the top-level modules
//! form no cycle. Read from the source, so a stray `use` fails the build's
//! tests, not a review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src/`: `area/alerts/probe.rs` →
/// [area, alerts, probe]; `mod.rs` names its directory.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

/// Every module path a file refers to: `crate::a::b`, `super::…::x`
/// resolved against the file's own path, and each member of a group
/// (`crate::{a::b, c}`, across lines) by its first name. Comments are
/// skipped.
fn references(text: &str, own: &[String]) -> Vec<Vec<String>> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ");
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let word_start = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if !(word_start && (rest.starts_with("crate::") || rest.starts_with("super::"))) {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let mut base: Vec<String> = Vec::new();
        if segments.first() == Some(&"crate") {
            segments.remove(0);
        } else {
            // `super` from a file's module: mod.rs files are their directory.
            base = own.to_vec();
            while segments.first() == Some(&"super") {
                segments.remove(0);
                base.pop();
            }
        }
        base.extend(segments.iter().map(|s| s.to_string()));
        i += path.len();
        if !code[i..].starts_with('{') {
            found.push(base);
            continue;
        }
        // A group: each top-level member is a path under `base`.
        let mut depth = 0;
        let mut member = String::new();
        for c in code[i..].chars() {
            i += c.len_utf8();
            match c {
                '{' => {
                    depth += 1;
                    if depth == 1 {
                        continue;
                    }
                }
                '}' => depth -= 1,
                _ => {}
            }
            if depth == 0 || (depth == 1 && c == ',') {
                let name: String = member
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                match name.as_str() {
                    "" => {}
                    "self" => found.push(base.clone()),
                    _ => {
                        let mut path = base.clone();
                        path.push(name);
                        found.push(path);
                    }
                }
                member.clear();
                if depth == 0 {
                    break;
                }
                continue;
            }
            member.push(c);
        }
    }
    found
}

#[test]
fn areas_never_refer_to_each_other_and_top_level_modules_have_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let areas: BTreeSet<String> = std::fs::read_dir(src.join("area"))
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            p.is_dir()
                .then(|| p.file_name().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    assert!(areas.len() >= 4, "areas: {areas:?}");

    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut violations = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let own = module_path(rel);
        if own.is_empty() {
            continue; // lib.rs and main.rs declare the modules
        }
        let text = std::fs::read_to_string(file).unwrap();
        for reference in references(&text, &own) {
            let Some(top) = reference.first() else {
                continue;
            };
            if top != &own[0] {
                graph.entry(own[0].clone()).or_default().insert(top.clone());
            }
            // Inside an area: anything under `area` must be this area.
            if own[0] == "area" && own.len() > 1 && areas.contains(&own[1]) && top == "area" {
                match reference.get(1) {
                    Some(name) if *name == own[1] => {}
                    other => violations.push(format!(
                        "{}: refers to area::{}",
                        rel.display(),
                        other.map(String::as_str).unwrap_or("")
                    )),
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "areas reach outside themselves:\n{}",
        violations.join("\n")
    );

    // No cycle among top-level modules (depth-first search).
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("top-level modules form a cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_reader_resolves_super_and_crate_paths() {
    let own = vec![
        "area".to_string(),
        "alerts".to_string(),
        "probe".to_string(),
    ];
    let refs = references(
        "use super::pages::Page; // crate::ignored\nuse crate::probe::{Net};\nsuper::super::iac::X;\nuse crate::{\n    area::iac::Y,\n    check::{self, Z},\n};",
        &own,
    );
    assert_eq!(refs[0], ["area", "alerts", "pages", "Page"]);
    assert_eq!(refs[1], ["probe", "Net"]);
    assert_eq!(refs[2], ["area", "iac", "X"]);
    assert_eq!(refs[3], ["area"]);
    assert_eq!(refs[4], ["check"]);
    assert_eq!(refs.len(), 5);
}
