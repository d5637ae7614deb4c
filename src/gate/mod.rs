//! The run, as a library call: from a plan (what the command line asked)
//! and an environment, decide the flag combinations, read the runner's
//! context, build the GitHub client and the probe runner, scan the head (and
//! the baseline), evaluate, compare, scope to changed lines, render, write
//! and publish. The binary only parses arguments, prints and exits.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::area::Evidence;
use crate::baseline;
use crate::changes::ChangedLines;
use crate::diag::{ConfigError, Error, IoError, NetworkError};
use crate::findings::{FailOn, Report};
use crate::github::{self, api::Api, context::RunnerContext};
use crate::policy::remote::{GithubAccess, LOCK_FILE, Lock, Remotes};
use crate::policy::{self, Policy, engine};
use crate::probe::{Online, Probes};
use crate::report::{self, Format};
use crate::scan::{self, Settings};

pub mod base;
pub mod env;

pub use env::{Captured, Console, Env, ProcessConsole, ProcessEnv};

/// Policy used when neither --policy nor .readygate/policy.yaml is given.
pub const DEFAULT_POLICY: &str = "builtin:production";
/// The repository's own policy, when it has one.
pub const REPO_POLICY: &str = ".readygate/policy.yaml";

/// Which findings to annotate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Annotate {
    All,
    /// Only findings on lines the change touches; the rest are summarised.
    Changed,
}

/// What to scan and how.
#[derive(Debug, Clone, Default)]
pub struct ScanPlan {
    pub root: PathBuf,
    pub settings: Settings,
    /// Live checks (`--online`) and their limits.
    pub online: Option<Online>,
}

/// Variables that make an HTTP client use a proxy.
const PROXY_VARS: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

impl ScanPlan {
    /// The run's probe runner, told which proxy the environment sets.
    pub fn probes(&self, env: &dyn Env) -> Probes {
        Probes::new(self.online.clone().map(|online| {
            Online {
                proxy: PROXY_VARS
                    .iter()
                    .find(|v| env.var(v).is_some())
                    .map(|v| v.to_string()),
                ..online
            }
        }))
    }
}

