//! Test history from GitHub Actions: the last completed runs of a branch,
//! their artifacts whose names match a pattern, streamed into the cache
//! with a cap on compressed and unpacked size, and laid out as the history
//! folder the tests area reads (`RUN_ID-ATTEMPT/run.json` and the JUnit XML
//! the artifacts hold). A run already in the cache is not downloaded again.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::api::{Api, ApiError};

/// What to fetch.
#[derive(Debug, Clone)]
pub struct HistoryRequest {
    /// `owner/repo`.
    pub repository: String,
    /// Runs of this branch only.
    pub branch: Option<String>,
    /// Artifact names to take (a glob, `*` and `?`).
    pub artifact: String,
    /// How many runs, newest first.
    pub runs: usize,
    /// Where runs are kept between calls.
    pub cache_dir: PathBuf,
    /// The largest artifact downloaded (its zip).
    pub max_download: u64,
    /// The most an artifact may unpack to.
    pub max_unpacked: u64,
}

/// What the fetch did, for the log.
#[derive(Debug, Default)]
pub struct Fetched {
    /// The history folder: one subfolder per run.
    pub dir: PathBuf,
    pub runs: usize,
    pub downloaded: usize,
    pub cached: usize,
    /// What could not be fetched, one line each (a 403, an expired
    /// artifact, a zip over its cap).
    pub notes: Vec<String>,
}

/// In a run folder: a download failed in a way that may pass next time.
const INCOMPLETE: &str = "incomplete";

/// Most entries one artifact's zip may hold.
const MAX_ENTRIES: usize = 10_000;

