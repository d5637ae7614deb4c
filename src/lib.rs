//! readygate: a production-readiness gate. Data flows one way:
//! discover → collect → evidence → evaluate → findings → report → exit code.

pub mod collect;
pub mod diag;
pub mod discover;
pub mod evidence;

pub mod policy;
pub mod probe;

pub mod docs;
pub mod findings;
pub mod init;
pub mod report;
pub mod scan;
pub mod schema;
pub mod yaml;
