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
    /// It makes a throwaway cluster (kind, minikube, k3d): a test job.
    pub ephemeral_cluster: bool,
}

fn patterns(list: &[(&'static str, &str)]) -> Vec<(&'static str, Regex)> {
    list.iter()
        .map(|(name, re)| (*name, Regex::new(re).expect("a built-in command pattern")))
        .collect()
}

static ROLLBACKS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    patterns(&[
        ("helm rollback", HELM_FLAGS_THEN_ROLLBACK),
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
            "gcloud run services update-traffic --to-revisions",
            r"\bgcloud\b.*\srun\s+services\s+update-traffic\b.*\s--to-revisions\b",
        ),
    ])
});

static DEPLOYS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    patterns(&[
        ("helm upgrade", HELM_FLAGS_THEN_UPGRADE),
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

/// `helm`, global flags (with or without values: `-n prod`), the verb.
const HELM_FLAGS_THEN_ROLLBACK: &str =
    r"\bhelm(?:\s+-{1,2}[\w-]+(?:=\S+|\s+[^\s-]\S*)?)*\s+rollback\b";
const HELM_FLAGS_THEN_UPGRADE: &str =
    r"\bhelm(?:\s+-{1,2}[\w-]+(?:=\S+|\s+[^\s-]\S*)?)*\s+(?:upgrade|install)\b";

static HELM_ATOMIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\bhelm\b.*\s(?:upgrade|install)\b.*\s--(?:atomic|rollback-on-failure)(?:=true)?(?:\s|$)",
    )
    .expect("a built-in pattern")
});
static DRY_RUN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s--dry-run\b").expect("a built-in pattern"));
/// A cluster made for the job (an end-to-end test), not one deployed to.
static EPHEMERAL_CLUSTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:kind\s+create\s+cluster|minikube\s+start|k3d\s+cluster\s+create|ctlptl\s+create)\b",
    )
    .expect("a built-in pattern")
});
static GIT_REVERT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bgit\b.*\srevert\b").expect("a built-in pattern"));
static HEREDOC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?"#).expect("a built-in pattern")
});
/// Words that say a name or a text is about undoing a deploy.
pub static ROLLBACK_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\broll[\s_-]?back|\brevert|\bundo\b").expect("a built-in pattern")
});

/// Commands whose arguments are text, not commands.
const PROSE: &[&str] = &[
    "echo", "printf", ":", "true", "false", "cat", "log", "info", "notice",
];

/// Scan a shell script (a `run:` or `script:`). Commands are what is left
/// outside quotes, comments and heredoc bodies, split at `;`, `|`, `&` and
/// unescaped line ends; quoted text (a Slack message, `MSG="..."` over
/// several lines) is prose.
pub fn scan(script: &str) -> Scan {
    let mut out = Scan::default();
    let mut heredoc_end: Option<String> = None;
    let mut seg = Segment::default();
    let mut quote: Option<char> = None;
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
        if seg.code.trim().is_empty() && seg.quoted.is_empty() {
            seg.line = i;
        }
        if quote.is_none() {
            heredoc_end = heredoc(raw);
        }
        let mut prev = ' ';
        let mut continued = false;
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            match quote {
                Some(q) if c == q && !(q == '"' && prev == '\\') => {
                    quote = None;
                    seg.code.push('Q');
                }
                Some(_) => seg.quoted.push(c),
                None => match c {
                    '\'' | '"' => quote = Some(c),
                    '#' if prev.is_whitespace() => {
                        let rest: String = chars.by_ref().collect();
                        if ROLLBACK_WORDS.is_match(&rest) {
                            out.rollback_in_prose = true;
                        }
                        break;
                    }
                    ';' | '|' | '&' => {
                        seg.finish(&mut out);
                        seg.line = i;
                    }
                    '\\' if chars.peek().is_none() => continued = true,
                    _ => seg.code.push(c),
                },
            }
            prev = c;
        }
        match quote {
            // A quoted string goes on over the line end.
            Some(_) => seg.quoted.push('\n'),
            None if continued => seg.code.push(' '),
            None => seg.finish(&mut out),
        }
    }
    seg.finish(&mut out);
    out
}

/// One command being read: its code (quoted text replaced by `Q`) and its
/// quoted text.
#[derive(Default)]
struct Segment {
    line: u32,
    code: String,
    quoted: String,
}

