//! Built-in checks: named predicates over the evidence document that a rule
//! selects with `check:` and tunes with `params:`. One file per area; adding
//! a check is a struct and one line in [`CHECKS`].

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::evidence::{Evidence, Location};

mod alerts;
mod iac;
mod repo;
mod service;

/// A check's verdict on one target, before policy (severity, grace dates,
/// waivers) turns it into a finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub target: Option<String>,
    pub message: String,
    pub location: Option<Location>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    /// The evidence needed could not be observed.
    Unknown,
    /// Nothing to check (e.g. no Terraform in the repository).
    Skip,
}

impl Outcome {
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Self {
            status,
            target: None,
            message: message.into(),
            location: None,
        }
    }

    pub fn pass(message: impl Into<String>) -> Self {
        Self::new(Status::Pass, message)
    }

    pub fn fail(message: impl Into<String>) -> Self {
        Self::new(Status::Fail, message)
    }

    pub fn skip(message: impl Into<String>) -> Self {
        Self::new(Status::Skip, message)
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// Pass or fail on a condition.
    pub fn when(ok: bool, pass: impl Into<String>, fail: impl Into<String>) -> Self {
        if ok {
            Self::pass(pass)
        } else {
            Self::fail(fail)
        }
    }
}

pub trait Check: Sync {
    fn id(&self) -> &'static str;
    /// One line for `readygate explain --checks` and the docs.
    fn summary(&self) -> &'static str;
    /// The accepted `params`, for the docs.
    fn params_help(&self) -> &'static str {
        "none"
    }
    /// Reject bad `params` when the policy loads, not when it runs. The
    /// default accepts none.
    fn validate(&self, params: &Json) -> Result<(), String> {
        no_params(params)
    }
    fn run(&self, evidence: &Evidence, params: &Json) -> Vec<Outcome>;
}

pub static CHECKS: &[&dyn Check] = &[
    &repo::EvidenceReadable,
    &repo::CiPresent,
    &service::ServiceDescribed,
    &service::OwnersDefined,
    &service::CodeownersPresent,
    &service::OncallDefined,
    &service::SloDefined,
    &iac::IacPresent,
    &iac::TerraformLockfile,
    &iac::TerraformBackend,
    &alerts::AlertRunbook,
    &alerts::AlertRunbookAnnotation,
    &alerts::AlertRunbookMentions,
    &alerts::AlertSummary,
    &alerts::AlertSourcesEvaluated,
];

pub fn find(id: &str) -> Option<&'static dyn Check> {
    CHECKS.iter().copied().find(|c| c.id() == id)
}

/// Deserialize `params` (null means defaults) into a check's parameter type.
pub fn params<T: DeserializeOwned + Default>(params: &Json) -> Result<T, String> {
    match params {
        Json::Null => Ok(T::default()),
        other => serde_json::from_value(other.clone()).map_err(|e| e.to_string()),
    }
}

/// For checks without parameters.
pub fn no_params(params: &Json) -> Result<(), String> {
    match params {
        Json::Null => Ok(()),
        Json::Object(m) if m.is_empty() => Ok(()),
        _ => Err("this check takes no params".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ids_are_unique() {
        let mut ids: Vec<_> = CHECKS.iter().map(|c| c.id()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CHECKS.len());
    }
}
