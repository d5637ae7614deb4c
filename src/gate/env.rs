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