/// Everything `readygate check` was asked to do.
#[derive(Debug, Clone)]
pub struct CheckPlan {
    pub scan: ScanPlan,
    pub policy: Option<String>,
    pub tier: Option<u8>,
    pub branch: Option<String>,
    pub event: Option<String>,
    pub formats: Vec<Format>,
    pub outputs: Vec<PathBuf>,
    pub github: bool,
    pub require_publish: bool,
    /// The login the GitHub token writes as (`my-app[bot]`): whose sticky
    /// comment is edited and whose app's check run is reused. Default: asked
    /// of `GET /user`, else `github-actions[bot]`.
    pub comment_author: Option<String>,
    pub baseline: Option<String>,
    /// Read the policy and the manifest's judging fields from this ref.
    /// With `--github` on a pull request: its base commit unless given.
    pub policy_ref: Option<String>,
    /// Remote policy packs: where they are cached (`--cache-dir`), and
    /// whether they may be fetched (`--offline`: no).
    pub packs: PackFetch,
    /// Read the policy from the working tree even on a pull request: the
    /// workflow's author accepts that the change can edit its own policy.
    pub policy_from_worktree: bool,
    pub fail_on: FailOn,
    pub annotate: Annotate,
    pub now: Option<NaiveDate>,
    /// Findings of one rule the terminal and Markdown list (`None`: all).
    pub max_per_rule: Option<usize>,
    /// Test history read from GitHub Actions artifacts.
    pub actions_history: Option<ActionsHistory>,
    /// Colour in the terminal report on standard output.
    pub colour: Colour,
    /// Only the verdict line instead of the terminal report.
    pub quiet: bool,
    /// How long each phase took, on standard error.
    pub timings: bool,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Colour {
    /// On a terminal, unless `NO_COLOR` is set; `CLICOLOR_FORCE` forces it.
    #[default]
    Auto,
    /// Always (GitHub Actions logs render it).
    Always,
    Never,
}

impl Colour {
    /// Whether to colour, by <https://no-color.org> and `CLICOLOR_FORCE`:
    /// a non-empty `NO_COLOR` wins over the terminal and over the force.
    pub fn on(self, env: &dyn Env) -> bool {
        let set = |name: &str| env.var(name).is_some_and(|v| !v.is_empty());
        match self {
            Colour::Always => true,
            Colour::Never => false,
            Colour::Auto if set("NO_COLOR") => false,
            Colour::Auto
                if set("CLICOLOR_FORCE") && env.var("CLICOLOR_FORCE").as_deref() != Some("0") =>
            {
                true
            }
            Colour::Auto => env.stdout_is_terminal(),
        }
    }
}

/// How long each phase of a run took (`-v`).
struct Phases {
    /// When the phase under way began.
    since: std::time::Instant,
    done: Vec<(&'static str, std::time::Duration)>,
}

impl Phases {
    fn start() -> Self {
        Self {
            since: std::time::Instant::now(),
            done: Vec::new(),
        }
    }
    /// The phase under way ended.
    fn mark(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        self.done.push((phase, now - self.since));
        self.since = now;
    }
    fn say(&self, console: &mut dyn Console) {
        for (phase, took) in &self.done {
            console.err(&format!("readygate: {phase} {:.3} s", took.as_secs_f64()));
        }
    }
}

/// How remote policy packs are fetched.
#[derive(Debug, Clone, Default)]
pub struct PackFetch {
    pub cache_dir: Option<PathBuf>,
    pub offline: bool,
    /// `--allow-unpinned`.
    pub allow_unpinned: bool,
    /// `--pack-allow-private`.
    pub allow_private: bool,
    /// `--pack-ca-file`.
    pub ca_file: Option<PathBuf>,
    /// `--pack-timeout`; `None`: the default.
    pub timeout: Option<std::time::Duration>,
}

impl PackFetch {
    /// The run's [`Remotes`], with the lock file's text when there is one.
    pub fn remotes(
        &self,
        env: &dyn Env,
        lock: Option<(&str, String)>,
    ) -> Result<Remotes, ConfigError> {
        let lock = match lock {
            Some((file, text)) => Some(Lock::parse(&text).map_err(|e| {
                e.in_file(file)
                    .hint("regenerate it with `readygate policy update`")
            })?),
            None => None,
        };
        let mut remotes = Remotes::new(
            self.cache_dir.clone().or_else(|| default_cache_dir(env)),
            self.offline,
            lock,
            false,
        );
        remotes.allow_unpinned = self.allow_unpinned;
        remotes.net.allow_private = self.allow_private;
        if let Some(t) = self.timeout {
            remotes.net.timeout = t;
        }
        if let Some(ca) = &self.ca_file {
            remotes.net.extra_roots = crate::probe::tls::read_ca_file(ca, "--pack-ca-file")?;
            remotes.net.ca_file = Some(ca.clone());
        }
        remotes.github = GithubAccess {
            api: env.var("GITHUB_API_URL").unwrap_or_default(),
            token: env.var("GITHUB_TOKEN").filter(|t| !t.is_empty()),
        };
        Ok(remotes)
    }
}

/// `$XDG_CACHE_HOME/readygate`, else `~/.cache/readygate`.
fn default_cache_dir(env: &dyn Env) -> Option<PathBuf> {
    env.var("XDG_CACHE_HOME")
        .map(|d| PathBuf::from(d).join("readygate"))
        .or_else(|| {
            env.var("HOME")
                .map(|h| PathBuf::from(h).join(".cache/readygate"))
        })
}

/// The repository's lock file, next to its policy.
pub fn lock_path(root: &Path) -> PathBuf {
    root.join(REPO_POLICY)
        .parent()
        .map_or_else(|| root.to_path_buf(), Path::to_path_buf)
        .join(LOCK_FILE)
}

/// `--actions-history`: which artifacts, how many runs, where to keep them.
#[derive(Debug, Clone)]
pub struct ActionsHistory {
    pub artifact: String,
    pub runs: usize,
    pub cache_dir: Option<PathBuf>,
}

/// The largest artifact downloaded, zipped.
const MAX_ARTIFACT_DOWNLOAD: u64 = 512 << 20;
/// The most one artifact may unpack to.
const MAX_ARTIFACT_UNPACKED: u64 = 2 << 30;

/// Findings of one rule listed by default before "and N more like this".
pub const DEFAULT_MAX_PER_RULE: usize = 10;

impl CheckPlan {
    /// A plan with every option at its command-line default.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            scan: ScanPlan {
                root: root.into(),
                ..ScanPlan::default()
            },
            policy: None,
            tier: None,
            branch: None,
            event: None,
            formats: Vec::new(),
            outputs: Vec::new(),
            github: false,
            require_publish: false,
            comment_author: None,
            baseline: None,
            policy_ref: None,
            packs: PackFetch::default(),
            policy_from_worktree: false,
            fail_on: FailOn::All,
            annotate: Annotate::All,
            now: None,
            max_per_rule: Some(DEFAULT_MAX_PER_RULE),
            actions_history: None,
            colour: Colour::Auto,
            quiet: false,
            timings: false,
        }
    }
}

/// What a check run decided. Its report went to the console as it ran.
#[derive(Debug)]
pub struct CheckRun {
    pub report: Report,
    pub exit_code: u8,
}

/// What the run needs before it reads anything: the runner's context and
/// the GitHub client, after the flag combinations it refuses outright.
struct Decided {
    runner: Option<RunnerContext>,
    api: Option<Api>,
}

