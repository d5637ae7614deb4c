//! The readygate command line. Exit codes: 0 pass, 1 the policy blocks,
//! 2 usage, configuration or input error.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use readygate::changes::ChangedLines;
use readygate::diag::ConfigError;
use readygate::discover::{DEFAULT_MAX_FILE_SIZE, Options};
use readygate::evidence::Evidence;
use readygate::findings::FailOn;
use readygate::github::{self, context::RunnerContext};
use readygate::policy::{self, Policy, engine};
use readygate::probe::{Online, runbooks::PageCache};
use readygate::report::{self, Format};
use readygate::{baseline, docs, init, scan, schema, yaml};

/// Policy used when neither --policy nor .readygate/policy.yaml is given.
const DEFAULT_POLICY: &str = "builtin:production";
const REPO_POLICY: &str = ".readygate/policy.yaml";

#[derive(Parser)]
#[command(
    name = "readygate",
    version,
    about = "Production-readiness gate: evidence from the repository, policy packs, a verdict."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Collect evidence, evaluate the policy and decide (exit 1 when blocked).
    Check(CheckArgs),
    /// Print the evidence document the policy is evaluated against.
    Evidence(EvidenceArgs),
    /// Explain a rule: why it exists and how to fix it.
    Explain(ExplainArgs),
    /// Work with policy packs.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Write a starter readygate.yaml from what the repository shows.
    Init {
        /// Repository root.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Overwrite an existing readygate.yaml.
        #[arg(long)]
        force: bool,
    },
    /// Print or write the JSON Schemas (evidence, manifest, policy).
    Schema {
        /// Write every schema into this directory instead of printing.
        #[arg(long)]
        write: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a pack and everything it extends.
    Lint { file: String },
}

#[derive(Args)]
struct WalkArgs {
    /// Repository root.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Files larger than this (bytes) are reported, not read.
    #[arg(long, default_value_t = DEFAULT_MAX_FILE_SIZE)]
    max_file_size: u64,
    /// This repository's web address, so runbook URLs into it are checked
    /// against the checkout. Default: the `origin` remote.
    #[arg(long)]
    repo_url: Option<String>,
    /// Fetch external runbook URLs (status, and whether the page mentions
    /// the alert).
    #[arg(long)]
    online: bool,
    /// Seconds per request when --online.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    online_timeout: u64,
    /// Seconds for all requests together when --online.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    online_deadline: u64,
    /// Requests in flight at once when --online.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    online_concurrency: u64,
    /// Let --online reach loopback, private and link-local addresses
    /// (internal wikis). Off by default.
    #[arg(long)]
    online_allow_private: bool,
}

impl WalkArgs {
    fn scan(&self) -> Result<Evidence, ConfigError> {
        scan::scan(&self.path, &self.settings())
    }

