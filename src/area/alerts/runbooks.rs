//! Runbooks: which of an alert's annotations is its runbook, and — without
//! the network — whether a runbook that lives in this repository exists.
//! Runs after assembly, because the manifest names the annotation keys and
//! because resolving reads files the walk did not classify (Markdown).

use std::collections::HashMap;
use std::path::Path;

use crate::tree::{CommitTree, Resolved};
use std::rc::Rc;

use super::collect::LinkCandidate;
use super::pages::{self, Page, PageKind};
use super::section::*;
use crate::document::{normalize, parent_dir};
use crate::evidence::RepoIdentity;
use crate::evidence::repo::percent_decode;

/// Pick the runbook link among an alert's candidates: annotations first
/// (in `keys` order), then Datadog tags and message links, labels last.
pub fn choose(links: &[LinkCandidate], keys: &[String]) -> Runbook {
    let order = [
        RunbookField::Annotation,
        RunbookField::Tag,
        RunbookField::Message,
        RunbookField::Label,
    ];
    let mut empty_key = None;
    for field in order {
        for key in keys.iter().map(String::as_str).chain(
            // A message link has no key of its own.
            (field == RunbookField::Message).then_some("message"),
        ) {
            let Some(c) = links.iter().find(|c| c.field == field && c.key == key) else {
                continue;
            };
            if c.value.trim().is_empty() {
                empty_key.get_or_insert_with(|| c.key.clone());
                continue;
            }
            return Runbook {
                state: RunbookState::Unchecked,
                key: Some(c.key.clone()),
                field: Some(field),
                link: Some(c.value.trim().to_string()),
                location: Some(c.location.clone()),
                ..Runbook::missing()
            };
        }
    }
    Runbook {
        detail: empty_key.map(|k| format!("`{k}` is empty")),
        ..Runbook::missing()
    }
}

/// Resolve every alert's runbook that can be resolved offline: templates
/// expanded, in-repository files and anchors checked. External URLs stay
/// `unchecked` for the probe.
pub fn resolve_runbooks(
    alerts: &mut Alerts,
    root: &Path,
    tree: Option<&CommitTree>,
    repo: Option<&RepoIdentity>,
    max_file_size: u64,
) {
    alerts.repo_url = repo.map(RepoIdentity::web_url);
    let mut files = Files {
        root,
        tree,
        max_file_size,
        cache: HashMap::new(),
    };
    for alert in &mut alerts.alerts {
        resolve_one(alert, repo, &mut files);
    }
}

fn resolve_one(alert: &mut Alert, repo: Option<&RepoIdentity>, files: &mut Files) {
    let name = alert.name.clone();
    let dir = parent_dir(&alert.location.path);
    let rb = &mut alert.runbook;
    let Some(link) = rb.link.clone() else {
        return;
    };
    match expand(&link, &name) {
        Expansion::Plain => {}
        Expansion::Expanded(e) => rb.expanded = Some(e),
        Expansion::Unexpandable(part) => {
            rb.state = RunbookState::Templated;
            rb.detail = Some(format!(
                "`{part}` is not the alert's name: it is filled in when the template renders or the alert fires, so the link cannot be resolved here"
            ));
            return;
        }
    }
    let target = rb.target().unwrap_or_default().to_string();
    let (candidates, anchor) = match url::Url::parse(&target) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            rb.anchor = url.fragment().map(percent_decode);
            match repo.and_then(|r| r.paths_in(&url)) {
                Some(paths) => (paths, rb.anchor.clone()),
                None => {
                    rb.state = RunbookState::Unchecked;
                    return;
                }
            }
        }
        Ok(url) => {
            rb.state = RunbookState::Unchecked;
            rb.detail = Some(format!("`{}:` links are not checked", url.scheme()));
            return;
        }
        Err(_) => {
            // A path: relative to the rule file, else to the repository root.
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p.to_string(), Some(percent_decode(a))),
                None => (target.clone(), None),
            };
            rb.anchor = anchor.clone();
            let mut candidates = Vec::new();
            if !path.starts_with('/') {
                candidates.extend(normalize(&dir, &path));
            }
            candidates.extend(normalize(".", &path));
            if candidates.is_empty() {
                rb.state = RunbookState::FileMissing;
                rb.detail = Some("the path leaves the repository".into());
                return;
            }
            (candidates, anchor)
        }
    };
    let found = candidates
        .iter()
        .find_map(|p| files.page(p).map(|page| (p.clone(), page)));
    let Some((path, page)) = found else {
        rb.state = RunbookState::FileMissing;
        rb.path = candidates.last().cloned();
        rb.detail = Some(format!("no such file: {}", candidates.join(" or ")));
        return;
    };
    rb.path = Some(page.path.clone().unwrap_or(path));
    let Some(content) = &page.content else {
        // Found but unreadable (too large, not UTF-8): it exists.
        rb.state = RunbookState::Resolved;
        rb.detail = page.note.clone();
        return;
    };
    match content.section(anchor.as_deref()) {
        Some(section) => {
            rb.state = RunbookState::Resolved;
            if !name.contains("{{") {
                let mentioned = pages::mentions(section, &name)
                    || rb
                        .path
                        .as_deref()
                        .is_some_and(|p| pages::names_topic(p, rb.anchor.as_deref(), &name));
                rb.mentions_alert = Some(mentioned);
            }
        }
        None => {
            rb.state = RunbookState::AnchorMissing;
            let mut known: Vec<String> =
                content.anchors().take(9).map(|a| format!("#{a}")).collect();
            if known.len() > 8 {
                known[8] = "…".into();
            }
            rb.detail = Some(if known.is_empty() {
                "it has no headings".into()
            } else {
                format!("it has {}", known.join(", "))
            });
        }
    }
}

