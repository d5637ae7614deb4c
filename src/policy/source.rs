//! Where a policy pack comes from. The loader resolves `--policy` and every
//! `extends` entry through [`Source`]: parse the spec against a [`Base`],
//! read the text, and resolve the pack's own `extends` relative to it.
//! Built-in packs, files, and files as a commit has them (`--policy-ref`);
//! remote packs plug in here as new variants without touching the loader's
//! control flow.
//!
//! A policy read from the repository stays inside it: its `extends` may name
//! built-in packs and files under the repository's root, never a path that
//! climbs out (the error names the spec, never content from the target).
//! Every pack is a regular file under [`MAX_PACK_BYTES`].

use std::path::{Path, PathBuf};

use super::builtin;
use super::model::Extend;
use super::remote::{RemotePack, Remotes, is_remote};
use crate::document::{normalize, parent_dir, read_regular_file};
use crate::git;

/// Largest policy pack read.
pub const MAX_PACK_BYTES: u64 = 1024 * 1024;

/// Where relative specs resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// A directory on disk. `confined`: the (canonical) directory that
    /// everything named from here must stay inside; `None` for a policy the
    /// workflow's author named on the command line.
    Dir {
        dir: PathBuf,
        confined: Option<PathBuf>,
    },
    /// A directory of the repository as `commit` has it.
    Git {
        top: PathBuf,
        commit: String,
        dir: String,
    },
}

impl Base {
    /// The working directory, unconfined: a `--policy` as typed.
    pub fn cwd() -> Self {
        Base::Dir {
            dir: PathBuf::new(),
            confined: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `builtin:NAME`, compiled into the binary; `base` is where paths in
    /// its `extends` would resolve (whoever named it).
    Builtin { name: String, base: Base },
    /// A file, as written (joined to the naming pack's directory).
    File {
        path: PathBuf,
        confined: Option<PathBuf>,
    },
    /// A file as `commit` has it, by its path from the repository's top.
    Git {
        top: PathBuf,
        commit: String,
        path: String,
    },
    /// A pack elsewhere (another git repository, an https URL, GitHub),
    /// and what it was read at once it has been: a commit, or
    /// `sha256:DIGEST` for an https pack.
    Remote {
        pack: RemotePack,
        at: Option<String>,
    },
}

/// A source that cannot be used: what and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub message: String,
    pub hint: String,
}

impl SourceError {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: hint.into(),
        }
    }

    fn outside(spec: &str) -> Self {
        SourceError::new(
            format!("`{spec}` is outside the repository"),
            "a policy read from the repository may extend only builtin: packs and files inside the repository",
        )
    }
}

impl Source {
    /// The source a spec names, relative to `base`.
    pub fn parse(spec: &str, base: &Base) -> Result<Source, SourceError> {
        if let Some(name) = spec.strip_prefix("builtin:") {
            return Ok(Source::Builtin {
                name: name.to_string(),
                base: base.clone(),
            });
        }
        if is_remote(spec) {
            let from_repo = match base {
                Base::Dir { confined, .. } => confined.is_some(),
                Base::Git { .. } => true,
            };
            return Ok(Source::Remote {
                pack: RemotePack::parse(spec, from_repo)?,
                at: None,
            });
        }
        match base {
            Base::Dir { dir, confined } => {
                let path = dir.join(spec);
                if let Some(root) = confined {
                    // A path that does not exist fails when read; one that
                    // exists must be under the root once links are followed.
                    let inside = match path.canonicalize() {
                        Ok(real) => real.starts_with(root),
                        Err(_) => true,
                    };
                    if !inside || Path::new(spec).is_absolute() {
                        return Err(SourceError::outside(spec));
                    }
                }
                Ok(Source::File {
                    path,
                    confined: confined.clone(),
                })
            }
            Base::Git { top, commit, dir } => {
                if Path::new(spec).is_absolute() {
                    return Err(SourceError::outside(spec));
                }
                let path = normalize(dir, spec).ok_or_else(|| SourceError::outside(spec))?;
                Ok(Source::Git {
                    top: top.clone(),
                    commit: commit.clone(),
                    path,
                })
            }
        }
    }

    /// The source an `extends` entry names relative to `base`: a spec, or
    /// a remote pack pinned to the digest of its text.
    pub fn parse_entry(entry: &Extend, base: &Base) -> Result<Source, SourceError> {
        Source::parse(entry.spec(), base)?.pinned(entry)
    }

    /// This source with the entry's `sha256` pin, if it has one.
    fn pinned(self, entry: &Extend) -> Result<Source, SourceError> {
        let Extend::Pinned { source, sha256 } = entry else {
            return Ok(self);
        };
        match self {
            Source::Remote { pack, at } => Ok(Source::Remote {
                pack: pack.pinned_to(sha256)?,
                at,
            }),
            _ => Err(SourceError::new(
                format!("`{source}` is not a remote pack; `sha256` pins remote packs"),
                "drop `sha256`, or name an https://, git+ or github: pack",
            )),
        }
    }