    fn settings(&self) -> scan::Settings {
        scan::Settings {
            walk: Options {
                max_file_size: self.max_file_size,
                ..Options::default()
            },
            repo_url: self.repo_url.clone(),
            online: self.online.then(|| Online {
                timeout: Duration::from_secs(self.online_timeout),
                deadline: Duration::from_secs(self.online_deadline),
                concurrency: self.online_concurrency as usize,
                allow_private: self.online_allow_private,
                ..Online::default()
            }),
        }
    }
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    walk: WalkArgs,
    /// Policy pack: `builtin:NAME` or a file. Default: .readygate/policy.yaml
    /// in the repository, else builtin:production.
    #[arg(long)]
    policy: Option<String>,
    /// Service tier, overriding the manifest.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
    tier: Option<u8>,
    /// Branch the result is for (for a pull request: its base branch).
    /// Default: GITHUB_BASE_REF / GITHUB_REF_NAME, else the checked-out branch.
    #[arg(long)]
    branch: Option<String>,
    /// Event: push, pull_request, local, ... Default: GITHUB_EVENT_NAME, else local.
    #[arg(long)]
    event: Option<String>,
    /// Report format; repeat for several (terminal, json, markdown, sarif,
    /// github, junit). Default: terminal.
    #[arg(long, value_enum)]
    format: Vec<Format>,
    /// Write the report here instead of standard output; the N-th --output
    /// takes the N-th --format.
    #[arg(long)]
    output: Vec<PathBuf>,
    /// Running in GitHub Actions: annotate with workflow commands (unless
    /// --format says otherwise), append the Markdown report to the job
    /// summary and set step outputs (verdict, level, failures, report files).
    #[arg(long)]
    github: bool,
    /// With --github: exit 2 when the check run or PR comment cannot be
    /// published (by default that is reported and the verdict stands).
    #[arg(long, requires = "github")]
    require_publish: bool,
    /// Regression mode: also evaluate this git ref (e.g. origin/main), read
    /// from the local repository, and report new and fixed findings.
    #[arg(long, value_name = "REF")]
    baseline: Option<String>,
    /// What blocks: `all` (whenever the policy blocks) or `new` (only when
    /// a failure is new against --baseline).
    #[arg(long, value_enum, default_value_t = FailOn::All)]
    fail_on: FailOn,
    /// Which findings to annotate: `all`, or `changed` (only those on lines
    /// the pull request, or the diff against --baseline, touches; the rest
    /// are summarised).
    #[arg(long, value_enum, default_value_t = Annotate::All)]
    annotate: Annotate,
    /// Evaluate as of this date (YYYY-MM-DD or RFC 3339): waivers, enable_on.
    #[arg(long, value_parser = parse_now)]
    now: Option<NaiveDate>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Annotate {
    All,
    Changed,
}

#[derive(Clone, Copy, ValueEnum)]
enum DataFormat {
    Json,
    Yaml,
}

#[derive(Args)]
struct EvidenceArgs {
    #[command(flatten)]
    walk: WalkArgs,
    #[arg(long, value_enum, default_value_t = DataFormat::Json)]
    format: DataFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum DocFormat {
    Terminal,
    Markdown,
}

#[derive(Args)]
struct ExplainArgs {
    /// Rule id, e.g. iac.terraform-lockfile.
    #[arg(required_unless_present = "all")]
    rule: Option<String>,
    /// Every rule of the policy.
    #[arg(long)]
    all: bool,
    /// Policy whose rules to explain (default: builtin:production).
    #[arg(long, default_value = DEFAULT_POLICY)]
    policy: String,
    #[arg(long, value_enum, default_value_t = DocFormat::Terminal)]
    format: DocFormat,
}

fn parse_now(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(text).map(|d| d.date_naive()))
        .map_err(|_| format!("`{text}` is not a date; use YYYY-MM-DD or RFC 3339"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{err}");
            ExitCode::from(2)
        }
    }
}

/// Paths the user typed are resolved from the working directory as written.
fn cwd() -> &'static Path {
    Path::new("")
}