/// What GitHub shows for a directory, in the order it looks.
const README_NAMES: [&str; 4] = ["README.md", "readme.md", "README", "index.md"];

/// `name` in the directory `dir` (`.` the top).
fn in_dir(dir: &str, name: &str) -> String {
    if dir == "." {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// A repository file a runbook link names.
struct LocalPage {
    /// When a directory resolved to its README.
    path: Option<String>,
    /// `None` when the file exists but cannot be read as text.
    content: Option<Page>,
    note: Option<String>,
}

/// Repository files read for resolution, each read and parsed once.
struct Files<'a> {
    root: &'a Path,
    /// The commit read instead of `root` (the baseline).
    tree: Option<&'a CommitTree>,
    max_file_size: u64,
    cache: HashMap<String, Option<Rc<LocalPage>>>,
}

impl Files<'_> {
    fn page(&mut self, rel: &str) -> Option<Rc<LocalPage>> {
        if let Some(hit) = self.cache.get(rel) {
            return hit.clone();
        }
        let page = self.read(rel).map(Rc::new);
        self.cache.insert(rel.to_string(), page.clone());
        page
    }

    fn read(&self, rel: &str) -> Option<LocalPage> {
        if let Some(tree) = self.tree {
            return self.read_in(tree, rel);
        }
        let full = self.root.join(rel);
        let meta = std::fs::metadata(&full).ok()?;
        // Symlinks may not lead out of the repository.
        let canonical = full.canonicalize().ok()?;
        if !canonical.starts_with(self.root.canonicalize().ok()?) {
            return None;
        }
        if meta.is_dir() {
            // GitHub shows a directory's README.
            let readme = README_NAMES.iter().find(|r| full.join(r).is_file())?;
            let path = in_dir(rel, readme);
            let mut page = self.read(&path)?;
            page.path = Some(path);
            return Some(page);
        }
        Some(self.page_of(rel, meta.len(), || std::fs::read(&full)))
    }

    /// [`Self::read`] from a commit's tree: symlinks followed inside it.
    fn read_in(&self, tree: &CommitTree, rel: &str) -> Option<LocalPage> {
        match tree.resolve(rel) {
            Resolved::Dir(dir) => {
                let readme = README_NAMES
                    .iter()
                    .find(|r| matches!(tree.resolve(&in_dir(&dir, r)), Resolved::File(_)))?;
                let path = in_dir(rel, readme);
                let mut page = self.read_in(tree, &path)?;
                page.path = Some(path);
                Some(page)
            }
            Resolved::File(target) => Some(match tree.read(&target, self.max_file_size) {
                Ok((bytes, size)) => self.page_of(rel, size, || Ok(bytes)),
                Err(e) => self.page_of(rel, 0, || Err(e)),
            }),
            Resolved::Outside(_) | Resolved::Missing => None,
        }
    }

    /// A page of `size` bytes, read with `read` unless over the cap.
    fn page_of(
        &self,
        rel: &str,
        size: u64,
        read: impl FnOnce() -> std::io::Result<Vec<u8>>,
    ) -> LocalPage {
        if size > self.max_file_size {
            return LocalPage {
                path: None,
                content: None,
                note: Some(format!(
                    "{size} bytes, over the size cap: anchors not checked"
                )),
            };
        }
        match read().map(String::from_utf8) {
            Ok(Ok(text)) => LocalPage {
                path: None,
                content: Some(Page::new(text, PageKind::of_path(rel))),
                note: None,
            },
            _ => LocalPage {
                path: None,
                content: None,
                note: Some("not readable as UTF-8 text: anchors not checked".into()),
            },
        }
    }
}

