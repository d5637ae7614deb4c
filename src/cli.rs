//! The command line's arguments (clap) and how they become the library's
//! plans ([`readygate::gate::CheckPlan`], [`readygate::gate::ScanPlan`]).

use std::path::PathBuf;
use std::time::Duration;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use readygate::diag::Error;
use readygate::discover::{DEFAULT_MAX_FILE_SIZE, Options};
use readygate::findings::FailOn;
use readygate::gate::{self, Annotate, CheckPlan, Colour, ScanPlan};
use readygate::probe::Online;
use readygate::report::Format;
use readygate::scan;

#[derive(Parser)]
#[command(
    name = "readygate",
    version,
    about = "Production-readiness gate: evidence from the repository, policy packs, a verdict."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
pub(crate) enum PolicyCommand {
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
pub(crate) struct WalkArgs {
    /// Repository root.
    #[arg(default_value = ".")]
    pub(crate) path: PathBuf,
    /// Files larger than this (bytes) are reported, not read.
    #[arg(long, default_value_t = DEFAULT_MAX_FILE_SIZE)]
    pub(crate) max_file_size: u64,
    /// This repository's web address, so runbook URLs into it are checked
    /// against the checkout. Default: the `origin` remote.
    #[arg(long)]
    pub(crate) repo_url: Option<String>,
    /// Fetch external runbook URLs (status, and whether the page mentions
    /// the alert).
    #[arg(long)]
    pub(crate) online: bool,
    /// Seconds per request when --online.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) online_timeout: u64,
    /// Seconds for all requests together when --online.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) online_deadline: u64,
    /// Requests in flight at once when --online.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub(crate) online_concurrency: u64,
    /// Let --online reach loopback, private and link-local addresses
    /// (internal wikis). Off by default.
    #[arg(long)]
    pub(crate) online_allow_private: bool,
    /// An endpoint to judge besides the manifest's `endpoints:`
    /// (repeatable): `https://host/path`, or `host:port` for raw TLS.
    /// Observed with --online; its expiry monitoring is judged offline.
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint: Vec<String>,
    /// Extra trusted roots (PEM) for --online TLS checks, besides the
    /// Mozilla roots: a private CA.
    #[arg(long, value_name = "PEM")]
    pub(crate) ca_file: Option<PathBuf>,
    /// JUnit XML test reports (a glob, repeatable), relative to the
    /// repository or absolute under it or $RUNNER_TEMP; read even when
    /// gitignored. Default: the manifest's `tests.junit`, else reports
    /// found where test runners write them.
    #[arg(long, value_name = "GLOB")]
    pub(crate) junit: Vec<String>,
    /// Past runs' reports: one subfolder per run holding its JUnit XML and a
    /// `run.json` ({commit, started_at, run_id, attempt}).
    #[arg(long, value_name = "DIR")]
    pub(crate) junit_history: Option<PathBuf>,
    /// Test reports larger than this (bytes) are reported, not read.
    #[arg(long, default_value_t = readygate::contract::DEFAULT_MAX_REPORT_SIZE)]
    pub(crate) max_report_size: u64,
}

impl WalkArgs {
    pub(crate) fn plan(&self) -> Result<ScanPlan, Error> {
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
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) walk: WalkArgs,
    /// Policy pack: `builtin:NAME` or a file. Default: .readygate/policy.yaml
    /// in the repository, else builtin:production.
    #[arg(long)]
    pub(crate) policy: Option<String>,
    /// Service tier, overriding the manifest.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub(crate) tier: Option<u8>,
    /// Branch the result is for (for a pull request: its base branch).
    /// Default: GITHUB_BASE_REF / GITHUB_REF_NAME, else the checked-out branch.
    #[arg(long)]
    pub(crate) branch: Option<String>,
    /// Event: push, pull_request, local, ... Default: GITHUB_EVENT_NAME, else local.
    #[arg(long)]
    pub(crate) event: Option<String>,
    /// Report format; repeat for several (terminal, json, markdown, sarif,
    /// github, junit). Default: terminal.
    #[arg(long, value_enum)]
    pub(crate) format: Vec<Format>,
    /// Write the report here instead of standard output; the N-th --output
    /// takes the N-th --format.
    #[arg(long)]
    pub(crate) output: Vec<PathBuf>,
    /// Running in GitHub Actions: annotate with workflow commands (unless
    /// --format says otherwise), append the Markdown report to the job
    /// summary and set step outputs (verdict, level, failures, report files).
    #[arg(long)]
    pub(crate) github: bool,
    /// With --github: exit 2 when the check run or PR comment cannot be
    /// published (by default that is reported and the verdict stands).
    #[arg(long, requires = "github")]
    pub(crate) require_publish: bool,
    /// With --github: the login the token writes as, e.g. `my-app[bot]` for
    /// a GitHub App's installation token. Only a comment by it (with the
    /// marker) is edited, and only its app's check run reused. Default: the
    /// token's user (GET /user), else `github-actions[bot]`.
    #[arg(long, value_name = "LOGIN", requires = "github", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub(crate) comment_author: Option<String>,
    /// Regression mode: also evaluate this git ref (e.g. origin/main), read
    /// from the local repository, and report new and fixed findings.
    #[arg(long, value_name = "REF")]
    pub(crate) baseline: Option<String>,
    /// Read the policy (the repository's, or a --policy inside it) and the
    /// manifest's tier, lifecycle and alert settings from this git ref
    /// instead of the working tree, so the change under review cannot
    /// weaken the policy it is judged by. Evidence still comes from the
    /// working tree.
    /// With --github on a pull request the default is its base commit.
    #[arg(long, value_name = "REF")]
    pub(crate) policy_ref: Option<String>,
    /// Read the policy from the working tree even on a pull request, so the
    /// change under review can edit the policy it is judged by.
    #[arg(long, conflicts_with = "policy_ref")]
    pub(crate) policy_from_worktree: bool,
    /// What blocks: `all` (whenever the policy blocks) or `new` (only when
    /// a failure is new against --baseline).
    #[arg(long, value_enum, default_value_t = FailOn::All)]
    pub(crate) fail_on: FailOn,
    /// Which findings to annotate: `all`, or `changed` (only those on lines
    /// the pull request, or the diff against --baseline, touches; the rest
    /// are summarised).
    #[arg(long, value_enum, default_value_t = Annotate::All)]
    pub(crate) annotate: Annotate,
    /// Findings of one rule the terminal and Markdown reports list before
    /// "and N more like this" (JSON and SARIF keep every one).
    #[arg(long, value_name = "N", default_value_t = gate::DEFAULT_MAX_PER_RULE as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_per_rule: u64,
    /// List every finding in the terminal and Markdown reports.
    #[arg(long)]
    pub(crate) all: bool,
    /// Colour the terminal report: `auto` (on a terminal; NO_COLOR turns it
    /// off, CLICOLOR_FORCE on), `always` (e.g. in GitHub Actions logs),
    /// `never`.
    #[arg(long, value_enum, default_value_t = Colour::Auto)]
    pub(crate) color: Colour,
    /// Print only the verdict line instead of the terminal report.
    #[arg(short, long, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// List every finding (as --all) and say how long each phase took.
    #[arg(short, long)]
    pub(crate) verbose: bool,
    /// Evaluate as of this date (YYYY-MM-DD or RFC 3339): waivers, enable_on.
    #[arg(long, value_parser = parse_now)]
    pub(crate) now: Option<NaiveDate>,
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
    pub(crate) actions_history: Option<String>,
    /// How many runs --actions-history reads, newest first.
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub(crate) actions_runs: u64,
    #[command(flatten)]
    pub(crate) packs: PackArgs,
}

/// Where fetched things are kept, and whether policy packs may be fetched.
#[derive(Args, Clone)]
pub(crate) struct PackArgs {
    /// Where fetched policy packs and downloaded test-history runs are
    /// kept. Default: $XDG_CACHE_HOME/readygate, else ~/.cache/readygate.
    #[arg(long, value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Use remote policy packs from the cache only; never fetch them
    /// (unrelated to --online).
    #[arg(long)]
    pub(crate) offline: bool,
    /// Accept remote packs named without a pin: an https URL without its
    /// sha256, or a tag or branch in the repository's own policy.
    #[arg(long)]
    pub(crate) allow_unpinned: bool,
    /// Let policy pack fetches reach loopback, private and link-local
    /// addresses (an internal pack server). Off by default.
    #[arg(long)]
    pub(crate) pack_allow_private: bool,
    /// Extra trusted roots (PEM) for fetching policy packs: a private CA.
    #[arg(long, value_name = "PEM")]
    pub(crate) pack_ca_file: Option<PathBuf>,
    /// Seconds one policy pack fetch may take.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) pack_timeout: u64,
}

impl PackArgs {
    pub(crate) fn fetch(&self) -> gate::PackFetch {
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
pub(crate) enum DataFormat {
    Json,
    Yaml,
}

#[derive(Args)]
pub(crate) struct EvidenceArgs {
    #[command(flatten)]
    pub(crate) walk: WalkArgs,
    #[arg(long, value_enum, default_value_t = DataFormat::Json)]
    pub(crate) format: DataFormat,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum DocFormat {
    Terminal,
    Markdown,
}

#[derive(Args)]
pub(crate) struct ExplainArgs {
    /// Rule id, e.g. iac.terraform-lockfile.
    #[arg(required_unless_present = "all")]
    pub(crate) rule: Option<String>,
    /// Every rule of the policy.
    #[arg(long)]
    pub(crate) all: bool,
    /// Policy whose rules to explain. Default: this repository's
    /// .readygate/policy.yaml (its own rules and overrides), else
    /// builtin:production.
    #[arg(long)]
    pub(crate) policy: Option<String>,
    #[arg(long, value_enum, default_value_t = DocFormat::Terminal)]
    pub(crate) format: DocFormat,
    #[command(flatten)]
    pub(crate) packs: PackArgs,
}

impl CheckArgs {
    pub(crate) fn plan(self) -> Result<CheckPlan, Error> {
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

/// A schema `readygate schema` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SchemaName {
    Evidence,
    Manifest,
    Policy,
    Report,
}

impl SchemaName {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SchemaName::Evidence => "evidence",
            SchemaName::Manifest => "manifest",
            SchemaName::Policy => "policy",
            SchemaName::Report => "report",
        }
    }
}

pub(crate) fn parse_now(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(text).map(|d| d.date_naive()))
        .map_err(|_| format!("`{text}` is not a date; use YYYY-MM-DD or RFC 3339"))
}