    /// The source an entry of this pack's `extends` names.
    pub fn resolve_entry(&self, entry: &Extend) -> Result<Source, SourceError> {
        self.resolve(entry.spec())?.pinned(entry)
    }

    /// How the pack is named in messages and in the report's pack chain.
    pub fn display(&self) -> String {
        match self {
            Source::Builtin { name, .. } => format!("builtin:{name}"),
            Source::File { path, .. } => path.display().to_string(),
            Source::Git { commit, path, .. } => {
                format!("{path}@{}", &commit[..commit.len().min(12)])
            }
            Source::Remote { pack, at } => match at {
                Some(at) if !pack.spec().contains(&format!("@{at}//")) => {
                    // 12 hex digits of the commit or digest.
                    let short = if at.starts_with("sha256:") { 19 } else { 12 };
                    let shown: String = at.chars().take(short).collect();
                    format!("{} ({shown})", pack.spec())
                }
                _ => pack.spec(),
            },
        }
    }

    /// The pack's identity, so a cycle or a diamond is seen however the
    /// pack was named.
    pub fn key(&self) -> String {
        match self {
            Source::Builtin { .. } => self.display(),
            Source::File { path, .. } => path
                .canonicalize()
                .map_or_else(|_| self.display(), |p| p.display().to_string()),
            Source::Git { commit, path, .. } => format!("{commit}:{path}"),
            Source::Remote { pack, at } => {
                format!("{} at {}", pack.spec(), at.as_deref().unwrap_or("?"))
            }
        }
    }

    /// The pack's text, and the source as read (a remote pack pinned to
    /// the commit it was read at, so its own `extends` resolve there).
    pub fn fetch(&self, remotes: &Remotes) -> Result<(String, Source), SourceError> {
        match self {
            Source::Remote { pack, .. } => {
                let (at, text) = pack.read(remotes)?;
                let pinned = Source::Remote {
                    pack: pack.clone(),
                    at: Some(at),
                };
                Ok((text, pinned))
            }
            other => other.read().map(|text| (text, other.clone())),
        }
    }

    pub fn read(&self) -> Result<String, SourceError> {
        match self {
            Source::Remote { pack, .. } => Err(SourceError::new(
                format!("`{}` is fetched, not read", pack.spec()),
                "",
            )),
            Source::Builtin { name, .. } => {
                builtin::get(name).map(str::to_string).ok_or_else(|| {
                    SourceError::new(
                        format!("no built-in pack `{name}`"),
                        format!("built-in packs: {}", builtin::names().join(", ")),
                    )
                })
            }
            Source::File { path, .. } => read_regular_file(path, MAX_PACK_BYTES).map_err(|e| {
                SourceError::new(
                    format!("cannot read policy pack {}: {e}", path.display()),
                    "check the path; relative paths are resolved from the file that names them",
                )
            }),
            Source::Git { top, commit, path } => {
                match git::read_at(top, commit, path, MAX_PACK_BYTES) {
                    Ok(Some(text)) => Ok(text),
                    Ok(None) => Err(SourceError::new(
                        format!(
                            "cannot read policy pack {}: no such file at that commit",
                            self.display()
                        ),
                        "with --policy-ref the policy is read from that commit, not from the working tree; extend files that exist there",
                    )),
                    Err(e) => Err(SourceError::new(
                        format!("cannot read policy pack {}: {e}", self.display()),
                        "a policy pack is a regular file of at most 1 MiB",
                    )),
                }
            }
        }
    }

