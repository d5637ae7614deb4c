//! readygate: a production-readiness gate. Data flows one way:
//! discover → collect → evidence → evaluate → findings → report → exit code.

/// The project's home, for links from reports to the rule docs.
pub const HOME: &str = "https://github.com/readygate/readygate";

pub mod collect;
pub mod diag;
pub mod discover;
pub mod evidence;

pub mod policy;
pub mod probe;

pub mod baseline;
pub mod changes;
pub mod docs;
pub mod findings;
pub mod github;
pub mod init;
pub mod report;
pub mod scan;
pub mod schema;
pub mod yaml;
