//! The runner's context: environment variables and the event payload
//! (`GITHUB_EVENT_PATH`), read once and checked, so a malformed payload is a
//! clear error naming the field instead of a wrong annotation later.

use std::path::PathBuf;

use crate::diag::{ConfigError, Error, InputError};
use crate::yaml::{self, Node};

/// What a run on GitHub Actions knows about itself.
#[derive(Clone)]
pub struct RunnerContext {
    pub event_name: String,
    /// `owner/repo`.
    pub repository: String,
    pub sha: String,
    pub git_ref: Option<String>,
    /// `https://github.com` or a GHES host.
    pub server_url: String,
    /// `https://api.github.com` or `https://HOST/api/v3` on GHES.
    pub api_url: String,
    pub pull_request: Option<PullRequest>,
    pub step_summary: Option<PathBuf>,
    pub output: Option<PathBuf>,
    /// `GITHUB_WORKSPACE`: the checkout, which annotation paths are
    /// relative to.
    pub workspace: Option<PathBuf>,
    /// `GITHUB_RUN_ID` and `GITHUB_RUN_ATTEMPT`: which run made a check run.
    pub run: Option<(String, String)>,
}

/// Tokens must never reach output or logs: no `Debug` that prints one.
impl std::fmt::Debug for RunnerContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerContext")
            .field("event_name", &self.event_name)
            .field("repository", &self.repository)
            .field("sha", &self.sha)
            .field("pull_request", &self.pull_request)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    pub head_sha: String,
    pub base_ref: String,
    /// The base branch's commit the pull request was opened against (or
    /// last synchronised with): where its policy is read from.
    pub base_sha: Option<String>,
    /// `owner/repo` of the head: differs from the base for forks, whose
    /// tokens are read-only.
    pub head_repository: Option<String>,
}

impl PullRequest {
    pub fn is_from_fork(&self, repository: &str) -> bool {
        self.head_repository
            .as_deref()
            .is_some_and(|h| !h.eq_ignore_ascii_case(repository))
    }
}

impl RunnerContext {
    /// From the environment (`lookup` is `std::env::var` in the binary).
    /// `Ok(None)` when not on GitHub Actions.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, Error> {
        let var = |name: &str| lookup(name).filter(|v| !v.is_empty());
        if var("GITHUB_ACTIONS").as_deref() != Some("true") && var("GITHUB_EVENT_PATH").is_none() {
            return Ok(None);
        }
        let required = |name: &str| {
            var(name).ok_or_else(|| {
                ConfigError::new(format!("{name} is not set")).hint(
                    "run inside GitHub Actions, or set the GITHUB_* variables the runner sets",
                )
            })
        };
        let event_name = required("GITHUB_EVENT_NAME")?;
        let repository = required("GITHUB_REPOSITORY")?;
        let server_url = var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
        let api_url = var("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into());
        let pull_request = match var("GITHUB_EVENT_PATH") {
            Some(path) if event_name.starts_with("pull_request") => Some(read_pull_request(&path)?),
            _ => None,
        };
        Ok(Some(Self {
            sha: pull_request
                .as_ref()
                .map(|p| p.head_sha.clone())
                .or_else(|| var("GITHUB_SHA"))
                .unwrap_or_default(),
            event_name,
            repository,
            git_ref: var("GITHUB_REF"),
            server_url: server_url.trim_end_matches('/').to_string(),
            api_url: api_url.trim_end_matches('/').to_string(),
            pull_request,
            step_summary: var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            output: var("GITHUB_OUTPUT").map(PathBuf::from),
            workspace: var("GITHUB_WORKSPACE").map(PathBuf::from),
            run: var("GITHUB_RUN_ID")
                .map(|id| (id, var("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into()))),
        }))
    }

    /// Where `root` sits in the checkout (`services/api`, or empty), so
    /// paths relative to it can be made relative to the repository.
    pub fn prefix_of(&self, root: &std::path::Path) -> String {
        let (Some(ws), Ok(root)) = (&self.workspace, root.canonicalize()) else {
            return String::new();
        };
        let Ok(ws) = ws.canonicalize() else {
            return String::new();
        };
        root.strip_prefix(&ws)
            .map(|rel| {
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_default()
    }

    /// The check run's `external_id`: this workflow run and attempt, so a
    /// check run whose creation answer was lost can be found again.
    pub fn check_run_id(&self) -> String {
        match &self.run {
            Some((id, attempt)) => format!("readygate/{id}/{attempt}"),
            None => "readygate".into(),
        }
    }

    /// Web link base for files at the commit under review.
    pub fn blob_base(&self) -> Option<String> {
        (!self.sha.is_empty())
            .then(|| format!("{}/{}/blob/{}/", self.server_url, self.repository, self.sha))
    }
}

/// The pull request fields the gate uses, from a `pull_request` payload.
fn read_pull_request(path: &str) -> Result<PullRequest, InputError> {
    read_payload(path).map_err(InputError)
}

/// The payload's fields; a malformed payload is input, reported with the
/// file, line and key like a configuration error.
fn read_payload(path: &str) -> Result<PullRequest, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new(format!("cannot read the event payload: {e}"))
            .in_file(path)
            .hint("GITHUB_EVENT_PATH must name the runner's event JSON")
    })?;
    let doc = yaml::parse_single(&text).map_err(|e| {
        ConfigError::new(format!("the event payload is not JSON: {}", e.message))
            .in_file(path)
            .at(e.pos)
    })?;
    let field = |path_keys: &[&str]| -> Result<&Node, ConfigError> {
        let name = path_keys.join(".");
        let mut node = &doc;
        for key in path_keys {
            node = node.get(key).ok_or_else(|| {
                ConfigError::new(format!("`{name}` is missing"))
                    .in_file(path)
                    .at(node.pos)
                    .key(&name)
                    .hint("a pull_request event payload has it; was the file replaced?")
            })?;
        }
        Ok(node)
    };
    let string = |keys: &[&str]| -> Result<String, ConfigError> {
        let node = field(keys)?;
        node.as_str().map(str::to_string).ok_or_else(|| {
            ConfigError::new(format!("`{}` must be a string", keys.join(".")))
                .in_file(path)
                .at(node.pos)
                .key(keys.join("."))
        })
    };
    let number_node = field(&["pull_request", "number"])?;
    let number = match &number_node.value {
        yaml::Value::Int(n) if *n > 0 => *n as u64,
        _ => {
            return Err(
                ConfigError::new("`pull_request.number` must be a positive integer")
                    .in_file(path)
                    .at(number_node.pos)
                    .key("pull_request.number"),
            );
        }
    };
    Ok(PullRequest {
        number,
        head_sha: string(&["pull_request", "head", "sha"])?,
        base_ref: string(&["pull_request", "base", "ref"])?,
        base_sha: doc
            .path(&["pull_request", "base", "sha"])
            .and_then(Node::as_str)
            .filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_string),
        head_repository: doc
            .path(&["pull_request", "head", "repo", "full_name"])
            .and_then(Node::as_str)
            .map(str::to_string),
    })
}
