//! GitHub Actions: the runner's context, and what the gate writes back to
//! the runner (annotations, job summary, step outputs), and the test
//! history it reads back from Actions artifacts.

pub mod actions;
pub mod api;
pub mod context;
pub mod publish;
pub mod pulls;
pub mod runner;