impl Segment {
    fn finish(&mut self, out: &mut Scan) {
        let code = std::mem::take(&mut self.code);
        let quoted = std::mem::take(&mut self.quoted);
        let first = code
            .split_whitespace()
            .find(|w| !w.contains('=') && !matches!(*w, "sudo" | "exec" | "env" | "time"));
        let prose = first.is_some_and(|w| PROSE.contains(&w));
        let found = first.is_some() && !prose && scan_command(code.trim(), self.line, out);
        if !found && (ROLLBACK_WORDS.is_match(&quoted) || (prose && ROLLBACK_WORDS.is_match(&code)))
        {
            out.rollback_in_prose = true;
        }
    }
}

/// The word a heredoc on this line ends at: `<<EOF`, `<<-'EOF'`, not a
/// here-string (`<<<`) or a shift inside `$(( ))`.
fn heredoc(line: &str) -> Option<String> {
    HEREDOC.captures_iter(line).find_map(|c| {
        let at = c.get(0)?.start();
        let before = &line[..at];
        let arithmetic = before.matches("((").count() > before.matches("))").count();
        (!before.ends_with('<') && !arithmetic).then(|| c[1].to_string())
    })
}

/// The commands in one segment; whether there were any.
fn scan_command(segment: &str, line: u32, out: &mut Scan) -> bool {
    let before = (out.rollbacks.len(), out.deploys.len());
    for (command, re) in ROLLBACKS.iter() {
        if re.is_match(segment) {
            out.rollbacks.push(Found { command, line });
        }
    }
    // `kubectl argo rollouts undo` is not also a deploy; a dry run deploys
    // nothing.
    if out.rollbacks.len() > before.0 {
        return true;
    }
    if DRY_RUN.is_match(segment) {
        return false;
    }
    if let Some((command, _)) = DEPLOYS.iter().find(|(_, re)| re.is_match(segment)) {
        out.deploys.push(Found { command, line });
    }
    if HELM_ATOMIC.is_match(segment) {
        out.helm_atomic.get_or_insert(line);
    }
    let reverts = GIT_REVERT.is_match(segment);
    if reverts {
        out.git_revert.get_or_insert(line);
    }
    if EPHEMERAL_CLUSTER.is_match(segment) {
        out.ephemeral_cluster = true;
    }
    out.deploys.len() > before.1 || reverts
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
        // `$#`, `${#x}` and a quoted `#` are not comments.
        let s = scan("test $# -gt 0 && echo ${#x} 'a # b' && helm rollback web # undo\n");
        assert_eq!(commands(&s.rollbacks), [("helm rollback", 0)]);
    }

    #[test]
    fn quoted_text_arithmetic_and_flags() {
        // Messages that name a rollback command are prose.
        let s = scan(
            "curl -d '{\"text\":\"Deploy failed. To recover: helm rollback web\"}' $SLACK\necho \"Deploy failed; kubectl rollout undo deploy/web\"\nMSG=\"first line\n  then kubectl rollout undo deploy/web\"\n",
        );
        assert!(s.rollbacks.is_empty(), "{s:?}");
        assert!(s.rollback_in_prose);
        // A shift in arithmetic is not a heredoc: what follows is read.
        let s = scan(
            "for i in 1 2 3; do sleep $((1<<i)); done\nhelm upgrade --install web ./chart || kubectl rollout undo deploy/web\n",
        );
        assert_eq!(commands(&s.deploys), [("helm upgrade", 1)]);
        assert_eq!(commands(&s.rollbacks), [("kubectl rollout undo", 1)]);
        // Global flags with values; --atomic=false; a dry run; promotion.
        let s = scan("helm -n prod upgrade web ./c --atomic=false\nhelm -n prod rollback web\n");
        assert_eq!(commands(&s.deploys), [("helm upgrade", 0)]);
        assert_eq!(commands(&s.rollbacks), [("helm rollback", 1)]);
        assert_eq!(s.helm_atomic, None);
        let s = scan(
            "kubectl apply --dry-run=client -f k8s/\ngcloud run services update-traffic web --to-latest\n",
        );
        assert!(s.deploys.is_empty() && s.rollbacks.is_empty(), "{s:?}");
        let s = scan("kind create cluster && kubectl apply -f k8s/\n");
        assert!(s.ephemeral_cluster);
        assert!(!ROLLBACK_WORDS.is_match("deploy-payroll-backend"));
        assert!(ROLLBACK_WORDS.is_match("Roll back the release"));
    }

    #[test]
    fn long_scripts_are_linear() {
        let script = "kubectl apply -f k8s/ # deploy\n".repeat(10_000);
        let s = scan(&script);
        assert_eq!(s.deploys.len(), 10_000);
    }
}
