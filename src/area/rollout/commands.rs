//! What a CI script runs, told from what it only says: deploy and rollback
//! commands in shell text, with comments, `echo`/`printf` arguments and
//! heredoc bodies set aside as prose.

use std::sync::LazyLock;

use regex::Regex;

/// A command found, and the script line (0-based) it is on.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub command: &'static str,
    pub line: u32,
}

/// What one script runs.
#[derive(Debug, Default, PartialEq)]
pub struct Scan {
    pub rollbacks: Vec<Found>,
    pub deploys: Vec<Found>,
    /// `helm upgrade|install` with `--atomic` or `--rollback-on-failure`.
    pub helm_atomic: Option<u32>,
    /// `git revert`: a rollback only in a job that says it is one.
    pub git_revert: Option<u32>,
    /// Rollback is mentioned only in prose (an echo, a comment, a heredoc).
    pub rollback_in_prose: bool,
}

fn patterns(list: &[(&'static str, &str)]) -> Vec<(&'static str, Regex)> {
    list.iter()
        .map(|(name, re)| (*name, Regex::new(re).expect("a built-in command pattern")))
        .collect()
}

static ROLLBACKS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    patterns(&[
        ("helm rollback", r"\bhelm\b(?:\s+-{1,2}\S+)*\s+rollback\b"),
        ("kubectl rollout undo", r"\bkubectl\b.*\srollout\s+undo\b"),
        (
            "kubectl argo rollouts undo",
            r"\bkubectl\b.*\sargo\s+rollouts\s+(?:undo|abort)\b",
        ),
        ("argocd app rollback", r"\bargocd\s+app\s+rollback\b"),
        (
            "aws deploy stop-deployment",
            r"\baws\s+deploy\s+stop-deployment\b",
        ),
        (
            "gcloud run services update-traffic",
            r"\bgcloud\b.*\srun\s+services\s+update-traffic\b",
        ),
    ])
});

static DEPLOYS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    patterns(&[
        (
            "helm upgrade",
            r"\bhelm\b(?:\s+-{1,2}\S+)*\s+(?:upgrade|install)\b",
        ),
        ("helmfile apply", r"\bhelmfile\b.*\s(?:apply|sync)\b"),
        ("kubectl apply", r"\bkubectl\b.*\s(?:apply|replace)\b"),
        ("kubectl set image", r"\bkubectl\b.*\sset\s+image\b"),
        (
            "kubectl argo rollouts set image",
            r"\bkubectl\b.*\sargo\s+rollouts\s+set\s+image\b",
        ),
        ("argocd app sync", r"\bargocd\s+app\s+(?:sync|set)\b"),
        (
            "terraform apply",
            r"\b(?:terraform|tofu|terragrunt)\b.*\sapply\b",
        ),
        ("pulumi up", r"\bpulumi\b.*\sup\b"),
        ("aws ecs update-service", r"\baws\s+ecs\s+update-service\b"),
        (
            "aws deploy create-deployment",
            r"\baws\s+deploy\s+create-deployment\b",
        ),
        (
            "aws cloudformation deploy",
            r"\baws\s+cloudformation\s+deploy\b",
        ),
        ("cdk deploy", r"\bcdk\s+deploy\b"),
        ("sam deploy", r"\bsam\s+deploy\b"),
        ("serverless deploy", r"\b(?:serverless|sls)\s+deploy\b"),
        (
            "gcloud deploy",
            r"\bgcloud\b.*\s(?:run|app|functions)\s+deploy\b",
        ),
        (
            "az deploy",
            r"\baz\s+(?:webapp\s+deploy|containerapp\s+update)\b",
        ),
        ("fly deploy", r"\bfly(?:ctl)?\s+deploy\b"),
        ("skaffold run", r"\bskaffold\s+(?:run|deploy)\b"),
        ("kamal deploy", r"\bkamal\s+deploy\b"),
    ])
});

static HELM_ATOMIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bhelm\b.*\s(?:upgrade|install)\b.*\s--(?:atomic|rollback-on-failure)\b")
        .expect("a built-in pattern")
});
static GIT_REVERT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bgit\b.*\srevert\b").expect("a built-in pattern"));
static HEREDOC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?"#).expect("a built-in pattern")
});
/// Words that say a name or a text is about undoing a deploy.
pub static ROLLBACK_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)roll[\s_-]?back|\brevert|\bundo\b").expect("a built-in pattern")
});

/// Commands whose arguments are text, not commands.
const PROSE: &[&str] = &[
    "echo", "printf", ":", "true", "false", "cat", "log", "info", "notice",
];

