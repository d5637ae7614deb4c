//! One escaping function per sink repository text can reach. Every writer
//! uses these, so a file name, alert name, policy key or level written by
//! the change under review stays text: it cannot start a line, hide or
//! reorder what a reviewer reads, issue a workflow command, or break the
//! format it is written into.

use std::fmt::Write;

/// Characters a reader would not see or that change how text around them
/// reads: controls (C0 except tab, DEL, C1), bidirectional embeddings,
/// overrides, isolates and marks, zero-width characters and the byte-order
/// mark, line and paragraph separators, and noncharacters.
pub fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}'
        | '\u{061c}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
        || is_noncharacter(c)
}

/// [`is_hidden`] over a text, fast on ASCII: eight bytes at a time while
/// none is DEL or non-ASCII; only the characters that start at such a byte
/// are looked at. (Controls below 0x20 are checked too.)
fn has_hidden(text: &str) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    const DEL: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const SPACE: u64 = 0x2020_2020_2020_2020;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while let Some(chunk) = bytes.get(i..i + 8) {
            let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            let is_del = (w ^ DEL).wrapping_sub(ONES) & !(w ^ DEL) & HIGH;
            // A byte below 0x20 borrows when 0x20 is subtracted.
            let below_space = w.wrapping_sub(SPACE) & !w & HIGH;
            if w & HIGH != 0 || is_del != 0 || below_space != 0 {
                break;
            }
            i += 8;
        }
        let Some(&b) = bytes.get(i) else {
            break;
        };
        if b < 0x7f {
            if b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r') {
                return true;
            }
            i += 1;
            continue;
        }
        // A character's start: the bytes before it were whole characters.
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        if is_hidden(c) {
            return true;
        }
        i += c.len_utf8();
    }
    false
}

fn is_noncharacter(c: char) -> bool {
    let n = c as u32;
    (0xfdd0..=0xfdef).contains(&n) || (n & 0xfffe) == 0xfffe
}

fn push_visible(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c => {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
    }
}

/// `##[` starts a legacy workflow command anywhere on a log line; break it
/// visibly.
fn break_legacy_commands(text: String) -> String {
    if text.contains("##[") {
        text.replace("##[", "#\\x23[")
    } else {
        text
    }
}

/// One line for a terminal or a CI log (stderr included): newlines and
/// hidden characters as visible escapes (`\n`, `\u{202e}`), and no legacy
/// workflow command.
pub fn line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\n' || c == '\r' || is_hidden(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    break_legacy_commands(out)
}

/// Several lines for a terminal or log: like [`line`], newlines kept; a line
/// the text starts can never begin with `::` (a workflow command).
pub fn lines(text: &str) -> String {
    text.split('\n')
        .map(|l| {
            let l = line(l);
            if l.trim_start().starts_with("::") {
                format!("\\{l}")
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A workflow command's data: the runner's own escapes (`%`, CR, LF), hidden
/// characters visible, and no legacy command.
pub fn workflow_data(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c if is_hidden(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    break_legacy_commands(out)
}

/// A workflow command's property value (`file=`, `title=`): also `:` and `,`.
pub fn workflow_property(text: &str) -> String {
    workflow_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Serialized JSON made safe to print on a CI log, without changing the
/// data: hidden characters as `\uXXXX` escapes (a JSON parser reads them
/// back) and `##[` as `#\u0023[`. `##[` can only occur inside strings.
pub fn json(text: String) -> String {
    if !has_hidden(&text) && !text.contains("##[") {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_hidden(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out.replace("##[", "#\\u0023[")
}

/// Text for XML 1.0: characters XML cannot carry (most controls, U+FFFE,
/// U+FFFF) and hidden ones as visible escapes, the markup characters as
/// entities, and `##[` and a newline before `::` as character references,
/// so printed on a CI log the document starts no workflow command.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        match c {
            // A newline stays one unless the next line would read as a
            // workflow command.
            '\n' if text[i + 1..].trim_start().starts_with("::") => out.push_str("&#10;"),
            '\n' => out.push('\n'),
            '\t' => out.push(c),
            c if is_hidden(c) || c == '\r' => push_visible(&mut out, c),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    if out.contains("##[") {
        out = out.replace("##[", "#&#35;[");
    }
    out
}

/// A repository-relative path as an RFC 3986 URI reference (SARIF's
/// `artifactLocation.uri`): every byte but the unreserved characters and
/// `/` percent-encoded, so a space, `#`, `?` or newline stays in the path.
pub fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A delimiter for a multi-line step output value: random, and not in the
/// value, so the value cannot end the output early and start another.
pub fn output_delimiter(value: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    loop {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        let delimiter = format!("ghadelimiter_{:016x}", h.finish());
        if !value.contains(&delimiter) {
            return delimiter;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_stay_lines_and_hidden_characters_show() {
        assert_eq!(line("a\n::error::x"), "a\\n::error::x");
        assert_eq!(line("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(line("\u{fffe}"), "\\u{fffe}");
        assert_eq!(line("ok ##[add-mask]secret"), "ok #\\x23[add-mask]secret");
        assert_eq!(line("plain text: 100%"), "plain text: 100%");
        assert_eq!(lines("a\n::warning::b"), "a\n\\::warning::b");
        assert_eq!(lines("  ::x"), "\\  ::x");
    }

    #[test]
    fn workflow_commands_cannot_be_ended_or_started() {
        assert_eq!(workflow_data("50%\r\n::x"), "50%25%0D%0A::x");
        assert_eq!(workflow_property("a:b,c"), "a%3Ab%2Cc");
        assert_eq!(workflow_data("##[error]"), "#\\x23[error]");
    }

    #[test]
    fn xml_carries_only_what_xml_allows() {
        assert_eq!(
            xml("a<b & \"c\"\u{fffe}\u{1b}"),
            "a&lt;b &amp; &quot;c&quot;\\u{fffe}\\u{001b}"
        );
        assert_eq!(xml("a\n::error::x ##[y"), "a&#10;::error::x #&#35;[y");
    }

    #[test]
    fn json_stays_the_same_data() {
        let doc = serde_json::json!({"name": "a\u{202e}b ##[add-mask]c \u{1fffe}"});
        let safe = json(serde_json::to_string(&doc).unwrap());
        assert!(
            !safe.contains('\u{202e}') && !safe.contains("##["),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, doc);
        let plain = serde_json::to_string(&serde_json::json!({"a": 1})).unwrap();
        assert_eq!(json(plain.clone()), plain);
    }

    #[test]
    fn uris_keep_their_path() {
        assert_eq!(uri_path("a b/c#d?e\nf.yml"), "a%20b/c%23d%3Fe%0Af.yml");
        assert_eq!(uri_path("rules/api.yml"), "rules/api.yml");
        assert_eq!(uri_path("é"), "%C3%A9");
    }

    #[test]
    fn hidden_characters_are_found_anywhere() {
        assert!(!has_hidden(
            "plain ascii text, long enough to use the word loop\n\t"
        ));
        assert!(!has_hidden("punctuation… — “quotes” and é"));
        for hidden in [
            "\u{7f}", "\u{1b}", "\u{202e}", "\u{fffe}", "\u{200b}", "\u{85}",
        ] {
            for pad in [0, 3, 8, 13] {
                let text = format!("{}{hidden}{}", "a".repeat(pad), "b".repeat(9));
                assert!(has_hidden(&text), "{hidden:?} after {pad}");
            }
        }
    }

    #[test]
    fn delimiters_are_not_in_the_value() {
        let d = output_delimiter("x");
        assert!(d.starts_with("ghadelimiter_"));
        assert_ne!(d, output_delimiter("x"));
    }
}