fn decide(plan: &CheckPlan, env: &dyn Env) -> Result<Decided, Error> {
    // The runner's context first: a bad event payload stops the run before
    // any scanning or probing.
    let runner = if plan.github {
        Some(RunnerContext::from_env(|name| env.var(name))?.ok_or_else(|| {
            ConfigError::new("--github needs the GitHub Actions environment")
                .hint("GITHUB_ACTIONS=true, GITHUB_EVENT_NAME and GITHUB_REPOSITORY are set on runners; drop --github elsewhere")
        })?)
    } else {
        None
    };
    if plan.fail_on == FailOn::New && plan.baseline.is_none() {
        return Err(ConfigError::new("--fail-on new needs --baseline REF")
            .hint("new is judged against a base ref, e.g. --baseline origin/main")
            .into());
    }
    if plan.annotate == Annotate::Changed && runner.is_none() && plan.baseline.is_none() {
        return Err(ConfigError::new(
            "--annotate changed needs a pull request (--github) or --baseline REF",
        )
        .hint("the changed lines come from the pull request's files, else from `git diff REF`")
        .into());
    }
    // Built before the scan, once, so a later area can read CI history
    // through it; the pull request's files and publishing use it today.
    let api = match (&runner, env.var("GITHUB_TOKEN")) {
        (Some(runner), Some(token)) => Some(Api::new(&runner.api_url, token)?),
        _ => None,
    };
    if plan.policy_from_worktree && plan.policy_ref.is_some() {
        return Err(ConfigError::new(
            "--policy-ref and --policy-from-worktree contradict each other",
        )
        .hint("give one: the ref to read the policy from, or the working tree")
        .into());
    }
    Ok(Decided { runner, api })
}

/// `--actions-history`: the runs of the branch judged, fetched into the
/// cache, as a history folder. What could not be fetched is logged; the
/// tests area reads what was.
fn actions_history(
    history: &ActionsHistory,
    plan: &CheckPlan,
    runner: Option<&RunnerContext>,
    api: Option<&Api>,
    env: &dyn Env,
    console: &mut dyn Console,
) -> Result<PathBuf, Error> {
    let (Some(runner), Some(api)) = (runner, api) else {
        return Err(
            ConfigError::new("--actions-history needs --github and GITHUB_TOKEN")
                .hint("on a runner, pass `token: ${{ github.token }}` with `actions: read`")
                .into(),
        );
    };
    let cache_dir = history
        .cache_dir
        .clone()
        .or_else(|| default_cache_dir(env))
        .ok_or_else(|| {
            ConfigError::new("no cache directory: give --cache-dir")
                .hint("neither XDG_CACHE_HOME nor HOME is set")
        })?;
    let request = crate::github::actions::HistoryRequest {
        repository: runner.repository.clone(),
        // The branch judged: a pull request's base, else the ref built.
        branch: plan.branch.clone().or_else(|| {
            let event = plan.event.clone().unwrap_or_else(|| detect_event(env));
            detect_branch(&plan.scan.root, &event, env)
        }),
        artifact: history.artifact.clone(),
        runs: history.runs,
        cache_dir,
        max_download: MAX_ARTIFACT_DOWNLOAD,
        max_unpacked: MAX_ARTIFACT_UNPACKED,
    };
    let fetched = crate::github::api::block_on(crate::github::actions::fetch(api, &request))?
        .map_err(|e| {
            crate::diag::NetworkError(format!("reading the Actions history failed: {e}"))
        })?;
    console.err(&format!(
        "test history: {} runs of {} ({} downloaded, {} from the cache)",
        fetched.runs, runner.repository, fetched.downloaded, fetched.cached
    ));
    for note in &fetched.notes {
        console.err(&format!("test history: {note}"));
    }
    Ok(fetched.dir)
}

/// Where the policy comes from: `--policy-ref`, else on a pull request its
/// base commit, else (or with `--policy-from-worktree`) the working tree.
fn policy_ref(
    plan: &CheckPlan,
    runner: Option<&RunnerContext>,
) -> Result<Option<String>, ConfigError> {
    if plan.policy_ref.is_some() || plan.policy_from_worktree {
        return Ok(plan.policy_ref.clone());
    }
    match runner.and_then(|r| r.pull_request.as_ref()) {
        None => Ok(None),
        Some(pr) => match &pr.base_sha {
            Some(sha) => Ok(Some(sha.clone())),
            None => Err(ConfigError::new(
                "the pull_request event has no `pull_request.base.sha`, so the policy cannot be read from the base",
            )
            .hint("pass --policy-ref REF (the base branch's commit), or --policy-from-worktree to let the change's own policy judge it")),
        },
    }
}

/// The formats to render, each with its file or standard output.
fn formats(plan: &CheckPlan) -> Result<Vec<Format>, ConfigError> {
    let formats = match (plan.formats.is_empty(), plan.github) {
        (true, true) => vec![Format::Github],
        (true, false) => vec![Format::Terminal],
        (false, _) => plan.formats.clone(),
    };
    if plan.outputs.len() > formats.len() {
        return Err(ConfigError::new("more --output than --format")
            .hint("each --output takes the --format at the same position"));
    }
    // `--output report.json` alone writes the terminal report there.
    for (format, path) in formats.iter().zip(&plan.outputs) {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        let meant = match ext {
            "json" => Some(Format::Json),
            "sarif" => Some(Format::Sarif),
            "md" => Some(Format::Markdown),
            "xml" => Some(Format::Junit),
            _ => None,
        };
        let name = |f: &Format| format!("{f:?}").to_lowercase();
        if let Some(wanted) = meant
            && *format != wanted
            && plan.formats.is_empty()
        {
            return Err(ConfigError::new(format!(
                "--output {} without --format: it would hold the {} report",
                path.display(),
                name(format)
            ))
            .hint(format!("add --format {} before --output", name(&wanted))));
        }
    }
    if formats.len() - plan.outputs.len() > 1 {
        return Err(
            ConfigError::new("several --format values would go to standard output")
                .hint("give every --format but one an --output FILE"),
        );
    }
    Ok(formats)
}

