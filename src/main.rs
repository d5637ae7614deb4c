//! The readygate command line: arguments into a plan, the plan to the
//! library ([`readygate::gate`]), its results printed, and the exit code:
//! 0 pass, 1 the policy blocks, 2 usage, configuration, input, I/O or
//! network error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use readygate::diag::{Error, IoError};
use readygate::discover::{DEFAULT_MAX_FILE_SIZE, Options};
use readygate::findings::FailOn;
use readygate::gate::{
    self, Annotate, CheckPlan, Colour, DEFAULT_POLICY, ProcessConsole, ProcessEnv, ScanPlan,
};
use readygate::probe::Online;
use readygate::report::Format;
use readygate::{docs, scan, yaml};

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
    Check(Box<CheckArgs>),
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
    /// Print a shell completion script: `readygate completions bash >
    /// /etc/bash_completion.d/readygate`, or zsh, fish, elvish, powershell.
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), or write one per command into a
    /// directory (`readygate.1`, `readygate-check.1`, ...).
    Man {
        /// Write the pages into this directory (it must exist).
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// Print one JSON Schema (evidence, manifest, policy, report), or write
    /// them all into a directory.
    Schema {
        /// Which schema to print.
        #[arg(
            value_enum,
            required_unless_present = "write",
            conflicts_with = "write"
        )]
        name: Option<SchemaName>,
        /// Write every schema into this directory (it must exist).
        #[arg(long)]
        write: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a pack and everything it extends.
    Lint {
        file: String,
        /// An evidence document (`readygate evidence --format json`) or a
        /// repository to scan: warn of waivers that match none of its
        /// findings.
        #[arg(long, value_name = "FILE|DIR")]
        evidence: Option<PathBuf>,
        #[command(flatten)]
        packs: PackArgs,
    },
    /// Run a pack's tests: each *.case.yaml in DIR names a pack, evidence
    /// (or a fixture repository) and the state expected per rule.
    Test {
        dir: PathBuf,
        #[command(flatten)]
        packs: PackArgs,
    },
    /// The effective policy: every rule with the pack each field comes from.
    Show {
        /// `builtin:NAME`, a file, or a git+https:// pack.
        pack: String,
        #[command(flatten)]
        packs: PackArgs,
    },
    /// The Markdown rule catalogue of a pack and everything it extends.
    Docs {
        /// `builtin:NAME`, a file, or a git+https:// pack.
        pack: String,
        #[command(flatten)]
        packs: PackArgs,
    },
    /// Resolve the remote packs the repository's policy extends and write
    /// .readygate/readygate.lock.
    Update {
        /// Repository root.
        #[arg(default_value = ".")]
        path: PathBuf,
        #[command(flatten)]
        packs: PackArgs,
    },
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
    /// An endpoint to judge besides the manifest's `endpoints:`
    /// (repeatable): `https://host/path`, or `host:port` for raw TLS.
    /// Observed with --online; its expiry monitoring is judged offline.
    #[arg(long, value_name = "URL")]
    endpoint: Vec<String>,
    /// Extra trusted roots (PEM) for --online TLS checks, besides the
    /// Mozilla roots: a private CA.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// JUnit XML test reports (a glob, repeatable), relative to the
    /// repository or absolute under it or $RUNNER_TEMP; read even when
    /// gitignored. Default: the manifest's `tests.junit`, else reports
    /// found where test runners write them.
    #[arg(long, value_name = "GLOB")]
    junit: Vec<String>,
    /// Past runs' reports: one subfolder per run holding its JUnit XML and a
    /// `run.json` ({commit, started_at, run_id, attempt}).
    #[arg(long, value_name = "DIR")]
    junit_history: Option<PathBuf>,
    /// Test reports larger than this (bytes) are reported, not read.
    #[arg(long, default_value_t = readygate::contract::DEFAULT_MAX_REPORT_SIZE)]
    max_report_size: u64,
}