    /// The source `spec` (an `extends` entry, a quarantine file) names
    /// relative to this pack.
    pub fn resolve(&self, spec: &str) -> Result<Source, SourceError> {
        let base = match self {
            Source::Builtin { base, .. } => base.clone(),
            Source::File { path, confined } => Base::Dir {
                dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
                confined: confined.clone(),
            },
            Source::Git { top, commit, path } => Base::Git {
                top: top.clone(),
                commit: commit.clone(),
                dir: parent_dir(path),
            },
            // Relative to a remote pack: the same repository at the same
            // commit (the URL beside it); anything else as any pack names it.
            Source::Remote { pack, at } => {
                if spec.starts_with("builtin:") {
                    return Source::parse(spec, &Base::cwd());
                }
                if is_remote(spec) {
                    let child = RemotePack::parse(spec, pack.from_repo)?;
                    // What a pack server writes may not reach the runner's
                    // own repositories.
                    if child.on_runner() && !pack.on_runner() {
                        return Err(SourceError::new(
                            format!(
                                "`{spec}`: a pack fetched from {} may not name a git+file pack (a repository on the runner)",
                                pack.spec()
                            ),
                            "name git+file packs with --policy, or from a git+file pack",
                        ));
                    }
                    return Ok(Source::Remote {
                        pack: child,
                        at: None,
                    });
                }
                let commit = at.as_deref().filter(|a| !a.starts_with("sha256:"));
                return Ok(Source::Remote {
                    pack: pack.sibling(spec, commit)?,
                    at: None,
                });
            }
        };
        Source::parse(spec, &base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(path: &str) -> Base {
        Base::Dir {
            dir: path.into(),
            confined: None,
        }
    }

    /// A pack server writes what its pack extends: never a repository on
    /// the runner.
    #[test]
    fn a_fetched_pack_names_no_repository_on_the_runner() {
        let remote = |spec: &str| Source::Remote {
            pack: RemotePack::parse(spec, false).unwrap(),
            at: None,
        };
        let https = remote(&format!(
            "https://packs.example/p.yaml#sha256={}",
            "a".repeat(64)
        ));
        let err = https
            .resolve("git+file:///srv/other@main//secret.yaml")
            .unwrap_err();
        assert!(
            err.message.contains("may not name a git+file pack"),
            "{err:?}"
        );
        let github = remote("github:acme/policy@v1//p.yaml");
        assert!(
            github
                .resolve("git+file:///srv/other@main//s.yaml")
                .is_err()
        );
        // One repository on the runner may name another: both are the
        // workflow's.
        let local = remote("git+file:///srv/packs@main//p.yaml");
        assert!(local.resolve("git+file:///srv/other@main//q.yaml").is_ok());
    }

    #[test]
    fn specs_name_sources_and_extends_resolve_beside_the_pack() {
        let file = Source::parse("policy.yaml", &dir("repo/.readygate")).unwrap();
        assert_eq!(
            file,
            Source::File {
                path: "repo/.readygate/policy.yaml".into(),
                confined: None
            }
        );
        assert_eq!(
            file.resolve("../org/base.yaml").unwrap(),
            Source::File {
                path: "repo/.readygate/../org/base.yaml".into(),
                confined: None
            }
        );
        let builtin = file.resolve("builtin:baseline").unwrap();
        assert_eq!(builtin.display(), "builtin:baseline");
        assert!(builtin.read().unwrap().contains("name:"));
        let missing = Source::parse("builtin:nope", &Base::cwd()).unwrap();
        assert!(missing.read().unwrap_err().hint.contains("baseline"));
        let remote = Source::parse("https://example.com/org/packs/p.yaml", &Base::cwd());
        assert!(matches!(remote, Ok(Source::Remote { .. })));
        let pin = "0".repeat(64);
        let pinned = Extend::Pinned {
            source: "builtin:baseline".into(),
            sha256: pin,
        };
        let err = Source::parse_entry(&pinned, &Base::cwd()).unwrap_err();
        assert!(err.message.contains("pins remote packs"), "{err:?}");
    }

    #[test]
    fn a_repository_policy_stays_inside_the_repository() {
        let outer = tempfile::tempdir().unwrap();
        let repo = outer.path().join("repo");
        std::fs::create_dir_all(repo.join(".readygate")).unwrap();
        std::fs::write(outer.path().join("secret.yaml"), "token: hunter2\n").unwrap();
        std::fs::write(repo.join(".readygate/org.yaml"), "name: org\n").unwrap();
        let root = repo.canonicalize().unwrap();
        let base = Base::Dir {
            dir: repo.join(".readygate"),
            confined: Some(root),
        };
        let err = Source::parse("../../secret.yaml", &base).unwrap_err();
        assert!(err.message.contains("outside the repository"));
        assert!(!err.message.contains("hunter2"));
        assert!(Source::parse("/etc/passwd", &base).is_err());
        assert!(Source::parse("org.yaml", &base).is_ok());
        // Unconfined (the workflow author's --policy): anywhere.
        let free = Source::parse(
            "../../secret.yaml",
            &dir(&repo.join(".readygate").to_string_lossy()),
        );
        assert!(free.is_ok());
    }

    #[test]
    fn only_regular_files_under_the_cap_are_read() {
        let err = Source::parse("/dev/zero", &Base::cwd())
            .unwrap()
            .read()
            .unwrap_err();
        assert!(err.message.contains("not a regular file"), "{err:?}");
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yaml");
        std::fs::write(&big, "#".repeat(MAX_PACK_BYTES as usize + 1)).unwrap();
        let err = Source::parse(big.to_str().unwrap(), &Base::cwd())
            .unwrap()
            .read()
            .unwrap_err();
        assert!(err.message.contains("limit"), "{err:?}");
    }

    #[test]
    fn git_sources_resolve_within_the_commit() {
        let base = Base::Git {
            top: "/repo".into(),
            commit: "0123456789abcdef0123".into(),
            dir: ".readygate".into(),
        };
        let pack = Source::parse("team/lax.yaml", &base).unwrap();
        assert_eq!(pack.display(), ".readygate/team/lax.yaml@0123456789ab");
        assert_eq!(
            pack.resolve("../shared.yaml").unwrap(),
            Source::Git {
                top: "/repo".into(),
                commit: "0123456789abcdef0123".into(),
                path: ".readygate/shared.yaml".into()
            }
        );
        assert!(pack.resolve("../../../x.yaml").is_err());
        assert!(pack.resolve("/etc/x.yaml").is_err());
    }
}
