//! Diagnostics: a problem found in the configuration, with the file and line it comes from.
//!
//! Every validator in core reports through [`Diagnostic`] so that `sila check` can list all problems
//! at once (`PATH:LINE: error: message`) and the tools can refuse bad input with a one-line error
//! before they touch AWS.

use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a problem is: errors stop a command (exit 1), warnings are shown and tolerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The configuration cannot be used as it is.
    Error,
    /// Usable, but probably not what the author meant (or an Asiaq quirk Sila tolerates).
    Warning,
}

/// One problem, located in a file (and a line when there is one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file the problem is in.
    pub path: PathBuf,
    /// 1-based line number, when the problem has one.
    pub line: Option<usize>,
    /// What is wrong, in one line.
    pub message: String,
}

impl Diagnostic {
    /// An error at `path:line`.
    pub fn error(path: impl AsRef<Path>, line: Option<usize>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Error, path: path.as_ref().to_path_buf(), line, message: message.into() }
    }

    /// A warning at `path:line`.
    pub fn warning(path: impl AsRef<Path>, line: Option<usize>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, path: path.as_ref().to_path_buf(), line, message: message.into() }
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `PATH:LINE: error: message` (the line is left out when unknown), the format compilers use so
    /// editors can jump to it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.line {
            Some(line) => write!(f, "{}:{}: {}: {}", self.path.display(), line, kind, self.message),
            None => write!(f, "{}: {}: {}", self.path.display(), kind, self.message),
        }
    }
}

/// A list of diagnostics that contains at least one error; the `Err` side of validators that collect
/// every problem instead of stopping at the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
