//! readygate: a production-readiness gate. Data flows one way: walk and
//! classify → each area collects and assembles its evidence → evaluate →
//! findings → report → exit code.
//!
//! Layers, each using only those below it: the shared vocabulary (`yaml`,
//! `diag`, `escape`, `schema`, `git`, `tree` (a commit's files, read from
//! git), `evidence`, `document` (and its rule expressions), `check`, `probe`,
//! `progress`, `contract`); the
//! evidence areas (`area/*`, which never import each other) and their
//! registry (`area`); the walk and scan (`discover`, `scan`); policy and
//! findings; reports, GitHub and the baseline; and `gate`, the run itself.

/// The project's home, for links from reports to the rule docs.
pub const HOME: &str = "https://github.com/readygate/readygate";

pub mod check;
pub mod contract;
pub mod diag;
pub mod document;
pub mod escape;
pub mod evidence;
pub mod git;
pub mod probe;
pub mod progress;
pub mod tree;
pub mod yaml;

pub mod area;
pub mod discover;
pub mod scan;

pub mod findings;
pub mod policy;

pub mod baseline;
pub mod changes;
pub mod cleanup;
pub mod docs;
pub mod gate;
pub mod github;
pub mod init;
pub mod report;
pub mod schema;