fn run(cli: Cli) -> Result<ExitCode, ConfigError> {
    match cli.command {
        Command::Check(args) => check(args),
        Command::Evidence(args) => {
            let ev = args.walk.scan()?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let written = match args.format {
                // Straight to the writer: no intermediate JSON tree.
                DataFormat::Json => serde_json::to_writer_pretty(&mut out, &ev)
                    .map_err(std::io::Error::from)
                    .and_then(|()| writeln!(out)),
                DataFormat::Yaml => {
                    let json = serde_json::to_value(&ev).expect("evidence serializes");
                    write!(out, "{}", yaml::emit(&json))
                }
            };
            written
                .and_then(|()| out.flush())
                .map_err(|e| ConfigError::new(format!("cannot write the evidence: {e}")))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain(args) => explain(args),
        Command::Policy {
            command: PolicyCommand::Lint { file },
        } => {
            let policy = policy::load(&file, cwd())?;
            let enabled = policy.rules.iter().filter(|r| r.enabled).count();
            let chain: Vec<&str> = policy.packs.iter().map(|p| p.source.as_str()).collect();
            println!(
                "ok: {file}: {} rules ({enabled} enabled), {} waivers, levels {}; chain: {}",
                policy.rules.len(),
                policy.waivers.len(),
                policy.levels.join(" < "),
                chain.join(" → ")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Init { path, force } => {
            let target = path.join("readygate.yaml");
            if target.exists() && !force {
                return Err(
                    ConfigError::new(format!("{} already exists", target.display()))
                        .hint("pass --force to overwrite it"),
                );
            }
            let ev = scan::scan(&path, &scan::Settings::default())?;
            let text = init::starter_manifest(&path, &ev);
            std::fs::write(&target, text)
                .map_err(|e| ConfigError::new(format!("cannot write {}: {e}", target.display())))?;
            println!(
                "wrote {}; set the tier and owners, then run `readygate check`",
                target.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { write } => {
            for (name, value) in schema::all() {
                let text = format!("{}\n", serde_json::to_string_pretty(&value).expect("json"));
                match &write {
                    Some(dir) => std::fs::write(dir.join(name), text)
                        .map_err(|e| ConfigError::new(format!("cannot write {name}: {e}")))?,
                    None => print!("{text}"),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn load_policy(spec: Option<&str>, root: &Path) -> Result<Policy, ConfigError> {
    match spec {
        Some(spec) => policy::load(spec, cwd()),
        None if root.join(REPO_POLICY).is_file() => policy::load(REPO_POLICY, root),
        None => policy::load(DEFAULT_POLICY, cwd()),
    }
}

fn env(name: &str) -> Option<String> {
    // Empty means unset, as on runners that export every variable.
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The branch a run is judged for: explicit, then the runner's, then git's.
fn detect_branch(root: &Path, event: &str) -> Option<String> {
    if matches!(event, "pull_request" | "pull_request_target")
        && let Some(base) = env("GITHUB_BASE_REF")
    {
        return Some(base);
    }
    if let Some(name) = env("GITHUB_REF_NAME") {
        return Some(name);
    }
    let head = std::fs::read_to_string(root.join(".git/HEAD")).ok()?;
    head.trim()
        .strip_prefix("ref: refs/heads/")
        .map(str::to_string)
}

fn check(args: CheckArgs) -> Result<ExitCode, ConfigError> {
    // The runner's context first: a bad event payload stops the run before
    // any scanning or probing.
    let runner = if args.github {
        Some(RunnerContext::from_env(env)?.ok_or_else(|| {
            ConfigError::new("--github needs the GitHub Actions environment")
                .hint("GITHUB_ACTIONS=true, GITHUB_EVENT_NAME and GITHUB_REPOSITORY are set on runners; drop --github elsewhere")
        })?)
    } else {
        None
    };
    if args.fail_on == FailOn::New && args.baseline.is_none() {
        return Err(ConfigError::new("--fail-on new needs --baseline REF")
            .hint("new is judged against a base ref, e.g. --baseline origin/main"));
    }
    if args.annotate == Annotate::Changed && runner.is_none() && args.baseline.is_none() {
        return Err(ConfigError::new(
            "--annotate changed needs a pull request (--github) or --baseline REF",
        )
        .hint("the changed lines come from the pull request's files, else from `git diff REF`"));
    }
    let root = &args.walk.path;
    let settings = args.walk.settings();
    let mut pages = PageCache::default();
    let evidence = scan::scan_with(root, &settings, &mut pages)?;
    let policy = load_policy(args.policy.as_deref(), root)?;
    let event = args
        .event
        .or_else(|| env("GITHUB_EVENT_NAME"))
        .unwrap_or_else(|| "local".into());
    let branch = args.branch.or_else(|| detect_branch(root, &event));
    let ctx = engine::Context {
        tier: args.tier,
        branch,
        event,
        today: args.now.unwrap_or_else(|| chrono::Utc::now().date_naive()),
    };
    let mut report = engine::evaluate(&policy, &evidence, &ctx);
    // Built only when needed, and once: the pull request's files and the
    // publishing both use it.
    let api = match (&runner, env("GITHUB_TOKEN")) {
        (Some(runner), Some(token)) => {
            Some(github::api::Api::new(&runner.api_url, token).map_err(ConfigError::new)?)
        }
        _ => None,
    };
    let mut base_commit = None;
    if let Some(reference) = &args.baseline {
        let base = baseline::checkout(root, reference)?;
        // The head's policy on the base's files: what changed is the code.
        let base_evidence = scan::scan_with(&base.root, &settings.for_copy_of(root), &mut pages)
            .map_err(|e| {
                ConfigError::new(format!("the baseline {reference} cannot be evaluated: {e}"))
                    .hint("fix it on the base branch, or drop --baseline")
            })?;
        let base_report = engine::evaluate(&policy, &base_evidence, &ctx);
        baseline::compare::compare(
            &mut report,
            &base_report,
            reference,
            &base.commit,
            args.fail_on,
        );
        base_commit = Some(base.commit.clone());
    }
    let prefix = runner
        .as_ref()
        .map(|r| r.prefix_of(root))
        .unwrap_or_default();
    if args.annotate == Annotate::Changed {
        let changed = changed_lines(
            runner.as_ref(),
            api.as_ref(),
            root,
            &prefix,
            args.baseline.as_deref().zip(base_commit.as_deref()),
        )?;
        match changed {
            Some(changed) => changed.mark(&mut report),
            None => eprintln!(
                "readygate: --annotate changed: this is not a pull request and there is no --baseline, so every finding is annotated"
            ),
        }
    }
    // Paths relative to the repository from here on, as GitHub reads them.
    report.prefix_paths(&prefix);
    let formats = match (args.format.is_empty(), args.github) {
        (true, true) => vec![Format::Github],
        (true, false) => vec![Format::Terminal],
        (false, _) => args.format,
    };
    if args.output.len() > formats.len() {
        return Err(ConfigError::new("more --output than --format")
            .hint("each --output takes the --format at the same position"));
    }
    if formats.len() - args.output.len() > 1 {
        return Err(
            ConfigError::new("several --format values would go to standard output")
                .hint("give every --format but one an --output FILE"),
        );
    }
    for (i, format) in formats.iter().enumerate() {
        match args.output.get(i) {
            Some(path) => {
                let text = report::render(&report, *format, false);
                std::fs::write(path, text).map_err(|e| {
                    ConfigError::new(format!("cannot write {}: {e}", path.display()))
                })?;
            }
            None => {
                let colour = *format == Format::Terminal
                    && std::io::stdout().is_terminal()
                    && env("NO_COLOR").is_none();
                print!("{}", report::render(&report, *format, colour));
            }
        }
    }
    if formats.len() == args.output.len() {
        eprintln!("verdict: {}", report::verdict_line(&report));
    }
    if let Some(runner) = &runner {
        let files: Vec<(&str, &Path)> = formats
            .iter()
            .zip(&args.output)
            .filter_map(|(f, path)| match f {
                Format::Json => Some(("report-json", path.as_path())),
                Format::Sarif => Some(("sarif-file", path.as_path())),
                _ => None,
            })
            .collect();
        github::runner::write_summary(&report, runner)
            .and_then(|()| github::runner::write_outputs(&report, runner, &files))
            .map_err(|e| {
                ConfigError::new(format!("cannot write the job summary or step outputs: {e}"))
            })?;
        let published = match &api {
            Some(api) => github::publish::publish(&report, runner, api),
            None => github::publish::Published {
                log: vec!["readygate: no GITHUB_TOKEN, so no check run or pull request comment; annotations are in this log".into()],
                failed: true,
            },
        };
        for line in &published.log {
            eprintln!("{line}");
        }
        if published.failed && args.require_publish {
            return Err(ConfigError::new(
                "publishing to GitHub failed and --require-publish is set",
            ));
        }
    }
    Ok(ExitCode::from(report.exit_code() as u8))
}

/// The lines the change under review touches, relative to `root`: the
/// pull request's files when on one (and the token can read them), else
/// `git diff` against the baseline's commit. `None`: nothing to scope by.
fn changed_lines(
    runner: Option<&RunnerContext>,
    api: Option<&github::api::Api>,
    root: &Path,
    prefix: &str,
    baseline: Option<(&str, &str)>,
) -> Result<Option<ChangedLines>, ConfigError> {
    if let (Some(runner), Some(pr)) = (runner, runner.and_then(|r| r.pull_request.as_ref())) {
        let fetched = match api {
            Some(api) => github::api::block_on(github::pulls::changed_lines(
                api,
                &runner.repository,
                pr.number,
            ))
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string())),
            None => Err("no GITHUB_TOKEN".to_string()),
        };
        match fetched {
            Ok((changed, cut)) => {
                if cut {
                    eprintln!(
                        "readygate: GitHub lists only the first {} files of #{}; findings in the others count as elsewhere",
                        github::pulls::MAX_FILES,
                        pr.number
                    );
                }
                return Ok(Some(changed.under(prefix)));
            }
            Err(e) => eprintln!(
                "readygate: cannot read the files of #{} ({e}){}",
                pr.number,
                if baseline.is_some() {
                    "; using git diff against the baseline"
                } else {
                    "; annotating every finding"
                }
            ),
        }
    }
    let Some((reference, commit)) = baseline else {
        return Ok(None);
    };
    baseline::diff(root, reference, commit).map(Some)
}

fn explain(args: ExplainArgs) -> Result<ExitCode, ConfigError> {
    let policy = policy::load(&args.policy, cwd())?;
    if args.all {
        match args.format {
            DocFormat::Markdown => print!("{}", docs::rules_markdown(&policy)),
            DocFormat::Terminal => {
                for rule in &policy.rules {
                    println!("{}", docs::explain(rule));
                }
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let id = args.rule.unwrap_or_default();
    match policy.rule(&id) {
        Some(rule) => {
            print!("{}", docs::explain(rule));
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let ids: Vec<&str> = policy.rules.iter().map(|r| r.id.as_str()).collect();
            Err(
                ConfigError::new(format!("no rule `{id}` in {}", args.policy))
                    .hint(format!("rules: {}", ids.join(", "))),
            )
        }
    }
}
