//! What evaluation produces and every reporter renders: findings and the
//! verdict. Versioned like the evidence document.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::evidence::Location;
use crate::policy::model::{Mode, Severity};

pub const REPORT_VERSION: u32 = 1;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Fail,
    Unknown,
    Warn,
    Waived,
    Pass,
    Skip,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pass => "pass",
            State::Fail => "fail",
            State::Warn => "warn",
            State::Unknown => "unknown",
            State::Skip => "skip",
            State::Waived => "waived",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct WaiverRef {
    pub reason: String,
    pub owner: String,
    pub expires: String,
    pub location: Location,
}

/// One rule's result on one target.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub rule: String,
    pub title: String,
    pub area: String,
    pub level: String,
    pub severity: Severity,
    pub state: State,
    /// True when this finding keeps the service below its level.
    pub counts_against_level: bool,
    /// What was checked: a path, module, alert... (absent for repo-wide rules).
    pub target: Option<String>,
    pub message: String,
    pub location: Option<Location>,
    pub why: String,
    pub remediation: String,
    pub docs: Option<String>,
    pub waiver: Option<WaiverRef>,
}

impl Finding {
    /// Failures, unknowns and warnings: what a reader must look at.
    pub fn needs_attention(&self) -> bool {
        matches!(self.state, State::Fail | State::Unknown | State::Warn)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// Highest level whose rules (and all lower levels') pass; null if none.
    pub level_reached: Option<String>,
    pub level_required: String,
    pub levels: Vec<String>,
    pub tier: Option<u8>,
    pub branch: Option<String>,
    pub event: String,
    pub mode: Mode,
    /// True when the gate fails this run (exit code 1).
    pub blocked: bool,
    pub counts: Counts,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    pub pass: u32,
    pub fail: u32,
    pub warn: u32,
    pub unknown: u32,
    pub skip: u32,
    pub waived: u32,
}

impl Counts {
    pub fn add(&mut self, state: State) {
        match state {
            State::Pass => self.pass += 1,
            State::Fail => self.fail += 1,
            State::Warn => self.warn += 1,
            State::Unknown => self.unknown += 1,
            State::Skip => self.skip += 1,
            State::Waived => self.waived += 1,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PackRef {
    pub name: String,
    pub version: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    pub report_version: u32,
    pub generator: String,
    pub service: Option<String>,
    pub policy: Vec<PackRef>,
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
}

impl Verdict {
    /// Whether the level reached is at least the level required.
    pub fn level_reached_meets(&self) -> bool {
        let idx = |l: &str| self.levels.iter().position(|x| x == l);
        match &self.level_reached {
            Some(r) => idx(r) >= idx(&self.level_required),
            None => false,
        }
    }
}

impl Report {
    pub fn exit_code(&self) -> i32 {
        i32::from(self.verdict.blocked)
    }
}
