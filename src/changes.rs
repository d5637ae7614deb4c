//! Diff-aware annotation (`--annotate changed`): the lines a change touches,
//! from a pull request's file patches or a local `git diff`, and which
//! findings sit on them. Findings elsewhere are summarised, not annotated.

use std::collections::BTreeMap;

use crate::findings::{ChangeScope, Report};

/// Added or modified lines per file (paths relative to the scanned root).
#[derive(Debug, Clone, Default)]
pub struct ChangedLines {
    /// Where they came from, for the report: `pull request #12`.
    pub source: String,
    files: BTreeMap<String, Lines>,
}

#[derive(Debug, Clone, PartialEq)]
enum Lines {
    /// No patch to read (binary, or too large for GitHub to send): the
    /// whole file counts as changed.
    All,
    /// Inclusive ranges of line numbers in the new file.
    Ranges(Vec<(u32, u32)>),
}

impl ChangedLines {
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            files: BTreeMap::new(),
        }
    }

    /// A file's change: its unified-diff hunks, or `None` when there is no
    /// patch although lines changed.
    pub fn add_file(&mut self, path: &str, patch: Option<&str>) {
        let lines = match patch {
            Some(p) => Lines::Ranges(added_lines(p)),
            None => Lines::All,
        };
        self.files.insert(path.to_string(), lines);
    }

    /// A file renamed or mode-changed with no line touched.
    pub fn add_untouched(&mut self, path: &str) {
        self.files
            .insert(path.to_string(), Lines::Ranges(Vec::new()));
    }

    /// The files of `git diff` output (`diff --git` sections).
    pub fn from_git_diff(source: impl Into<String>, text: &str) -> Self {
        let mut out = Self::new(source);
        for section in text
            .split("\ndiff --git ")
            .map(|s| s.trim_start_matches("diff --git "))
        {
            // The header runs to the first hunk.
            let hunks_at = if section.starts_with("@@") {
                Some(0)
            } else {
                section.find("\n@@").map(|i| i + 1)
            };
            let header = &section[..hunks_at.unwrap_or(section.len())];
            let (mut path, mut binary) = (None, false);
            for line in header.lines() {
                if let Some(p) = line.strip_prefix("+++ ") {
                    path = git_path(p);
                } else if let Some(p) = line.strip_prefix("rename to ") {
                    path = Some(unquoted(p));
                } else if let Some(pair) = line
                    .strip_prefix("Binary files ")
                    .and_then(|l| l.strip_suffix(" differ"))
                {
                    path = pair.rsplit_once(" and ").and_then(|(_, new)| git_path(new));
                    binary = true;
                }
            }
            let Some(path) = path else { continue };
            match hunks_at {
                Some(at) => out.add_file(&path, Some(&section[at..])),
                // No hunks to read.
                None if binary => out.add_file(&path, None),
                // Renamed, or only the mode changed.
                None => out.add_untouched(&path),
            }
        }
        out
    }

    /// Only the files under `prefix/`, with the prefix taken off: a pull
    /// request's paths are relative to the repository, findings' to the
    /// scanned root.
    pub fn under(self, prefix: &str) -> Self {
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() {
            return self;
        }
        let files = self
            .files
            .into_iter()
            .filter_map(|(path, lines)| {
                let rest = path.strip_prefix(prefix)?.strip_prefix('/')?;
                Some((rest.to_string(), lines))
            })
            .collect();
        Self { files, ..self }
    }

    pub fn files(&self) -> usize {
        self.files.len()
    }

    /// Whether `line` of `path` is changed. Line 0 (a finding about the
    /// whole file) counts when the file has any change.
    pub fn touches(&self, path: &str, line: u32) -> bool {
        match self.files.get(path) {
            None => false,
            Some(Lines::All) => true,
            Some(Lines::Ranges(r)) if line == 0 => !r.is_empty(),
            Some(Lines::Ranges(r)) => r.iter().any(|&(a, b)| (a..=b).contains(&line)),
        }
    }

    /// Mark each finding needing attention as on a changed line or not,
    /// and record the scope in the report.
    pub fn mark(&self, report: &mut Report) {
        let (mut on, mut elsewhere) = (0, 0);
        for f in report.findings.iter_mut().filter(|f| f.needs_attention()) {
            let mut touched = f
                .location
                .as_ref()
                .is_some_and(|l| self.touches(&l.path, l.line));
            // A finding whose related place was changed (the runbook link
            // of an alert) is annotated there, with its own place related.
            if !touched
                && let Some(i) = f.related.iter().position(|l| self.touches(&l.path, l.line))
            {
                let changed = f.related.remove(i);
                if let Some(primary) = f.location.replace(changed) {
                    f.related.insert(0, primary);
                }
                touched = true;
            }
            if touched {
                on += 1;
            } else {
                elsewhere += 1;
            }
            f.on_changed_line = Some(touched);
        }
        report.changes = Some(ChangeScope {
            source: self.source.clone(),
            files: self.files.len() as u32,
            on_changed_lines: on,
            elsewhere,
        });
    }
}