#[derive(Debug, PartialEq)]
enum Expansion {
    Plain,
    Expanded(String),
    /// The first template part that depends on the firing alert.
    Unexpandable(String),
}

/// Expand what a runbook template says about the alert itself: its name in
/// Go-template (`{{ $labels.alertname }}`, `{{ .Labels.alertname }}`,
/// `{{ .alertname }}`, optionally `| toLower`), `[[ ]]` or kube-prometheus's
/// `%s` (the name lower-cased).
fn expand(link: &str, alert: &str) -> Expansion {
    if !["{{", "[[", "%s"].iter().any(|m| link.contains(m)) {
        return Expansion::Plain;
    }
    if alert.contains("{{") {
        return Expansion::Unexpandable(alert.to_string());
    }
    let mut out = String::new();
    let mut rest = link;
    loop {
        let next = [("{{", "}}"), ("[[", "]]")]
            .iter()
            .filter_map(|(open, close)| rest.find(open).map(|i| (i, *open, *close)))
            .min();
        let Some((i, _, close)) = next else {
            break;
        };
        let Some(len) = rest[i + 2..].find(close) else {
            return Expansion::Unexpandable(rest[i..].to_string());
        };
        let part = &rest[i..i + 2 + len + 2];
        let inner = rest[i + 2..i + 2 + len].trim().trim_matches('-').trim();
        let mut pipeline = inner.split('|').map(str::trim);
        let var = pipeline.next().unwrap_or_default();
        if ![
            "$labels.alertname",
            ".Labels.alertname",
            ".alertname",
            ".CommonLabels.alertname",
        ]
        .contains(&var)
        {
            return Expansion::Unexpandable(part.to_string());
        }
        let mut value = alert.to_string();
        for filter in pipeline {
            value = match filter {
                "toLower" | "tolower" | "lower" | "ToLower" => value.to_lowercase(),
                "toUpper" | "toupper" | "upper" | "ToUpper" => value.to_uppercase(),
                _ => return Expansion::Unexpandable(part.to_string()),
            };
        }
        out.push_str(&rest[..i]);
        out.push_str(&value);
        rest = &rest[i + part.len()..];
    }
    out.push_str(rest);
    Expansion::Expanded(out.replace("%s", &alert.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_remotes_without_keeping_credentials() {
        let want = RepoIdentity {
            host: "github.com".into(),
            owner: "acme".into(),
            repo: "checkout".into(),
        };
        for url in [
            "git@github.com:acme/checkout.git",
            "https://github.com/acme/checkout",
            "https://x-access-token:ghs_secret@github.com/acme/checkout.git",
            "ssh://git@github.com:22/acme/checkout.git",
        ] {
            assert_eq!(RepoIdentity::parse(url).as_ref(), Some(&want), "{url}");
        }
        assert!(!want.web_url().contains("ghs_"));
        assert_eq!(RepoIdentity::parse("not a url"), None);
    }

    #[test]
    fn urls_into_the_repository_give_paths() {
        let me = RepoIdentity::parse("https://github.com/acme/checkout").unwrap();
        let paths = |u: &str| me.paths_in(&url::Url::parse(u).unwrap());
        assert_eq!(
            paths("https://github.com/Acme/checkout/blob/main/docs/run%20books.md#x"),
            Some(vec!["docs/run books.md".to_string(), "run books.md".into()])
        );
        assert_eq!(
            paths("https://raw.githubusercontent.com/acme/checkout/main/a.md"),
            Some(vec!["a.md".to_string()])
        );
        assert_eq!(paths("https://github.com/acme/other/blob/main/a.md"), None);
        assert_eq!(paths("https://wiki.acme.dev/a"), None);
    }

    #[test]
    fn expands_the_alert_name_only() {
        use Expansion::*;
        assert_eq!(expand("https://x/y", "A"), Plain);
        assert_eq!(
            expand(
                "https://r.dev/runbooks/kubernetes/%s",
                "KubePodCrashLooping"
            ),
            Expanded("https://r.dev/runbooks/kubernetes/kubepodcrashlooping".into())
        );
        assert_eq!(
            expand(
                "docs/runbooks.md#{{ $labels.alertname | toLower }}",
                "HighLatency"
            ),
            Expanded("docs/runbooks.md#highlatency".into())
        );
        assert_eq!(
            expand("https://w/[[ .Labels.alertname ]]", "A"),
            Expanded("https://w/A".into())
        );
        assert_eq!(
            expand("https://w/{{ $labels.instance }}", "A"),
            Unexpandable("{{ $labels.instance }}".into())
        );
        assert_eq!(
            expand("https://w/{{ oops", "A"),
            Unexpandable("{{ oops".into())
        );
    }
}