pub async fn fetch(api: &Api, req: &HistoryRequest) -> Result<Fetched, ApiError> {
    let glob = globset::Glob::new(&req.artifact)
        .map_err(|e| ApiError {
            status: None,
            message: format!("artifact pattern `{}`: {e}", req.artifact),
        })?
        .compile_matcher();
    let dir = req
        .cache_dir
        .join("actions")
        .join(req.repository.replace('/', "__"));
    std::fs::create_dir_all(&dir).map_err(io_error)?;
    let mut fetched = Fetched {
        dir: dir.clone(),
        ..Fetched::default()
    };
    let mut page = 1;
    let mut runs: Vec<Value> = Vec::new();
    while runs.len() < req.runs && page <= 10 {
        let mut path = format!(
            "/repos/{}/actions/runs?status=completed&per_page=100&page={page}",
            req.repository
        );
        if let Some(b) = &req.branch {
            path.push_str(&format!("&branch={}", encode(b)));
        }
        let body = api.get(&path).await?;
        let batch = body["workflow_runs"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let done = batch.len() < 100;
        runs.extend(batch);
        if done {
            break;
        }
        page += 1;
    }
    runs.truncate(req.runs);
    for run in &runs {
        let (Some(id), Some(sha)) = (run["id"].as_u64(), run["head_sha"].as_str()) else {
            continue;
        };
        let attempt = run["run_attempt"].as_u64().unwrap_or(1);
        let started = run["run_started_at"]
            .as_str()
            .or(run["created_at"].as_str())
            .unwrap_or_default();
        let run_dir = dir.join(format!("{id}-{attempt}"));
        fetched.runs += 1;
        // run.json is written last: its presence means the run was read;
        // `incomplete` that a download may succeed another time.
        if run_dir.join("run.json").is_file() && !run_dir.join(INCOMPLETE).exists() {
            fetched.cached += 1;
            continue;
        }
        let _ = std::fs::remove_dir_all(&run_dir);
        std::fs::create_dir_all(&run_dir).map_err(io_error)?;
        let mut incomplete = false;
        let listing = api
            .get(&format!(
                "/repos/{}/actions/runs/{id}/artifacts?per_page=100",
                req.repository
            ))
            .await?;
        for artifact in listing["artifacts"].as_array().into_iter().flatten() {
            let (Some(aid), Some(name)) = (artifact["id"].as_u64(), artifact["name"].as_str())
            else {
                continue;
            };
            if !glob.is_match(name) {
                continue;
            }
            if artifact["expired"].as_bool() == Some(true) {
                fetched
                    .notes
                    .push(format!("run {id}: artifact `{name}` has expired"));
                continue;
            }
            let size = artifact["size_in_bytes"].as_u64().unwrap_or(0);
            if size > req.max_download {
                fetched.notes.push(format!(
                    "run {id}: artifact `{name}` is {size} bytes, over the {} downloaded",
                    req.max_download
                ));
                continue;
            }
            let zip = run_dir.join(format!("{aid}.zip"));
            let path = format!("/repos/{}/actions/artifacts/{aid}/zip", req.repository);
            match api.download(&path, &zip, req.max_download).await {
                Ok(_) => {}
                Err(e) => {
                    let why = match e.status {
                        Some(403) => "refused (the token needs `actions: read`)".to_string(),
                        Some(410) => "gone (expired)".to_string(),
                        _ => {
                            // Worth another try on the next call.
                            incomplete = true;
                            e.to_string()
                        }
                    };
                    fetched
                        .notes
                        .push(format!("run {id}: artifact `{name}` not downloaded: {why}"));
                    let _ = std::fs::remove_file(&zip);
                    continue;
                }
            }
            // By id too: artifacts of two attempts may share a name.
            let into = run_dir.join(format!("{}-{aid}", safe_name(name)));
            if let Err(why) = unpack(&zip, &into, req.max_unpacked) {
                fetched
                    .notes
                    .push(format!("run {id}: artifact `{name}` not unpacked: {why}"));
            }
            let _ = std::fs::remove_file(&zip);
            fetched.downloaded += 1;
        }
        let meta = serde_json::json!({
            "commit": sha,
            "started_at": started,
            "run_id": id,
            "attempt": attempt,
        });
        if incomplete {
            std::fs::write(run_dir.join(INCOMPLETE), "").map_err(io_error)?;
        }
        std::fs::write(run_dir.join("run.json"), meta.to_string()).map_err(io_error)?;
    }
    Ok(fetched)
}

fn io_error(e: std::io::Error) -> ApiError {
    ApiError {
        status: None,
        message: format!("the cache: {e}"),
    }
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// An artifact name as one path segment.
fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

/// The XML files of a zip, under `into`, no more than `max` bytes in all;
/// entries that would land outside `into` are skipped.
fn unpack(zip: &Path, into: &Path, max: u64) -> Result<(), String> {
    let file = std::fs::File::open(zip).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("not a zip: {e}"))?;
    if archive.len() > MAX_ENTRIES {
        return Err(format!("{} entries, over {MAX_ENTRIES}", archive.len()));
    }
    let mut left = max;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| e.to_string())?;
        let xml = entry
            .name()
            .is_ok_and(|n| n.to_ascii_lowercase().ends_with(".xml"));
        if !entry.is_file() || !xml {
            continue;
        }
        let Some(rel) = entry.enclosed_name() else {
            continue;
        };
        let to = into.join(&rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let mut out = std::fs::File::create(&to).map_err(|e| e.to_string())?;
        // The declared size may lie: count what actually comes out.
        let copied = std::io::copy(&mut (&mut entry).take(left + 1), &mut out)
            .map_err(|e| format!("{}: {e}", rel.display()))?;
        if copied > left {
            drop(out);
            let _ = std::fs::remove_file(&to);
            return Err(format!("unpacks to more than {max} bytes"));
        }
        left -= copied;
        out.flush().map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_of(files: &[(&str, &[u8])]) -> tempfile::NamedTempFile {
        use std::io::Write;
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut out = zip::ZipWriter::new(file.reopen().unwrap());
        for (name, bytes) in files {
            out.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap();
        file
    }

    #[test]
    fn unpacking_stays_inside_and_under_its_cap() {
        let zip = zip_of(&[
            ("../../escape.xml", b"<testsuite/>"),
            ("/abs.xml", b"<testsuite/>"),
            ("ok/TEST-a.xml", b"<testsuite/>"),
            ("notes.txt", b"not a report"),
        ]);
        let into = tempfile::tempdir().unwrap();
        unpack(zip.path(), &into.path().join("a"), 1 << 20).unwrap();
        let mut found: Vec<String> = walk(into.path());
        found.sort();
        // An absolute name lands inside, as a relative one.
        assert_eq!(found, ["a/abs.xml", "a/ok/TEST-a.xml"]);
        assert!(!into.path().join("escape.xml").exists());

        let big = vec![b'x'; 4096];
        let zip = zip_of(&[("big.xml", &big)]);
        let err = unpack(zip.path(), &into.path().join("b"), 1000).unwrap_err();
        assert!(err.contains("more than 1000 bytes"), "{err}");
        let err = unpack(
            into.path().join("a/ok/TEST-a.xml").as_path(),
            &into.path().join("c"),
            1000,
        )
        .unwrap_err();
        assert!(err.starts_with("not a zip"), "{err}");
    }

    fn walk(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                if e.file_type().unwrap().is_dir() {
                    stack.push(e.path());
                } else {
                    out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
                }
            }
        }
        out
    }

    #[test]
    fn names_stay_one_segment() {
        assert_eq!(safe_name("test-results (linux)"), "test-results__linux_");
        assert_eq!(safe_name("../x"), "_.._x");
        assert_eq!(safe_name(""), "_");
    }
}