/// The schemas readygate publishes, by file name under `schemas/`.
pub fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("evidence.schema.json", crate::area::schema()),
        ("manifest.schema.json", crate::schema::manifest()),
        ("policy.schema.json", policy::schema()),
        (
            "report.schema.json",
            crate::schema::generate::<crate::findings::Report>("report.schema.json"),
        ),
    ]
}

/// `readygate policy lint`: load a pack and everything it extends; one line
/// saying what it holds.
pub fn lint(
    file: &str,
    evidence_file: Option<&Path>,
    packs: &PackFetch,
    env: &dyn Env,
) -> Result<String, Error> {
    let policy = load_policy_with(Some(file), cwd(), &packs.remotes(env, None)?)?;
    let warnings = lint_warnings(&policy, evidence_file)?;
    let enabled = policy.rules.iter().filter(|r| r.enabled).count();
    let chain: Vec<&str> = policy.packs.iter().map(|p| p.source.as_str()).collect();
    let mut out = crate::escape::line(&format!(
        "ok: {file}: {} rules ({enabled} enabled), {} waivers, levels {}; chain: {}",
        policy.rules.len(),
        policy.waivers.len(),
        policy.levels.join(" < "),
        chain.join(" → ")
    ));
    // The params each check runs with, inherited and overridden merged.
    for rule in &policy.rules {
        if let policy::Logic::Check { raw, .. } = &rule.logic
            && !raw.is_null()
            && rule.enabled
        {
            out.push('\n');
            out.push_str(&crate::escape::line(&format!(
                "  {} params: {raw}",
                rule.id
            )));
        }
    }
    for w in warnings {
        out.push('\n');
        out.push_str(&crate::escape::line(&format!("warning: {w}")));
    }
    Ok(out)
}

/// `readygate explain RULE`: the rule's explanation, or which rules exist.
pub fn explain_rule(policy: &Policy, source: &str, id: Option<&str>) -> Result<String, Error> {
    let id = id.unwrap_or_default();
    let named = policy::named(&policy.rules, id);
    if let Some((message, hint)) = named.ambiguity(id) {
        return Err(ConfigError::new(message).hint(hint).into());
    }
    match policy.rule(id) {
        Some(rule) => Ok(crate::docs::explain(rule)),
        None => {
            let ids: Vec<&str> = policy.rules.iter().map(|r| r.id.as_str()).collect();
            let hint = match crate::diag::closest(id, ids.iter().copied()) {
                Some(r) => format!("did you mean `{r}`? rules: {}", ids.join(", ")),
                None => format!("rules: {}", ids.join(", ")),
            };
            Err(ConfigError::new(format!("no rule `{id}` in {source}"))
                .hint(hint)
                .into())
        }
    }
}

/// `readygate init`: write a starter manifest from what the repository
/// shows; one line saying what was written.
pub fn init(root: &Path, force: bool) -> Result<String, Error> {
    let target = root.join("readygate.yaml");
    if target.exists() && !force {
        return Err(
            ConfigError::new(format!("{} already exists", target.display()))
                .hint("pass --force to overwrite it")
                .into(),
        );
    }
    let ev = evidence(
        &ScanPlan {
            root: root.to_path_buf(),
            ..ScanPlan::default()
        },
        &ProcessEnv,
    )?;
    let text = crate::init::starter_manifest(root, &ev);
    std::fs::write(&target, text)
        .map_err(|e| IoError::new(format!("cannot write {}", target.display()), e))?;
    Ok(format!(
        "wrote {}; check the tier and owners it guessed, then run `readygate check`",
        target.display()
    ))
}

/// Scan a repository for its evidence (`readygate evidence`).
pub fn evidence(plan: &ScanPlan, env: &dyn Env) -> Result<Evidence, Error> {
    scan::scan(&plan.root, &plan.settings, &plan.probes(env))
}

/// Load the policy: `--policy`, else the repository's own, else the default.
/// The repository's own policy stays inside the repository; a `--policy`
/// the workflow's author gives may live anywhere.
pub fn load_policy(
    spec: Option<&str>,
    root: &Path,
    packs: &PackFetch,
    env: &dyn Env,
) -> Result<Policy, ConfigError> {
    load_policy_with(spec, root, &repo_remotes(spec, root, packs, env)?)
}

/// The remotes a policy load uses: the repository's lock file applies to
/// the repository's own policy.
fn repo_remotes(
    spec: Option<&str>,
    root: &Path,
    packs: &PackFetch,
    env: &dyn Env,
) -> Result<Remotes, ConfigError> {
    let lock = lock_path(root);
    let shown = lock.display().to_string();
    // The lock is the change's own file: a regular file in the repository,
    // bounded, and an error never quotes it.
    let text = match (spec, std::fs::symlink_metadata(&lock)) {
        (Some(_), _) | (None, Err(_)) => None,
        (None, Ok(meta)) if meta.file_type().is_symlink() => {
            return Err(ConfigError::new(format!("{shown} is a symlink")).hint(
                "the lock file is a regular file; regenerate it with `readygate policy update`",
            ));
        }
        (None, Ok(_)) => Some(
            crate::document::read_regular_file(&lock, crate::policy::source::MAX_PACK_BYTES)
                .map_err(|e| {
                    ConfigError::new(format!("cannot read {shown}: {e}"))
                        .hint("regenerate it with `readygate policy update`")
                })?,
        ),
    };
    packs.remotes(env, text.map(|t| (shown.as_str(), t)))
}

