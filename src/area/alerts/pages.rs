//! Reading runbook pages: which `#anchor`s a Markdown or HTML page has, the
//! text of the section an anchor names, and whether it mentions an alert.
//! Shared by in-repository resolution and the online probe.

use std::collections::HashMap;

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

/// GitHub's heading slug (github-slugger): lower-case, drop everything but
/// letters, numbers, marks, `_`, `-` and spaces, then each space becomes `-`.
/// Emoji and punctuation vanish; `Deploy 🚀 & roll back` → `deploy---roll-back`.
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || is_mark(*c) || matches!(c, '_' | '-' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Combining marks (accents written as separate code points) survive slugging.
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// One heading of a Markdown page, with GitHub's anchor for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Heading {
    pub anchor: String,
    pub level: u8,
    pub line: u32,
    /// Byte range of the section: the heading through the line before the
    /// next heading of the same or a higher level.
    pub section: std::ops::Range<usize>,
}

/// Every heading of a Markdown text with its anchor; repeated headings get
/// `-1`, `-2` as GitHub numbers them.
pub fn markdown_headings(text: &str) -> Vec<Heading> {
    let mut headings: Vec<Heading> = Vec::new();
    let mut current: Option<(u8, usize, String)> = None;
    let mut in_image = 0;
    // Lines counted incrementally: headings come in order.
    let (mut counted_to, mut line) = (0, 1);
    for (event, range) in Parser::new(text).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                current = Some((level_number(level), range.start, String::new()))
            }
            Event::Start(Tag::Image { .. }) => in_image += 1,
            Event::End(TagEnd::Image) => in_image -= 1,
            Event::Text(t) | Event::Code(t) if in_image == 0 => {
                if let Some((_, _, buf)) = &mut current {
                    buf.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, start, buf)) = current.take() {
                    line += text[counted_to..start].matches('\n').count() as u32;
                    counted_to = start;
                    headings.push(Heading {
                        anchor: slug(&buf),
                        level,
                        line,
                        section: start..text.len(),
                    });
                }
            }
            _ => {}
        }
    }
    // Sections end where the next heading at the same or a higher level starts.
    for i in 0..headings.len() {
        let level = headings[i].level;
        if let Some(next) = headings[i + 1..].iter().find(|h| h.level <= level) {
            headings[i].section.end = next.section.start;
        }
    }
    // Duplicates: the second `foo` is `foo-1`, the third `foo-2`.
    let mut seen = std::collections::HashMap::<String, u32>::new();
    for h in &mut headings {
        let n = seen.entry(h.anchor.clone()).or_insert(0);
        if *n > 0 {
            h.anchor = format!("{}-{n}", h.anchor);
        }
        *n += 1;
    }
    headings
}

fn level_number(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// How a page is written, which decides how anchors are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    Markdown,
    Html,
}

impl PageKind {
    pub fn of_path(path: &str) -> Self {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".html") || lower.ends_with(".htm") {
            Self::Html
        } else {
            Self::Markdown
        }
    }

    pub fn of_content_type(content_type: &str, body: &str) -> Self {
        if content_type.contains("html") || body.trim_start().starts_with('<') {
            Self::Html
        } else {
            Self::Markdown
        }
    }
}

/// A runbook page read once and indexed once: its searchable text (for
/// Markdown the page, for HTML the text without tags, scripts and styles;
/// ASCII lower-cased so byte offsets carry over) is built when the page is,
/// and a section is a slice of it. However many anchors and alerts ask,
/// memory stays one copy of the page.
pub struct Page {
    kind: PageKind,
    headings: Vec<Heading>,
    /// Lower-cased anchor → where it is: Markdown headings, and explicit
    /// `id=`/`name=` attributes (GitHub's `user-content-` prefix removed).
    anchors: HashMap<String, Anchor>,
    /// The raw page's length, for sections that run to its end.
    raw_len: usize,
    searchable: String,
    /// HTML: (raw offset of each tag, searchable offset there), ascending.
    tags: Vec<(usize, usize)>,
    /// HTML: where each section ends, by the anchor's raw offset.
    html_ends: HashMap<usize, usize>,
}

#[derive(Debug, Clone, Copy)]
enum Anchor {
    Heading(usize),
    At(usize),
}

