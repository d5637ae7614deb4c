//! Errors that stop the gate, typed by cause: usage and configuration (a bad
//! flag, policy or manifest), input (the repository or ref cannot be read as
//! given), I/O (a report cannot be written) and network (a probe or GitHub
//! cannot be reached). All stop the run with exit code 2; the first two
//! always say where and what to do.

use std::fmt;

use crate::yaml::Pos;

/// Boxed so `Result<T, ConfigError>` stays small on the happy path.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError(Box<Details>);

#[derive(Debug, Clone, PartialEq)]
pub struct Details {
    /// The file at fault (as the user named it), if any.
    pub file: Option<String>,
    pub pos: Option<Pos>,
    /// The offending key, when one is to blame.
    pub key: Option<String>,
    pub message: String,
    pub hint: Option<String>,
    /// Further errors found in the same pass, so one run shows them all.
    pub more: Vec<ConfigError>,
}

impl std::ops::Deref for ConfigError {
    type Target = Details;

    fn deref(&self) -> &Details {
        &self.0
    }
}

impl ConfigError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(Box::new(Details {
            file: None,
            pos: None,
            key: None,
            message: message.into(),
            hint: None,
            more: Vec::new(),
        }))
    }

    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.0.file = Some(file.into());
        self
    }

    pub fn at(mut self, pos: Pos) -> Self {
        self.0.pos = Some(pos);
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.0.key = Some(key.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.0.hint = Some(hint.into());
        self
    }

    /// Combine several errors into one report (the first leads).
    pub fn many(mut errors: Vec<ConfigError>) -> Option<Self> {
        if errors.is_empty() {
            return None;
        }
        let mut first = errors.remove(0);
        first.0.more.extend(errors);
        Some(first)
    }

    /// Every part is repository text or may carry some (a key, a path, a
    /// value echoed back): each is one escaped line on stderr.
    fn fmt_one(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::escape::{line, lines};
        write!(f, "error: ")?;
        if let Some(file) = &self.file {
            write!(f, "{}", line(file))?;
            if let Some(pos) = self.pos {
                write!(f, ":{}:{}", pos.line, pos.column)?;
            }
            write!(f, ": ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "`{}`: ", line(key))?;
        }
        // A message may span lines (a parser's caret display); no line of
        // it can start a workflow command.
        write!(f, "{}", lines(&self.message))?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {}", lines(hint))?;
        }
        Ok(())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_one(f)?;
        for more in &self.more {
            writeln!(f)?;
            more.fmt_one(f)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The input cannot be used as given: the path is not a directory, a git ref
/// does not resolve, an event payload is malformed. Same shape as a
/// configuration error (file, line, hint), a different cause.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError(pub ConfigError);

impl InputError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(ConfigError::new(message))
    }

    pub fn hint(self, hint: impl Into<String>) -> Self {
        Self(self.0.hint(hint))
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for InputError {}

/// A file, stream or program could not be read, written or run.
#[derive(Debug)]
pub struct IoError {
    /// What was being done: "cannot write report.json".
    pub doing: String,
    pub source: std::io::Error,
    pub hint: Option<String>,
}

impl IoError {
    pub fn new(doing: impl Into<String>, source: std::io::Error) -> Self {
        Self {
            doing: doing.into(),
            source,
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for IoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::escape::line;
        write!(
            f,
            "error: {}: {}",
            line(&self.doing),
            line(&self.source.to_string())
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {}", line(hint))?;
        }
        Ok(())
    }
}

impl std::error::Error for IoError {}

/// The network failed where the run cannot go on without it (the probe
/// runner could not start, publishing was required and failed).
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkError(pub String);

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", crate::escape::line(&self.0))
    }
}

impl std::error::Error for NetworkError {}

/// Any error that stops the run (exit 2).
#[derive(Debug)]
pub enum Error {
    Config(ConfigError),
    Input(InputError),
    Io(IoError),
    Network(NetworkError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => e.fmt(f),
            Error::Input(e) => e.fmt(f),
            Error::Io(e) => e.fmt(f),
            Error::Network(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(e)
    }
}

impl From<IoError> for Error {
    fn from(e: IoError) -> Self {
        Error::Io(e)
    }
}

impl From<NetworkError> for Error {
    fn from(e: NetworkError) -> Self {
        Error::Network(e)
    }
}

/// The candidate `name` was most likely meant to be, when one is close
/// (a typo, not another word): for "did you mean" hints.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    // A typo is of a short name; a long one (hostile, or pasted) gets no
    // suggestion, and the distance's table stays small.
    const LONGEST: usize = 100;
    if name.len() > LONGEST {
        return None;
    }
    candidates
        .filter(|c| c.len() <= LONGEST)
        .map(|c| (edit_distance(name, c), c))
        .min()
        .filter(|(d, c)| *d <= c.len().max(name.len()) / 3)
        .map(|(_, c)| c)
}

/// Edit distance counting a swap of two neighbours as one edit (optimal
/// string alignment): `titel` is one typo from `title`.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_key_and_hint() {
        let err = ConfigError::new("unknown level `platinum`")
            .in_file("policy.yaml")
            .at(Pos {
                line: 12,
                column: 5,
            })
            .key("rules[2].level")
            .hint("use one of: bronze, silver, gold");
        assert_eq!(
            err.to_string(),
            "error: policy.yaml:12:5: `rules[2].level`: unknown level `platinum`\n  hint: use one of: bronze, silver, gold"
        );
    }
}