fn load_policy_with(
    spec: Option<&str>,
    root: &Path,
    remotes: &Remotes,
) -> Result<Policy, ConfigError> {
    let cwd_base = policy::source::Base::Dir {
        dir: cwd().to_path_buf(),
        confined: None,
    };
    match spec {
        Some(spec) => policy::load::load_with(spec, &cwd_base, remotes),
        None if root.join(REPO_POLICY).is_file() => {
            let confined = root
                .canonicalize()
                .map_err(|e| ConfigError::new(format!("cannot read {}: {e}", root.display())))?;
            policy::load::load_with(
                REPO_POLICY,
                &policy::source::Base::Dir {
                    dir: root.to_path_buf(),
                    confined: Some(confined),
                },
                remotes,
            )
        }
        None => policy::load(DEFAULT_POLICY, cwd()),
    }
}

/// Largest saved evidence document read (10 000 alerts make 20 MB).
const MAX_EVIDENCE_BYTES: u64 = 256 << 20;

/// A saved evidence document (`readygate evidence --format json`): a
/// regular file, bounded (a case may name `/dev/zero`).
fn read_evidence(path: &Path) -> Result<Evidence, Error> {
    let text = crate::document::read_regular_file(path, MAX_EVIDENCE_BYTES)
        .map_err(|e| IoError::new(format!("cannot read {}", path.display()), e))?;
    Ok(serde_json::from_str(&text).map_err(|e| {
        ConfigError::new(format!("{}: not an evidence document: {e}", path.display()))
            .hint("write one with `readygate evidence DIR --format json`")
    })?)
}

/// What `policy lint` warns of: waivers expired or expiring within 14 days,
/// and with `--evidence FILE` waivers that match no finding of it.
fn lint_warnings(policy: &Policy, evidence_file: Option<&Path>) -> Result<Vec<String>, Error> {
    let today = chrono::Utc::now().date_naive();
    let mut out = policy.collisions.clone();
    let schema = crate::area::schema();
    for rule in &policy.rules {
        if let policy::Logic::Expr(expr) = &rule.logic {
            for field in policy::fields::unknown_fields(expr.ast(), expr.each_path(), &schema) {
                out.push(format!("{}: rule `{}` reads {field}", rule.origin, rule.id));
            }
        }
    }
    for w in &policy.waivers {
        let days = (w.expires - today).num_days();
        if days < 0 {
            out.push(format!(
                "{}: waiver of `{}` expired on {} (a failure in every run)",
                w.origin, w.rule, w.expires
            ));
        } else if days < 14 {
            out.push(format!(
                "{}: waiver of `{}` expires on {} ({days} days)",
                w.origin, w.rule, w.expires
            ));
        }
    }
    if let Some(path) = evidence_file {
        // A repository is scanned (offline) for its evidence.
        let evidence = if path.is_dir() {
            scan::scan(path, &Settings::default(), &Probes::new(None))?
        } else {
            read_evidence(path)?
        };
        let report = engine::evaluate(policy, &evidence, &engine::Context::local(None, today));
        for w in &policy.waivers {
            let used = report.findings.iter().any(|f| {
                f.waiver
                    .as_ref()
                    .is_some_and(|r| r.location == w.origin.location())
            });
            if !used {
                out.push(format!(
                    "{}: waiver of `{}`{} matches no finding in {}",
                    w.origin,
                    w.rule,
                    w.target
                        .as_deref()
                        .map(|t| format!(" for `{t}`"))
                        .unwrap_or_default(),
                    path.display()
                ));
            }
        }
    }
    Ok(out)
}