impl Page {
    pub fn new(text: String, kind: PageKind) -> Self {
        let headings = match kind {
            PageKind::Markdown => markdown_headings(&text),
            PageKind::Html => Vec::new(),
        };
        let mut anchors = HashMap::new();
        for (i, h) in headings.iter().enumerate() {
            anchors
                .entry(h.anchor.clone())
                .or_insert(Anchor::Heading(i));
        }
        for (name, at) in explicit_anchors(&text) {
            let name = name.to_lowercase();
            if let Some(plain) = name.strip_prefix("user-content-") {
                anchors.entry(plain.to_string()).or_insert(Anchor::At(at));
            }
            anchors.entry(name).or_insert(Anchor::At(at));
        }
        let (searchable, tags) = match kind {
            PageKind::Markdown => (text.to_ascii_lowercase(), Vec::new()),
            PageKind::Html => html_index(&text),
        };
        let html_ends = match kind {
            // Section ends need the raw page: find them all now, in one
            // pass over it, then drop it.
            PageKind::Html => {
                let bounds = HeadingTags::of(&text);
                anchors
                    .values()
                    .filter_map(|a| match a {
                        Anchor::At(at) => Some((*at, bounds.section_end(*at))),
                        Anchor::Heading(_) => None,
                    })
                    .collect()
            }
            PageKind::Markdown => HashMap::new(),
        };
        Self {
            kind,
            headings,
            anchors,
            raw_len: text.len(),
            searchable,
            tags,
            html_ends,
        }
    }

    /// The lower-cased text an anchor designates (the whole page without
    /// one), or `None` when the page has no such anchor.
    pub fn section(&self, anchor: Option<&str>) -> Option<&str> {
        let Some(anchor) = anchor else {
            return Some(&self.searchable);
        };
        let (start, end) = match (*self.anchors.get(&anchor.to_lowercase())?, self.kind) {
            (Anchor::Heading(i), _) => {
                let s = &self.headings[i].section;
                (s.start, s.end)
            }
            // An `<a name="x">` in Markdown: up to the next heading.
            (Anchor::At(at), PageKind::Markdown) => {
                let end = self
                    .headings
                    .iter()
                    .map(|h| h.section.start)
                    .find(|start| *start > at)
                    .unwrap_or(self.raw_len);
                (at, end)
            }
            (Anchor::At(at), PageKind::Html) => {
                let end = self.html_ends.get(&at).copied().unwrap_or(self.raw_len);
                (self.searchable_at(at), self.searchable_at(end))
            }
        };
        self.searchable.get(start..end.max(start))
    }

    /// Where a raw HTML offset falls in the searchable text: the start of
    /// the tag holding it (or the end).
    fn searchable_at(&self, raw: usize) -> usize {
        let i = self.tags.partition_point(|(at, _)| *at <= raw);
        match i {
            0 => 0,
            i => self.tags[i - 1].1,
        }
        .min(self.searchable.len())
    }

    /// The page's Markdown heading anchors, in order.
    pub fn anchors(&self) -> impl Iterator<Item = &str> {
        self.headings.iter().map(|h| h.anchor.as_str())
    }
}

/// Every `id="x"` / `name='x'` attribute with its byte offset, in one pass.
fn explicit_anchors(page: &str) -> Vec<(String, usize)> {
    let bytes = page.as_bytes();
    let mut found = Vec::new();
    for attr in ["id=", "name="] {
        for (at, _) in page.match_indices(attr) {
            if at == 0 || !bytes[at - 1].is_ascii_whitespace() {
                continue;
            }
            let rest = &page[at + attr.len()..];
            let Some(quote) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) else {
                continue;
            };
            if let Some(len) = rest[1..].find(quote) {
                found.push((rest[1..1 + len].to_string(), at));
            }
        }
    }
    found.sort_by_key(|(_, at)| *at);
    found
}

/// Where HTML headings open (`<h1`..`<h6`) and close (`</h`), ascending.
struct HeadingTags {
    opens: Vec<usize>,
    closes: Vec<usize>,
    len: usize,
}

