//! The environment a run reads, behind one small interface so the run's
//! decisions can be tested with a fake one.

use std::collections::BTreeMap;
use std::io::IsTerminal;

pub trait Env {
    /// A variable's value; empty means unset, as on runners that export
    /// every variable.
    fn var(&self, name: &str) -> Option<String>;
    /// Whether standard output is a terminal (for colour).
    fn stdout_is_terminal(&self) -> bool;
}

/// The process's own environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
    fn stdout_is_terminal(&self) -> bool {
        std::io::stdout().is_terminal()
    }
}

/// A fixed environment, for tests and embedding.
#[derive(Debug, Clone, Default)]
pub struct FakeEnv {
    pub vars: BTreeMap<String, String>,
    pub terminal: bool,
}

impl FakeEnv {
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }
}

impl Env for FakeEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).filter(|v| !v.is_empty()).cloned()
    }
    fn stdout_is_terminal(&self) -> bool {
        self.terminal
    }
}

/// Where a run's output goes, in the order it is produced.
pub trait Console {
    /// A rendered report for standard output.
    fn out(&mut self, text: &str);
    /// One line for standard error.
    fn err(&mut self, line: &str);
}

/// The process's standard output and error.
pub struct ProcessConsole;

impl Console for ProcessConsole {
    fn out(&mut self, text: &str) {
        print!("{text}");
    }
    fn err(&mut self, line: &str) {
        // The log is a workflow-command channel on a runner.
        eprintln!("{}", crate::escape::line(line));
    }
}

/// Output kept in memory, for tests and embedding.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub stdout: String,
    pub stderr: Vec<String>,
}

impl Console for Captured {
    fn out(&mut self, text: &str) {
        self.stdout.push_str(text);
    }
    fn err(&mut self, line: &str) {
        self.stderr.push(line.to_string());
    }
}