/// `readygate policy test DIR`: every case in DIR; the report and whether
/// all passed.
pub fn policy_test(dir: &Path, packs: &PackFetch, env: &dyn Env) -> Result<(String, bool), Error> {
    use crate::policy::test::{Case, cases, compare};
    let files =
        cases(dir).map_err(|e| IoError::new(format!("cannot read {}", dir.display()), e))?;
    if files.is_empty() {
        return Err(
            ConfigError::new(format!("no *.case.yaml in {}", dir.display()))
                .hint("a case names `policy:`, `evidence:` (or `repo:`) and `expect:` per rule")
                .into(),
        );
    }
    let remotes = packs.remotes(env, None)?;
    let (mut out, mut failed) = (String::new(), 0);
    for file in &files {
        let shown = file.display().to_string();
        let text = crate::document::read_regular_file(file, crate::policy::source::MAX_PACK_BYTES)
            .map_err(|e| IoError::new(format!("cannot read {shown}"), e))?;
        let node = crate::yaml::parse_single(&text).map_err(|e| {
            ConfigError::new(format!("not valid YAML: {}", e.message))
                .in_file(&shown)
                .at(e.pos)
        })?;
        let case: Case = serde_json::from_value(node.to_json()).map_err(|e| {
            ConfigError::new(e.to_string())
                .in_file(&shown)
                .at(node.pos)
                .hint("keys: policy, evidence or repo, tier, now, expect")
        })?;
        let here = file.parent().unwrap_or(Path::new("."));
        let spec = match case.policy.strip_prefix("builtin:") {
            Some(_) => case.policy.clone(),
            None if case.policy.starts_with("git+") => case.policy.clone(),
            None => here.join(&case.policy).display().to_string(),
        };
        let policy = load_policy_with(Some(&spec), cwd(), &remotes)?;
        let evidence = match (&case.evidence, &case.repo) {
            (Some(ev), None) => read_evidence(&here.join(ev))?,
            (None, Some(repo)) => evidence(
                &ScanPlan {
                    root: here.join(repo),
                    ..ScanPlan::default()
                },
                env,
            )?,
            _ => {
                return Err(
                    ConfigError::new("a case names exactly one of `evidence` and `repo`")
                        .in_file(&shown)
                        .into(),
                );
            }
        };
        let today = case.now.unwrap_or_else(|| chrono::Utc::now().date_naive());
        let report = engine::evaluate(
            &policy,
            &evidence,
            &engine::Context::local(case.tier, today),
        );
        // An expectation may name a rule in full (`PACK/ID`); findings
        // carry the id as reported.
        let expect = case
            .expect
            .into_iter()
            .map(|(id, want)| (policy.rule(&id).map_or(id, |r| r.id.clone()), want))
            .collect();
        let wrong = compare(&report.findings, &expect);
        if wrong.is_empty() {
            out.push_str(&format!("ok   {shown} ({} rule(s))\n", expect.len()));
        } else {
            failed += 1;
            out.push_str(&format!("FAIL {shown}\n"));
            for w in wrong {
                out.push_str(&format!("  {w}\n"));
            }
        }
    }
    out.push_str(&format!("{} case(s), {failed} failed\n", files.len()));
    Ok((crate::escape::lines(&out), failed == 0))
}

/// `readygate policy show`: the effective policy, each rule with where
/// each of its fields comes from.
pub fn show(file: &str, packs: &PackFetch, env: &dyn Env) -> Result<String, Error> {
    let policy = load_policy_with(Some(file), cwd(), &packs.remotes(env, None)?)?;
    let mut out = String::new();
    let chain: Vec<String> = policy
        .packs
        .iter()
        .map(|p| format!("{} ({})", p.name, p.source))
        .collect();
    out.push_str(&format!("packs: {}\n", chain.join(" → ")));
    out.push_str(&format!("levels: {}\n", policy.levels.join(" < ")));
    for rule in &policy.rules {
        let logic = match &rule.logic {
            policy::Logic::Check { check, raw, .. } if raw.is_null() => {
                format!("check {}", check.id())
            }
            policy::Logic::Check { check, raw, .. } => format!("check {} {raw}", check.id()),
            policy::Logic::Expr(e) => format!("expr {}", e.source),
        };
        out.push_str(&format!(
            "\n{}{}\n  defined by {} at {}\n  level {}, severity {}, on_unknown {}{}{}\n  {logic}\n",
            rule.id,
            if rule.enabled { "" } else { " (disabled)" },
            rule.pack,
            rule.origin,
            rule.level,
            format!("{:?}", rule.severity).to_lowercase(),
            format!("{:?}", rule.on_unknown).to_lowercase(),
            rule.enable_on.map(|d| format!(", enabled on {d}")).unwrap_or_default(),
            if rule.locked { ", locked" } else { "" },
        ));
        for (field, pack, at) in &rule.overridden {
            out.push_str(&format!("  {field} from {pack} at {at}\n"));
        }
    }
    for waiver in &policy.waivers {
        out.push_str(&format!(
            "\nwaiver {} {} until {} ({}) at {}\n",
            waiver.rule,
            waiver.target.as_deref().unwrap_or("*"),
            waiver.expires,
            waiver.owner,
            waiver.origin
        ));
    }
    Ok(crate::escape::lines(&out))
}

/// `readygate policy update`: resolve every remote pack the repository's
/// policy extends afresh and write the lock file; what it wrote.
pub fn update_lock(root: &Path, packs: &PackFetch, env: &dyn Env) -> Result<String, Error> {
    if !root.join(REPO_POLICY).is_file() {
        return Err(
            ConfigError::new(format!("no {} in {}", REPO_POLICY, root.display()))
                .hint("the lock file records what the repository's own policy extends")
                .into(),
        );
    }
    let mut remotes = packs.remotes(env, None)?;
    remotes.update = true;
    load_policy_with(None, root, &remotes)?;
    let sources = remotes.resolved();
    let path = lock_path(root);
    if sources.is_empty() {
        return Ok(format!(
            "{REPO_POLICY} extends no remote pack; nothing to lock ({} not written)",
            path.display()
        ));
    }
    let n = sources.len();
    let text = Lock {
        version: 1,
        sources,
    }
    .render();
    write_in_repo(root, &path, &text)?;
    Ok(crate::escape::line(&format!(
        "wrote {}: {n} remote pack(s) at the commits their refs name now; commit it",
        path.display()
    )))
}

