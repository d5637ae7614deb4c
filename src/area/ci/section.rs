//! The CI section of the evidence: pipelines defined in the repository.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::evidence::Location;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Ci {
    pub github_workflows: Vec<CiPipeline>,
    pub gitlab: Vec<CiPipeline>,
}

impl Ci {
    pub fn is_present(&self) -> bool {
        !self.github_workflows.is_empty() || !self.gitlab.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CiPipeline {
    pub location: Location,
    pub name: Option<String>,
    /// Events (`push`, `pull_request`, ...) for GitHub; empty for GitLab.
    pub triggers: Vec<String>,
    pub jobs: Vec<String>,
}
