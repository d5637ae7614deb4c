//! Where a policy pack comes from. The loader resolves `--policy` and every
//! `extends` entry through [`Source`]: parse the spec, read the text, and
//! resolve the pack's own `extends` relative to it. Built-in packs and files
//! today; a file at a git ref and remote packs plug in here as new variants
//! without touching the loader's control flow.

use std::path::{Path, PathBuf};

use super::builtin;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `builtin:NAME`, compiled into the binary. `base` is where paths in
    /// its `extends` resolve (the directory of whoever named it).
    Builtin { name: String, base: PathBuf },
    /// A file, as the user or the naming pack wrote it (joined to the
    /// naming pack's directory).
    File(PathBuf),
}

/// A source that cannot be used: what and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub message: String,
    pub hint: String,
}

impl SourceError {
    fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl Source {
    /// The source a spec names, relative to `base` (the directory of the
    /// file naming it, or the working directory for `--policy`).
    pub fn parse(spec: &str, base: &Path) -> Result<Source, SourceError> {
        if let Some(name) = spec.strip_prefix("builtin:") {
            return Ok(Source::Builtin {
                name: name.to_string(),
                base: base.to_path_buf(),
            });
        }
        if ["https://", "git+", "http://"]
            .iter()
            .any(|p| spec.starts_with(p))
        {
            return Err(SourceError::new(
                format!("remote pack `{spec}` is not supported by this version"),
                "vendor the pack into the repository and extend it by path",
            ));
        }
        Ok(Source::File(base.join(spec)))
    }

    /// How the pack is named in messages and in the report's pack chain.
    pub fn display(&self) -> String {
        match self {
            Source::Builtin { name, .. } => format!("builtin:{name}"),
            Source::File(path) => path.display().to_string(),
        }
    }

    /// The pack's identity, so a cycle or a diamond is seen however the
    /// pack was named.
    pub fn key(&self) -> String {
        match self {
            Source::Builtin { .. } => self.display(),
            Source::File(path) => path
                .canonicalize()
                .map_or_else(|_| self.display(), |p| p.display().to_string()),
        }
    }

    pub fn read(&self) -> Result<String, SourceError> {
        match self {
            Source::Builtin { name, .. } => {
                builtin::get(name).map(str::to_string).ok_or_else(|| {
                    SourceError::new(
                        format!("no built-in pack `{name}`"),
                        format!("built-in packs: {}", builtin::names().join(", ")),
                    )
                })
            }
            Source::File(path) => std::fs::read_to_string(path).map_err(|e| {
                SourceError::new(
                    format!("cannot read policy pack {}: {e}", path.display()),
                    "check the path; relative paths are resolved from the file that names them",
                )
            }),
        }
    }

    /// The source an entry of this pack's `extends` names.
    pub fn resolve(&self, spec: &str) -> Result<Source, SourceError> {
        let base = match self {
            Source::Builtin { base, .. } => base.clone(),
            Source::File(path) => path.parent().map(Path::to_path_buf).unwrap_or_default(),
        };
        Source::parse(spec, &base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_sources_and_extends_resolve_beside_the_pack() {
        let here = Path::new("repo/.readygate");
        let file = Source::parse("policy.yaml", here).unwrap();
        assert_eq!(file, Source::File("repo/.readygate/policy.yaml".into()));
        assert_eq!(
            file.resolve("../org/base.yaml").unwrap(),
            Source::File("repo/.readygate/../org/base.yaml".into())
        );
        let builtin = file.resolve("builtin:baseline").unwrap();
        assert_eq!(builtin.display(), "builtin:baseline");
        assert!(builtin.read().unwrap().contains("name:"));
        assert!(
            Source::parse("builtin:nope", here)
                .unwrap()
                .read()
                .unwrap_err()
                .hint
                .contains("baseline")
        );
        let remote = Source::parse("git+https://example.com/org/packs@v1//p.yaml", here);
        assert!(remote.unwrap_err().message.contains("not supported"));
    }
}