impl WalkArgs {
    fn plan(&self) -> Result<ScanPlan, Error> {
        if let Some((url, err)) = self
            .endpoint
            .iter()
            .find_map(|u| Some((u, readygate::area::tls::url_error(u)?)))
        {
            return Err(
                readygate::diag::ConfigError::new(format!("--endpoint `{url}`: {err}")).into(),
            );
        }
        let extra_roots = match &self.ca_file {
            Some(path) => readygate::probe::tls::read_ca_file(path, "--ca-file")?,
            None => Vec::new(),
        };
        Ok(ScanPlan {
            root: self.path.clone(),
            settings: scan::Settings {
                walk: Options {
                    max_file_size: self.max_file_size,
                    ..Options::default()
                },
                repo_url: self.repo_url.clone(),
                judging: None,
                tree: None,
                inputs: readygate::contract::Inputs {
                    junit: self.junit.clone(),
                    junit_history: self.junit_history.clone(),
                    // Where actions write reports outside the checkout.
                    report_roots: std::env::var_os("RUNNER_TEMP")
                        .filter(|v| !v.is_empty())
                        .map(PathBuf::from)
                        .into_iter()
                        .collect(),
                    max_report_size: self.max_report_size,
                    endpoints: self.endpoint.clone(),
                },
            },
            online: self.online.then(|| Online {
                timeout: Duration::from_secs(self.online_timeout),
                deadline: Duration::from_secs(self.online_deadline),
                concurrency: self.online_concurrency as usize,
                allow_private: self.online_allow_private,
                extra_roots,
                ..Online::default()
            }),
        })
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
    /// With --github: the login the token writes as, e.g. `my-app[bot]` for
    /// a GitHub App's installation token. Only a comment by it (with the
    /// marker) is edited, and only its app's check run reused. Default: the
    /// token's user (GET /user), else `github-actions[bot]`.
    #[arg(long, value_name = "LOGIN", requires = "github", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    comment_author: Option<String>,
    /// Regression mode: also evaluate this git ref (e.g. origin/main), read
    /// from the local repository, and report new and fixed findings.
    #[arg(long, value_name = "REF")]
    baseline: Option<String>,
    /// Read the policy (the repository's, or a --policy inside it) and the
    /// manifest's tier, lifecycle and alert settings from this git ref
    /// instead of the working tree, so the change under review cannot
    /// weaken the policy it is judged by. Evidence still comes from the
    /// working tree.
    /// With --github on a pull request the default is its base commit.
    #[arg(long, value_name = "REF")]
    policy_ref: Option<String>,
    /// Read the policy from the working tree even on a pull request, so the
    /// change under review can edit the policy it is judged by.
    #[arg(long, conflicts_with = "policy_ref")]
    policy_from_worktree: bool,
    /// What blocks: `all` (whenever the policy blocks) or `new` (only when
    /// a failure is new against --baseline).
    #[arg(long, value_enum, default_value_t = FailOn::All)]
    fail_on: FailOn,
    /// Which findings to annotate: `all`, or `changed` (only those on lines
    /// the pull request, or the diff against --baseline, touches; the rest
    /// are summarised).
    #[arg(long, value_enum, default_value_t = Annotate::All)]
    annotate: Annotate,
    /// Findings of one rule the terminal and Markdown reports list before
    /// "and N more like this" (JSON and SARIF keep every one).
    #[arg(long, value_name = "N", default_value_t = gate::DEFAULT_MAX_PER_RULE as u64, value_parser = clap::value_parser!(u64).range(1..))]
    max_per_rule: u64,
    /// List every finding in the terminal and Markdown reports.
    #[arg(long)]
    all: bool,
    /// Colour the terminal report: `auto` (on a terminal; NO_COLOR turns it
    /// off, CLICOLOR_FORCE on), `always` (e.g. in GitHub Actions logs),
    /// `never`.
    #[arg(long, value_enum, default_value_t = Colour::Auto)]
    color: Colour,
    /// Print only the verdict line instead of the terminal report.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    /// List every finding (as --all) and say how long each phase took.
    #[arg(short, long)]
    verbose: bool,
    /// Evaluate as of this date (YYYY-MM-DD or RFC 3339): waivers, enable_on.
    #[arg(long, value_parser = parse_now)]
    now: Option<NaiveDate>,
    /// Test history from GitHub Actions: the artifacts whose names match
    /// this glob (`test-results*`), of the last --actions-runs completed
    /// runs of the branch judged, read as --junit-history. Needs --github
    /// and a token with `actions: read`.
    #[arg(
        long,
        value_name = "ARTIFACT_GLOB",
        requires = "github",
        conflicts_with = "junit_history"
    )]
    actions_history: Option<String>,
    /// How many runs --actions-history reads, newest first.
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=1000))]
    actions_runs: u64,
    #[command(flatten)]
    packs: PackArgs,
}

