//! Walk a repository and collect its evidence: the first half of the pipeline.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use crate::collect::{self, Fact};
use crate::diag::ConfigError;
use crate::discover::{self, Options};
use crate::evidence::Evidence;

pub fn scan(root: &Path, opts: &Options) -> Result<Evidence, ConfigError> {
    match std::fs::metadata(root) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(
                ConfigError::new(format!("{} is not a directory", root.display()))
                    .hint("pass the repository's root directory"),
            );
        }
        Err(err) => {
            return Err(
                ConfigError::new(format!("cannot read {}: {err}", root.display()))
                    .hint("pass an existing directory (default: the current one)"),
            );
        }
    }
    let facts = Mutex::new(Vec::<Fact>::new());
    let by_kind = Mutex::new(BTreeMap::<String, u64>::new());
    let walk = discover::walk(root, opts, &|doc| {
        let found = collect::collect(&doc);
        *by_kind
            .lock()
            .unwrap()
            .entry(doc.kind.name().to_string())
            .or_default() += 1;
        facts.lock().unwrap().extend(found);
    });
    collect::assemble(
        facts.into_inner().unwrap(),
        walk,
        by_kind.into_inner().unwrap(),
    )
}