/// Scan a shell script (a `run:` or `script:`).
pub fn scan(script: &str) -> Scan {
    let mut out = Scan::default();
    let mut heredoc_end: Option<String> = None;
    let mut continued = String::new();
    let mut continued_from = 0u32;
    for (i, raw) in script.lines().enumerate() {
        let i = i as u32;
        if let Some(end) = &heredoc_end {
            if raw.trim() == end {
                heredoc_end = None;
            } else if ROLLBACK_WORDS.is_match(raw) {
                out.rollback_in_prose = true;
            }
            continue;
        }
        let (code, comment) = split_comment(raw);
        if comment.is_some_and(|c| ROLLBACK_WORDS.is_match(c)) {
            out.rollback_in_prose = true;
        }
        if continued.is_empty() {
            continued_from = i;
        }
        if let Some(head) = code.trim_end().strip_suffix('\\') {
            continued.push_str(head);
            continued.push(' ');
            continue;
        }
        continued.push_str(code);
        let line = std::mem::take(&mut continued);
        if let Some(c) = HEREDOC.captures(&line) {
            heredoc_end = Some(c[1].to_string());
        }
        for segment in line.split(['|', ';', '&']) {
            let segment = segment.trim();
            let first = segment
                .split_whitespace()
                .find(|w| !w.contains('=') && *w != "sudo" && *w != "exec");
            if first.is_some_and(|w| PROSE.contains(&w)) || first.is_none() {
                if ROLLBACK_WORDS.is_match(segment) {
                    out.rollback_in_prose = true;
                }
                continue;
            }
            scan_command(segment, continued_from, &mut out);
        }
    }
    out
}

fn scan_command(segment: &str, line: u32, out: &mut Scan) {
    for (command, re) in ROLLBACKS.iter() {
        if re.is_match(segment) {
            out.rollbacks.push(Found { command, line });
        }
    }
    // `kubectl argo rollouts undo` is not also a deploy.
    if out.rollbacks.last().is_some_and(|f| f.line == line) {
        return;
    }
    if let Some((command, _)) = DEPLOYS.iter().find(|(_, re)| re.is_match(segment)) {
        out.deploys.push(Found { command, line });
    }
    if HELM_ATOMIC.is_match(segment) {
        out.helm_atomic.get_or_insert(line);
    }
    if GIT_REVERT.is_match(segment) {
        out.git_revert.get_or_insert(line);
    }
}

/// A line's code and its comment: `#` at the start or after whitespace,
/// outside quotes (`$#` and `${#x}` are not comments).
fn split_comment(line: &str) -> (&str, Option<&str>) {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '#') if prev.is_whitespace() => return (&line[..i], Some(&line[i..])),
            _ => {}
        }
        prev = c;
    }
    (line, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(list: &[Found]) -> Vec<(&str, u32)> {
        list.iter().map(|f| (f.command, f.line)).collect()
    }

    #[test]
    fn commands_not_prose() {
        let s = scan(
            "set -euo pipefail\n# helm rollback is what we would do\necho \"run helm rollback web\"\nhelm rollback web 0 \\\n  --namespace prod --wait\ncat <<EOF > notes.md\nTo roll back: kubectl rollout undo deploy/web\nEOF\nkubectl -n prod rollout undo deployment/api && kubectl rollout status deployment/api\nhelm upgrade --install web ./chart --atomic --timeout 5m\n",
        );
        assert_eq!(
            commands(&s.rollbacks),
            [("helm rollback", 3), ("kubectl rollout undo", 8)]
        );
        assert_eq!(commands(&s.deploys), [("helm upgrade", 9)]);
        assert_eq!(s.helm_atomic, Some(9));
        assert!(s.rollback_in_prose);
    }

    #[test]
    fn only_prose() {
        let s = scan("echo 'Rollback: run helm rollback by hand'\ntrue\n");
        assert!(s.rollbacks.is_empty() && s.deploys.is_empty());
        assert!(s.rollback_in_prose);
        let s = scan("printf 'see https://wiki/x#rollback'\n");
        assert!(s.rollbacks.is_empty());
        assert_eq!(split_comment("echo $# ${#x} 'a # b' # c").1, Some("# c"));
    }

    #[test]
    fn long_scripts_are_linear() {
        let script = "kubectl apply -f k8s/ # deploy\n".repeat(10_000);
        let s = scan(&script);
        assert_eq!(s.deploys.len(), 10_000);
    }
}