/// Where fetched things are kept, and whether policy packs may be fetched.
#[derive(Args, Clone)]
struct PackArgs {
    /// Where fetched policy packs and downloaded test-history runs are
    /// kept. Default: $XDG_CACHE_HOME/readygate, else ~/.cache/readygate.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Use remote policy packs from the cache only; never fetch them
    /// (unrelated to --online).
    #[arg(long)]
    offline: bool,
    /// Accept remote packs named without a pin: an https URL without its
    /// sha256, or a tag or branch in the repository's own policy.
    #[arg(long)]
    allow_unpinned: bool,
    /// Let policy pack fetches reach loopback, private and link-local
    /// addresses (an internal pack server). Off by default.
    #[arg(long)]
    pack_allow_private: bool,
    /// Extra trusted roots (PEM) for fetching policy packs: a private CA.
    #[arg(long, value_name = "PEM")]
    pack_ca_file: Option<PathBuf>,
    /// Seconds one policy pack fetch may take.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pack_timeout: u64,
}

impl PackArgs {
    fn fetch(&self) -> gate::PackFetch {
        gate::PackFetch {
            cache_dir: self.cache_dir.clone(),
            offline: self.offline,
            allow_unpinned: self.allow_unpinned,
            allow_private: self.pack_allow_private,
            ca_file: self.pack_ca_file.clone(),
            timeout: Some(Duration::from_secs(self.pack_timeout)),
        }
    }
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
    /// Policy whose rules to explain. Default: this repository's
    /// .readygate/policy.yaml (its own rules and overrides), else
    /// builtin:production.
    #[arg(long)]
    policy: Option<String>,
    #[arg(long, value_enum, default_value_t = DocFormat::Terminal)]
    format: DocFormat,
    #[command(flatten)]
    packs: PackArgs,
}

impl CheckArgs {
    fn plan(self) -> Result<CheckPlan, Error> {
        Ok(CheckPlan {
            packs: self.packs.fetch(),
            scan: self.walk.plan()?,
            policy: self.policy,
            tier: self.tier,
            branch: self.branch,
            event: self.event,
            formats: self.format,
            outputs: self.output,
            github: self.github,
            require_publish: self.require_publish,
            comment_author: self.comment_author,
            baseline: self.baseline,
            policy_ref: self.policy_ref,
            policy_from_worktree: self.policy_from_worktree,
            fail_on: self.fail_on,
            annotate: self.annotate,
            now: self.now,
            max_per_rule: (!(self.all || self.verbose)).then_some(self.max_per_rule as usize),
            colour: self.color,
            quiet: self.quiet,
            timings: self.verbose,
            actions_history: self.actions_history.map(|artifact| gate::ActionsHistory {
                artifact,
                runs: self.actions_runs as usize,
                cache_dir: self.packs.cache_dir.clone(),
            }),
        })
    }
}

/// `--write DIR` must name a directory that is there.
fn existing_dir(dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        return Ok(());
    }
    Err(
        readygate::diag::ConfigError::new(format!("--write {}: no such directory", dir.display()))
            .hint("create it first (mkdir -p), or name an existing one")
            .into(),
    )
}

/// A schema `readygate schema` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SchemaName {
    Evidence,
    Manifest,
    Policy,
    Report,
}

impl SchemaName {
    fn as_str(self) -> &'static str {
        match self {
            SchemaName::Evidence => "evidence",
            SchemaName::Manifest => "manifest",
            SchemaName::Policy => "policy",
            SchemaName::Report => "report",
        }
    }
}