impl HeadingTags {
    fn of(html: &str) -> Self {
        let bytes = html.as_bytes();
        let mut opens = Vec::new();
        let mut closes = Vec::new();
        for (i, _) in html.match_indices("<h") {
            if bytes.get(i + 2).is_some_and(|c| (b'1'..=b'6').contains(c)) {
                opens.push(i);
            }
        }
        for (i, _) in html.match_indices("</h") {
            closes.push(i);
        }
        Self {
            opens,
            closes,
            len: html.len(),
        }
    }

    /// A section starting at an anchor at `at` runs through the next
    /// heading after the one holding the anchor.
    fn section_end(&self, at: usize) -> usize {
        let after = self
            .closes
            .get(self.closes.partition_point(|c| *c < at))
            .map_or(at, |c| c + 3);
        self.opens
            .get(self.opens.partition_point(|o| *o < after))
            .copied()
            .unwrap_or(self.len)
    }
}

/// The searchable text of an HTML page (tags, scripts and styles removed,
/// `&amp;` and `&nbsp;` read, ASCII lower-cased) and where each tag was.
fn html_index(html: &str) -> (String, Vec<(usize, usize)>) {
    let mut out = String::with_capacity(html.len() / 2);
    let mut tags = Vec::new();
    let text = |out: &mut String, segment: &str| {
        out.push_str(
            &segment
                .replace("&amp;", "&")
                .replace("&nbsp;", " ")
                .to_ascii_lowercase(),
        )
    };
    let mut pos = 0;
    while let Some(open) = html[pos..].find('<').map(|i| pos + i) {
        text(&mut out, &html[pos..open]);
        tags.push((open, out.len()));
        let rest = &html[open..];
        let lower = rest.get(..7).unwrap_or(rest).to_ascii_lowercase();
        let skip_to = if lower.starts_with("<script") {
            "</script>"
        } else if lower.starts_with("<style") {
            "</style>"
        } else {
            ">"
        };
        pos = match find_ignore_case(rest, skip_to) {
            Some(i) => open + i + skip_to.len(),
            None => html.len(),
        };
        out.push(' ');
    }
    text(&mut out, &html[pos..]);
    (out, tags)
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Whether a lower-cased section names the alert: literally, or as its
/// words in any case and with any separators (`API high error rate`,
/// `api_high_error_rate` for `ApiHighErrorRate`).
pub fn mentions(section: &str, alert: &str) -> bool {
    if alert.is_empty() {
        return false;
    }
    if section.contains(&alert.to_ascii_lowercase()) {
        return true;
    }
    let words = words(alert);
    let Some(first) = words.first() else {
        return false;
    };
    // Cheap rejections first: every word must be there at all. Then at most
    // a bounded number of starts is tried, so a page of `a a a …` against
    // `a_a_…_b` stays linear.
    if alert.len() > 256 || !words.iter().all(|w| section.contains(w.as_str())) {
        return false;
    }
    let compact: String = words.concat();
    section
        .match_indices(first.as_str())
        .take(10_000)
        .any(|(at, _)| {
            // The alert's letters in order from here, skipping separators.
            let mut want = compact.chars().peekable();
            for c in section[at..].chars() {
                match want.peek() {
                    None => break,
                    Some(w) if *w == c => {
                        want.next();
                    }
                    Some(_) if !c.is_alphanumeric() => {}
                    Some(_) => return false,
                }
            }
            want.peek().is_none()
        })
}

/// Whether the page is evidently the alert's topic page: its path or the
/// anchor followed names most of the alert's words (`docs/alertmanager/
/// notification-failures.md` for `AlertmanagerNotificationsFailing`).
pub fn names_topic(path: &str, anchor: Option<&str>, alert: &str) -> bool {
    let alert_words = words(alert);
    if alert_words.len() < 2 {
        return false;
    }
    let place = format!("{path} {}", anchor.unwrap_or_default());
    let place_words = words(&place);
    let matched = alert_words
        .iter()
        .filter(|w| place_words.iter().any(|p| same_stem(w, p)))
        .count();
    // Every word of a short name; all but one of four or more.
    matched >= alert_words.len() - usize::from(alert_words.len() >= 4)
}

/// Two words with the same stem: equal, or sharing a prefix of at least
/// four letters that covers most of the shorter (`notification` and
/// `notifications`, `failing` and `failures`).
fn same_stem(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let shorter = a.len().min(b.len());
    common >= 4 && common * 3 >= shorter * 2 - 2
}

/// Lower-case words: CamelCase, digits and separators split
/// (`KubeAPIErrorsHigh` → kube, api, errors, high).
pub fn words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1);
        let boundary = match prev {
            Some(p) if p.is_alphanumeric() => {
                (p.is_lowercase() && c.is_uppercase())
                    || (p.is_uppercase()
                        && c.is_uppercase()
                        && next.is_some_and(|n| n.is_lowercase()))
                    || (p.is_ascii_digit() != c.is_ascii_digit())
            }
            _ => false,
        };
        if boundary && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_github() {
        assert_eq!(slug("High Error Rate"), "high-error-rate");
        assert_eq!(slug("KubePodCrashLooping"), "kubepodcrashlooping");
        assert_eq!(slug("🚀 Deploy"), "-deploy");
        assert_eq!(slug("What's wrong? (and why!)"), "whats-wrong-and-why");
        assert_eq!(slug("Step 1: check `kubectl`"), "step-1-check-kubectl");
        assert_eq!(slug("Deploy 🚀 & roll back"), "deploy---roll-back");
        assert_eq!(slug("snake_case-and-dash"), "snake_case-and-dash");
        assert_eq!(slug("Überlast"), "überlast");
    }

    #[test]
    fn headings_number_duplicates_and_skip_code() {
        let md = "# Runbooks\n\n## Mitigation\n\ntext\n\n```\n# not a heading\n```\n\n## Mitigation\n\nSetext\n------\n\n## The `db` *is* [down](x)\n";
        let anchors: Vec<_> = markdown_headings(md)
            .into_iter()
            .map(|h| h.anchor)
            .collect();
        assert_eq!(
            anchors,
            [
                "runbooks",
                "mitigation",
                "mitigation-1",
                "setext",
                "the-db-is-down"
            ]
        );
    }

    #[test]
    fn alert_names_are_matched_by_their_words() {
        assert_eq!(
            words("KubeAPIErrorsHigh"),
            ["kube", "api", "errors", "high"]
        );
        assert_eq!(words("node_disk-full 2"), ["node", "disk", "full", "2"]);
        assert!(mentions("## api high error rate\n", "ApiHighErrorRate"));
        assert!(mentions("see api_high_error_rate.", "ApiHighErrorRate"));
        assert!(!mentions("api error rate is high", "ApiHighErrorRate"));
        assert!(names_topic(
            "docs/alertmanager/notification-failures.md",
            None,
            "AlertmanagerNotificationsFailing"
        ));
        assert!(names_topic(
            "runbooks/etcd.md",
            Some("etcd-members-down"),
            "EtcdMembersDown"
        ));
        assert!(!names_topic("docs/general.md", None, "EtcdMembersDown"));
        assert!(!names_topic(
            "docs/alertmanager.md",
            None,
            "AlertmanagerNotificationsFailing"
        ));
    }

    #[test]
    fn sections_run_to_the_next_peer_heading() {
        let md =
            "# A\nintro\n## HighLatency\nwhat\n### Fix\nrestart HighLatency\n## Other\nnothing\n";
        let page = Page::new(md.into(), PageKind::Markdown);
        let s = page.section(Some("HighLatency")).unwrap();
        assert!(s.contains("restart highlatency") && !s.contains("nothing"));
        assert!(mentions(s, "HighLatency"));
        assert!(page.section(Some("nope")).is_none());
        let html = r#"<h2 id="user-content-highlatency">HighLatency</h2><p>fix <b>HighLatency</b></p><h2 id="other">Other</h2><p>DiskFull</p>"#;
        let page = Page::new(html.into(), PageKind::Html);
        let s = page.section(Some("highlatency")).unwrap();
        assert!(mentions(s, "HighLatency") && !mentions(s, "DiskFull"));
        assert!(page.section(Some("missing")).is_none());
        let script = Page::new("<script>DiskFull</script>ok".into(), PageKind::Html);
        assert!(!mentions(script.section(None).unwrap(), "DiskFull"));
    }
}
