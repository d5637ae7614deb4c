//! Where a file belongs: production code, tests, examples or vendored code.
//! Evidence from every scope is collected; built-in rules judge only
//! `production` unless a rule widens its scope (`applies_to.scopes`). A
//! repository reclassifies paths in its manifest (`scopes:`, `exclude:`) or
//! a `.readygateignore`; on a pull request those come from the base, like
//! the rest of the policy.

use std::collections::BTreeMap;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diag::ConfigError;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    Production,
    /// Test fixtures and test data.
    Test,
    /// Examples, demos and documentation snippets.
    Example,
    /// Vendored or third-party code.
    Vendored,
    /// Excluded by the manifest's `exclude:` or `.readygateignore`.
    Excluded,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Production => "production",
            Scope::Test => "test",
            Scope::Example => "example",
            Scope::Vendored => "vendored",
            Scope::Excluded => "excluded",
        }
    }
}

/// The manifest's reclassification of paths (globs from the repository
/// root). A path matching `production` is production whatever else says.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeGlobs {
    #[serde(default)]
    pub production: Vec<String>,
    #[serde(default)]
    pub test: Vec<String>,
    #[serde(default)]
    pub example: Vec<String>,
    #[serde(default)]
    pub vendored: Vec<String>,
}

/// The scope rules in force: the defaults, the manifest's, and excludes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScopeRules {
    pub production: Vec<String>,
    pub test: Vec<String>,
    pub example: Vec<String>,
    pub vendored: Vec<String>,
    /// Not judged at all (manifest `exclude:` and `.readygateignore`).
    pub exclude: Vec<String>,
}

fn strings(globs: &[&str]) -> Vec<String> {
    globs.iter().map(|g| g.to_string()).collect()
}

impl ScopeRules {
    /// The conventions most repositories follow.
    pub fn defaults() -> Self {
        Self {
            production: Vec::new(),
            test: strings(&[
                "**/test/**",
                "**/tests/**",
                "**/testdata/**",
                "**/fixtures/**",
                "**/__tests__/**",
                "**/__fixtures__/**",
                "**/testutils/**",
            ]),
            example: strings(&[
                "**/examples/**",
                "**/example/**",
                "**/demo/**",
                "**/demos/**",
                "**/samples/**",
                "**/sample/**",
            ]),
            vendored: strings(&[
                "**/vendor/**",
                "**/third_party/**",
                "**/third-party/**",
                "**/node_modules/**",
            ]),
            exclude: Vec::new(),
        }
    }

    /// The defaults with a manifest's globs added, and excludes.
    pub fn with(mut self, globs: Option<&ScopeGlobs>, exclude: &[String]) -> Self {
        if let Some(g) = globs {
            self.production.extend(g.production.iter().cloned());
            self.test.extend(g.test.iter().cloned());
            self.example.extend(g.example.iter().cloned());
            self.vendored.extend(g.vendored.iter().cloned());
        }
        self.exclude.extend(exclude.iter().cloned());
        self
    }

    /// Globs compiled once; a glob that does not compile names itself.
    pub fn matcher(&self) -> Result<ScopeMatcher, ConfigError> {
        let set = |globs: &[String]| -> Result<GlobSet, ConfigError> {
            let mut b = GlobSetBuilder::new();
            for g in globs {
                let glob: Glob = GlobBuilder::new(g)
                    .literal_separator(true)
                    .build()
                    .map_err(|e| glob_error(format!("`{g}`: {e}")))?;
                b.add(glob);
            }
            b.build().map_err(|e| glob_error(e.to_string()))
        };
        Ok(ScopeMatcher {
            production: set(&self.production)?,
            exclude: set(&self.exclude)?,
            others: vec![
                (Scope::Vendored, set(&self.vendored)?),
                (Scope::Test, set(&self.test)?),
                (Scope::Example, set(&self.example)?),
            ],
        })
    }
}

#[derive(Debug)]
pub struct ScopeMatcher {
    production: GlobSet,
    exclude: GlobSet,
    others: Vec<(Scope, GlobSet)>,
}

impl ScopeMatcher {
    /// The scope of a repository-relative path.
    pub fn scope(&self, path: &str) -> Scope {
        if self.exclude.is_match(path) {
            return Scope::Excluded;
        }
        if self.production.is_match(path) {
            return Scope::Production;
        }
        self.others
            .iter()
            .find(|(_, set)| set.is_match(path))
            .map_or(Scope::Production, |(s, _)| *s)
    }
}

/// The scopes section of the evidence: the rules in force and how many
/// evidence files fell in each scope.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Scopes {
    pub rules: ScopeRules,
    pub files: BTreeMap<Scope, u64>,
}

/// The file a repository lists paths not to judge in.
pub const IGNORE_FILE: &str = ".readygateignore";
/// Largest ignore file read.
pub const MAX_IGNORE_FILE: u64 = 64 * 1024;

/// `.readygateignore` at `root`, if it is a regular file (not a link, a
/// FIFO or a device) of at most [`MAX_IGNORE_FILE`] bytes.
pub fn read_ignore_file(root: &std::path::Path) -> Option<String> {
    use std::io::Read;
    let path = root.join(IGNORE_FILE);
    let meta = std::fs::symlink_metadata(&path).ok()?;
    if !meta.is_file() || meta.len() > MAX_IGNORE_FILE {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_IGNORE_FILE)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// `.readygateignore`: one glob per line, `#` comments, gitignore-like
/// (a line without `/` matches at any depth; a trailing `/` is a
/// directory).
pub fn ignore_file_globs(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .take(1_000)
        .map(|l| {
            let dir = l.ends_with('/');
            let l = l.trim_end_matches('/');
            let anchored = l.starts_with('/') || l.trim_start_matches('/').contains('/');
            let base = l.trim_start_matches('/');
            let base = if anchored {
                base.to_string()
            } else {
                format!("**/{base}")
            };
            if dir { format!("{base}/**") } else { base }
        })
        .collect()
}

fn glob_error(detail: String) -> ConfigError {
    ConfigError::new(format!(
        "a scope or exclude glob does not compile: {detail}"
    ))
    .hint("fix `scopes:` / `exclude:` in readygate.yaml, or .readygateignore")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_in_scopes() {
        let m = ScopeRules::defaults()
            .with(
                Some(&ScopeGlobs {
                    production: vec!["deploy/examples/prod/**".into()],
                    ..ScopeGlobs::default()
                }),
                &ignore_file_globs("# scratch\nscratch/\n*.bak.yaml\n"),
            )
            .matcher()
            .unwrap();
        assert_eq!(m.scope("monitoring/api.rules.yml"), Scope::Production);
        assert_eq!(m.scope("charts/x/testdata/rules.yml"), Scope::Test);
        assert_eq!(m.scope("tests/fixtures/a.yaml"), Scope::Test);
        assert_eq!(m.scope("examples/demo.yaml"), Scope::Example);
        assert_eq!(m.scope("vendor/github.com/x/y.yaml"), Scope::Vendored);
        assert_eq!(m.scope("deploy/examples/prod/a.yaml"), Scope::Production);
        assert_eq!(m.scope("a/scratch/b.yaml"), Scope::Excluded);
        assert_eq!(m.scope("x/old.bak.yaml"), Scope::Excluded);
        assert!(
            ScopeRules {
                test: vec!["[".into()],
                ..ScopeRules::default()
            }
            .matcher()
            .is_err()
        );
    }
}