fn parse_now(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(text).map(|d| d.date_naive()))
        .map_err(|_| format!("`{text}` is not a date; use YYYY-MM-DD or RFC 3339"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    readygate::cleanup::on_interrupt();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{err}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Check(args) => {
            let run = gate::check(args.plan()?, &ProcessEnv, &mut ProcessConsole)?;
            Ok(ExitCode::from(run.exit_code))
        }
        Command::Evidence(args) => {
            let ev = gate::evidence(&args.walk.plan()?, &ProcessEnv)?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let written = match args.format {
                // No intermediate JSON tree; made safe for a CI log.
                DataFormat::Json => serde_json::to_string_pretty(&ev)
                    .map_err(std::io::Error::from)
                    .and_then(|text| writeln!(out, "{}", readygate::escape::json(text))),
                DataFormat::Yaml => {
                    let json = serde_json::to_value(&ev).expect("evidence serializes");
                    write!(out, "{}", readygate::escape::lines(&yaml::emit(&json)))
                }
            };
            written
                .and_then(|()| out.flush())
                .map_err(|e| IoError::new("cannot write the evidence", e))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain(args) => {
            let source = args.policy.clone().unwrap_or_else(|| {
                if Path::new(gate::REPO_POLICY).is_file() {
                    gate::REPO_POLICY.to_string()
                } else {
                    DEFAULT_POLICY.to_string()
                }
            });
            let policy = gate::load_policy(
                args.policy.as_deref(),
                Path::new("."),
                &args.packs.fetch(),
                &ProcessEnv,
            )?;
            let text = match (args.all, args.format) {
                (true, DocFormat::Markdown) => docs::rules_markdown(&policy),
                (true, DocFormat::Terminal) => {
                    let all: Vec<String> = policy.rules.iter().map(docs::explain).collect();
                    all.iter().map(|r| format!("{r}\n")).collect()
                }
                (false, _) => gate::explain_rule(&policy, &source, args.rule.as_deref())?,
            };
            // A pack's text may come from the repository.
            print!("{}", readygate::escape::lines(&text));
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy {
            command:
                PolicyCommand::Lint {
                    file,
                    evidence,
                    packs,
                },
        } => {
            println!(
                "{}",
                gate::lint(&file, evidence.as_deref(), &packs.fetch(), &ProcessEnv)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy {
            command: PolicyCommand::Test { dir, packs },
        } => {
            let (text, passed) = gate::policy_test(&dir, &packs.fetch(), &ProcessEnv)?;
            print!("{text}");
            Ok(if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Policy {
            command: PolicyCommand::Show { pack, packs },
        } => {
            print!("{}", gate::show(&pack, &packs.fetch(), &ProcessEnv)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy {
            command: PolicyCommand::Docs { pack, packs },
        } => {
            let policy =
                gate::load_policy(Some(&pack), Path::new("."), &packs.fetch(), &ProcessEnv)?;
            // A pack's text may come from anywhere.
            print!(
                "{}",
                readygate::escape::lines(&docs::rules_markdown(&policy))
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy {
            command: PolicyCommand::Update { path, packs },
        } => {
            println!("{}", gate::update_lock(&path, &packs.fetch(), &ProcessEnv)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Init { path, force } => {
            println!("{}", gate::init(&path, force)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "readygate", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { write } => {
            let cmd = <Cli as clap::CommandFactory>::command();
            match write {
                None => {
                    let mut out = Vec::new();
                    clap_mangen::Man::new(cmd)
                        .render(&mut out)
                        .map_err(|e| IoError::new("cannot render the man page", e))?;
                    std::io::stdout()
                        .write_all(&out)
                        .map_err(|e| IoError::new("cannot write the man page", e))?;
                }
                Some(dir) => {
                    existing_dir(&dir)?;
                    clap_mangen::generate_to(cmd, &dir).map_err(|e| {
                        IoError::new(format!("cannot write man pages into {}", dir.display()), e)
                    })?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { name, write } => {
            let text = |value: &serde_json::Value| {
                format!("{}\n", serde_json::to_string_pretty(value).expect("json"))
            };
            if let Some(dir) = &write {
                existing_dir(dir)?;
            }
            for (file, value) in gate::schemas() {
                match (&write, name) {
                    (Some(dir), _) => {
                        std::fs::write(dir.join(file), text(&value)).map_err(|e| {
                            IoError::new(format!("cannot write {}", dir.join(file).display()), e)
                        })?
                    }
                    (None, Some(n)) if file == format!("{}.schema.json", n.as_str()) => {
                        print!("{}", text(&value))
                    }
                    _ => {}
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