/// Write `path` (a file the gate owns in the repository) whole, by
/// renaming a temporary file over it: a symlink there is replaced, never
/// followed, and a directory that leads out of the repository is refused.
fn write_in_repo(root: &Path, path: &Path, text: &str) -> Result<(), Error> {
    use std::io::Write;
    let failed = |e: std::io::Error| IoError::new(format!("cannot write {}", path.display()), e);
    let dir = path.parent().unwrap_or(root);
    let inside = match (dir.canonicalize(), root.canonicalize()) {
        (Ok(d), Ok(r)) => d.starts_with(r),
        _ => false,
    };
    if !inside {
        return Err(ConfigError::new(format!(
            "{} is not inside the repository (a symlinked directory?)",
            dir.display()
        ))
        .into());
    }
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    tmp.write_all(text.as_bytes()).map_err(failed)?;
    tmp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

/// Paths the user typed are resolved from the working directory as written.
pub fn cwd() -> &'static Path {
    Path::new("")
}

/// The event a run is for: explicit, then GitHub's, then GitLab's (a merge
/// request pipeline is a `pull_request`), else `local`.
fn detect_event(env: &dyn Env) -> String {
    if let Some(event) = env.var("GITHUB_EVENT_NAME") {
        return event;
    }
    match env.var("CI_PIPELINE_SOURCE").as_deref() {
        Some("merge_request_event") => "pull_request".into(),
        Some(source) => source.to_string(),
        None => "local".into(),
    }
}

/// The branch a run is judged for: for a pull or merge request its target,
/// else the runner's branch (GitHub, GitLab), else the checkout's, asked of
/// git (so a subdirectory or a worktree works too).
fn detect_branch(root: &Path, event: &str, env: &dyn Env) -> Option<String> {
    if matches!(event, "pull_request" | "pull_request_target") {
        let target = env
            .var("GITHUB_BASE_REF")
            .or_else(|| env.var("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"));
        if target.is_some() {
            return target;
        }
    }
    env.var("GITHUB_REF_NAME")
        .or_else(|| env.var("CI_COMMIT_REF_NAME"))
        .or_else(|| crate::git::current_branch(root))
}