/// The new path from a `+++ b/PATH` header; `None` for a deleted file.
/// Git quotes unusual names C-style.
fn git_path(header: &str) -> Option<String> {
    let header = header.trim_end_matches(['\t', '\r']);
    if header == "/dev/null" {
        return None;
    }
    unquoted(header).strip_prefix("b/").map(str::to_string)
}

/// A name as git prints it, quoted C-style when unusual.
fn unquoted(name: &str) -> String {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(inner) => unquote(inner),
        None => name.to_string(),
    }
}

/// Git's C-style quoting: `\"`, `\\`, `\t`, `\n` and octal bytes.
fn unquote(text: &str) -> String {
    let mut bytes = Vec::with_capacity(text.len());
    let mut it = text.bytes().peekable();
    while let Some(b) = it.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match it.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(d @ b'0'..=b'7') => {
                let mut v = u32::from(d - b'0');
                for _ in 0..2 {
                    if let Some(&n @ b'0'..=b'7') = it.peek() {
                        v = v * 8 + u32::from(n - b'0');
                        it.next();
                    }
                }
                bytes.push(v as u8);
            }
            Some(other) => bytes.push(other),
            None => bytes.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Line numbers (in the new file) of the added lines in unified-diff
/// hunks, as inclusive ranges. Hunk headers give the line counts, so a
/// body line is never mistaken for a header.
fn added_lines(patch: &str) -> Vec<(u32, u32)> {
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    let mut lines = patch.lines();
    while let Some(line) = lines.next() {
        let Some((mut new_line, old_count, new_count)) = hunk_header(line) else {
            continue;
        };
        let (mut old_left, mut new_left) = (old_count, new_count);
        while old_left > 0 || new_left > 0 {
            let Some(body) = lines.next() else { break };
            match body.as_bytes().first() {
                Some(b'+') => {
                    match ranges.last_mut() {
                        Some((_, end)) if *end + 1 == new_line => *end = new_line,
                        _ => ranges.push((new_line, new_line)),
                    }
                    new_line += 1;
                    new_left = new_left.saturating_sub(1);
                }
                Some(b'-') => old_left = old_left.saturating_sub(1),
                // "\ No newline at end of file" belongs to the line before.
                Some(b'\\') => {}
                // Context; some tools strip the space of an empty line.
                _ => {
                    new_line += 1;
                    old_left = old_left.saturating_sub(1);
                    new_left = new_left.saturating_sub(1);
                }
            }
        }
    }
    ranges
}

/// `@@ -a[,b] +c[,d] @@` → (c, b, d); a count defaults to 1.
fn hunk_header(line: &str) -> Option<(u32, u32, u32)> {
    let rest = line.strip_prefix("@@ -")?;
    let (old, rest) = rest.split_once(" +")?;
    let (new, _) = rest.split_once(" @@")?;
    let range = |r: &str| -> Option<(u32, u32)> {
        match r.split_once(',') {
            Some((start, count)) => Some((start.parse().ok()?, count.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    let (_, old_count) = range(old)?;
    let (start, new_count) = range(new)?;
    Some((start, old_count, new_count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lines_follow_the_hunk_counts() {
        // A body line that looks like a header is still a body line.
        let patch = "@@ -1,3 +1,4 @@\n a\n-b\n+B\n++++ not a header\n c\n@@ -10 +11,2 @@\n+x\n y\n\\ No newline at end of file\n";
        assert_eq!(added_lines(patch), vec![(2, 3), (11, 11)]);
        assert_eq!(hunk_header("@@ -0,0 +1 @@"), Some((1, 0, 1)));
        assert_eq!(added_lines("@@ -0,0 +1,3 @@\n+a\n+b\n+c"), vec![(1, 3)]);
    }

    #[test]
    fn git_diff_sections_give_new_paths() {
        let text = "diff --git a/x.yml b/x.yml\nindex 1..2 100644\n--- a/x.yml\n+++ b/x.yml\n@@ -2,0 +3,2 @@\n+a\n+b\n\
diff --git a/gone.yml b/gone.yml\ndeleted file mode 100644\n--- a/gone.yml\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n\
diff --git a/logo.png b/logo.png\nnew file mode 100644\nBinary files /dev/null and b/logo.png differ\n\
diff --git a/old.yml b/moved.yml\nsimilarity index 100%\nrename from old.yml\nrename to moved.yml\n\
diff --git \"a/caf\\303\\251 \\\"x\\\".yml\" \"b/caf\\303\\251 \\\"x\\\".yml\"\n--- \"a/caf\\303\\251 \\\"x\\\".yml\"\n+++ \"b/caf\\303\\251 \\\"x\\\".yml\"\n@@ -1 +1 @@\n-a\n+b\n";
        let changed = ChangedLines::from_git_diff("git diff main", text);
        assert!(changed.touches("x.yml", 3) && changed.touches("x.yml", 4));
        assert!(!changed.touches("x.yml", 2) && !changed.touches("x.yml", 5));
        assert!(!changed.touches("gone.yml", 1));
        assert!(changed.touches("logo.png", 7));
        assert!(changed.touches("café \"x\".yml", 1));
        assert!(!changed.touches("moved.yml", 0) && changed.files() == 4);
    }
}
