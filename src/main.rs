//! The readygate command line: arguments into a plan, the plan to the
//! library ([`readygate::gate`]), its results printed, and the exit code:
//! 0 pass, 1 the policy blocks, 2 usage, configuration, input, I/O or
//! network error.

mod cli;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, DataFormat, DocFormat, PolicyCommand};
use readygate::diag::{Error, IoError};
use readygate::gate::{self, DEFAULT_POLICY, ProcessConsole, ProcessEnv};
use readygate::{docs, yaml};

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