/// `readygate check`: the whole run. The report and messages go to
/// `console` as soon as they are known, so an error later in the run (a
/// file that cannot be written, publishing that must succeed) leaves them
/// printed.
pub fn check(plan: CheckPlan, env: &dyn Env, console: &mut dyn Console) -> Result<CheckRun, Error> {
    if plan.quiet {
        crate::progress::silence();
    }
    let mut phases = Phases::start();
    let Decided { runner, api } = decide(&plan, env)?;
    let root = &plan.scan.root;
    let probes = plan.scan.probes(env);
    // Under --policy-ref the base decides how the head is judged; it is read
    // first because it also shapes how the head's evidence is assembled.
    let from_base = match policy_ref(&plan, runner.as_ref())? {
        Some(reference) => Some(base::read(
            root,
            &reference,
            plan.policy.as_deref(),
            &plan.packs,
            env,
        )?),
        None => None,
    };
    let mut settings = plan.scan.settings.clone();
    settings.judging = from_base.as_ref().map(|b| b.judging.clone());
    if let Some(history) = &plan.actions_history {
        let dir = actions_history(history, &plan, runner.as_ref(), api.as_ref(), env, console)?;
        settings.inputs.junit_history = Some(dir);
    }
    phases.mark("setup (runner, policy ref, test history)");
    let evidence = scan::scan(root, &settings, &probes)?;
    phases.mark("scan");
    // The head's own policy, under --policy-ref, only to show what the
    // change would do to it.
    let policy_ref = from_base.as_ref().map(|b| {
        let head = evidence.service.manifest.as_ref().map(|m| &m.manifest);
        let ignore = crate::evidence::scope::read_ignore_file(root);
        let catalog = evidence
            .service
            .catalog
            .iter()
            .find_map(|c| c.lifecycle.as_deref());
        base::head_changes(
            b,
            load_policy(plan.policy.as_deref(), root, &plan.packs, env),
            head,
            ignore.as_deref(),
            catalog,
        )
    });
    let policy = match from_base {
        Some(b) => b.policy,
        None => load_policy(plan.policy.as_deref(), root, &plan.packs, env)?,
    };
    let event = plan.event.clone().unwrap_or_else(|| detect_event(env));
    let branch = plan
        .branch
        .clone()
        .or_else(|| detect_branch(root, &event, env));
    let ctx = engine::Context {
        tier: plan.tier,
        branch,
        event,
        today: plan.now.unwrap_or_else(|| chrono::Utc::now().date_naive()),
        judging: settings.judging.clone(),
    };
    let mut report = engine::evaluate(&policy, &evidence, &ctx);
    phases.mark("policy and evaluation");
    report.policy_ref = policy_ref;
    report.max_per_rule = plan.max_per_rule;
    let mut base_commit = None;
    if let Some(reference) = &plan.baseline {
        let base = baseline::checkout(root, reference)?;
        // The head's policy on the base's files: what changed is the code.
        let base_settings = Settings {
            tree: Some(base.files.clone()),
            ..settings.for_copy_of(root)
        };
        let base_evidence = scan::scan(&base.root, &base_settings, &probes).map_err(|e| {
            ConfigError::new(format!("the baseline {reference} cannot be evaluated: {e}"))
                .hint("fix it on the base branch, or drop --baseline")
        })?;
        base.read_whole(reference)?;
        let base_report = engine::evaluate(&policy, &base_evidence, &ctx);
        baseline::compare::compare(
            &mut report,
            &base_report,
            reference,
            &base.commit,
            plan.fail_on,
        );
        base_commit = Some(base.commit.clone());
        phases.mark("baseline");
    }
    let prefix = runner
        .as_ref()
        .map(|r| r.prefix_of(root))
        .unwrap_or_default();
    if plan.annotate == Annotate::Changed {
        let changed = changed_lines(
            runner.as_ref(),
            api.as_ref(),
            root,
            &prefix,
            plan.baseline.as_deref().zip(base_commit.as_deref()),
            console,
        )?;
        match changed {
            Some(changed) => changed.mark(&mut report),
            None => console.err(
                "readygate: --annotate changed: this is not a pull request and there is no --baseline, so every finding is annotated",
            ),
        }
    }
    // Paths relative to the repository from here on, as GitHub reads them.
    report.prefix_paths(&prefix);
    let formats = formats(&plan)?;
    for (i, format) in formats.iter().enumerate() {
        match plan.outputs.get(i) {
            Some(path) => {
                let text = report::render(&report, *format, false);
                std::fs::write(path, text)
                    .map_err(|e| IoError::new(format!("cannot write {}", path.display()), e))?;
            }
            None if plan.quiet && *format == Format::Terminal => {
                console.out(&format!("verdict: {}\n", report::verdict_line(&report)));
            }
            None => {
                let colour = *format == Format::Terminal && plan.colour.on(env);
                console.out(&report::render(&report, *format, colour));
            }
        }
    }
    if formats.len() == plan.outputs.len() {
        console.err(&format!("verdict: {}", report::verdict_line(&report)));
    }
    if let Some(runner) = &runner {
        let files: Vec<(&str, &Path)> = formats
            .iter()
            .zip(&plan.outputs)
            .filter_map(|(f, path)| match f {
                Format::Json => Some(("report-json", path.as_path())),
                Format::Sarif => Some(("sarif-file", path.as_path())),
                _ => None,
            })
            .collect();
        github::runner::write_summary(&report, runner)
            .and_then(|()| github::runner::write_outputs(&report, runner, &files))
            .map_err(|e| IoError::new("cannot write the job summary or step outputs", e))?;
        let published = match &api {
            Some(api) => {
                github::publish::publish(
                    &report,
                    runner,
                    api,
                    plan.comment_author.as_deref(),
                    &prefix,
                )
            }
            None => github::publish::Published {
                log: vec!["readygate: no GITHUB_TOKEN, so no check run or pull request comment; annotations are in this log".into()],
                failed: true,
            },
        };
        for line in &published.log {
            console.err(line);
        }
        if published.failed && plan.require_publish {
            return Err(NetworkError(
                "publishing to GitHub failed and --require-publish is set".into(),
            )
            .into());
        }
    }
    phases.mark("report and publish");
    if plan.timings {
        phases.say(console);
    }
    let exit_code = report.exit_code() as u8;
    Ok(CheckRun { report, exit_code })
}

/// The lines the change under review touches, relative to `root`: the
/// pull request's files when on one (and the token can read them), else
/// `git diff` against the baseline's commit. `None`: nothing to scope by.
fn changed_lines(
    runner: Option<&RunnerContext>,
    api: Option<&Api>,
    root: &Path,
    prefix: &str,
    baseline: Option<(&str, &str)>,
    console: &mut dyn Console,
) -> Result<Option<ChangedLines>, Error> {
    if let (Some(runner), Some(pr)) = (runner, runner.and_then(|r| r.pull_request.as_ref())) {
        let fetched = match api {
            Some(api) => github::api::block_on(github::pulls::changed_lines(
                api,
                &runner.repository,
                pr.number,
            ))
            .map_err(|e| e.0)
            .and_then(|r| r.map_err(|e| e.to_string())),
            None => Err("no GITHUB_TOKEN".to_string()),
        };
        match fetched {
            Ok((changed, cut)) => {
                if cut {
                    console.err(&format!(
                        "readygate: GitHub lists only the first {} files of #{}; findings in the others count as elsewhere",
                        github::pulls::MAX_FILES,
                        pr.number
                    ));
                }
                return Ok(Some(changed.under(prefix)));
            }
            Err(e) => console.err(&format!(
                "readygate: cannot read the files of #{} ({e}){}",
                pr.number,
                if baseline.is_some() {
                    "; using git diff against the baseline"
                } else {
                    "; annotating every finding"
                }
            )),
        }
    }
    let Some((reference, commit)) = baseline else {
        return Ok(None);
    };
    Ok(Some(baseline::diff(root, reference, commit)?))
}

#[cfg(test)]
mod tests;
