//! The lines a pull request changes, from `GET /repos/{repo}/pulls/{n}/files`
//! (paginated; GitHub lists at most 3000 files).

use serde_json::Value;

use super::api::{Api, ApiError};
use crate::changes::ChangedLines;

const PER_PAGE: usize = 100;
/// GitHub stops listing a pull request's files at 3000.
pub const MAX_FILES: usize = 3000;

/// The pull request's changed lines, paths relative to the repository.
/// The second value is true when GitHub's list was cut at [`MAX_FILES`].
pub async fn changed_lines(
    api: &Api,
    repo: &str,
    number: u64,
) -> Result<(ChangedLines, bool), ApiError> {
    let mut changed = ChangedLines::new(format!("pull request #{number}"));
    let mut listed = 0;
    for page in 1..=MAX_FILES / PER_PAGE {
        let list = api
            .get(&format!(
                "/repos/{repo}/pulls/{number}/files?per_page={PER_PAGE}&page={page}"
            ))
            .await?;
        let files = list.as_array().map(Vec::as_slice).unwrap_or_default();
        for file in files {
            add(&mut changed, file);
        }
        listed += files.len();
        if files.len() < PER_PAGE {
            return Ok((changed, false));
        }
    }
    Ok((changed, listed >= MAX_FILES))
}

fn add(changed: &mut ChangedLines, file: &Value) {
    let Some(path) = file["filename"].as_str() else {
        return;
    };
    if file["status"] == "removed" {
        return;
    }
    match file["patch"].as_str() {
        Some(patch) => changed.add_file(path, Some(patch)),
        // A pure rename has no patch and no changes.
        None if file["changes"].as_u64() == Some(0) => changed.add_untouched(path),
        // Binary, or a diff too large for GitHub to include.
        None => changed.add_file(path, None),
    }
}
