//! User-facing errors: every one names the file, the field path and the fix,
//! and maps to a documented exit code.

use std::fmt;

/// Exit codes: the one table of both CLIs (`cnpg_guard_host::check::exit`),
/// under the names the planner uses.
pub mod exit {
    use cnpg_guard_host::check::exit as shared;
    /// Plan computed and verified, or `check` found no denial.
    pub const OK: u8 = shared::OK;
    /// The policy denies the planned result (or `check` found a denial).
    pub const DENIED: u8 = shared::DENIED;
    /// Usage or input error: bad flags, unreadable or unsupported files.
    pub const INPUT: u8 = shared::USAGE;
    /// The tree (or the planned tree) could not be rendered.
    pub const RENDER: u8 = shared::RENDER;
    /// The policy could not be evaluated, or `--write` failed (every file
    /// was left untouched).
    pub const TOOLING: u8 = shared::INTERNAL;
    /// A live check failed (lineage mismatch, target outside the recovery
    /// window, Cluster not found).
    pub const LIVE: u8 = shared::LIVE;
}

/// An error shown to the user as `error: <file>: <field>: <message>` plus a
/// `fix:` line.
#[derive(Debug, Clone)]
pub struct PlanError {
    /// Exit code, see [`exit`].
    pub code: u8,
    /// The file the error is about, when there is one.
    pub file: Option<String>,
    /// The field path inside that file.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
    /// What the file should look like, when that says it best (boxed: the
    /// error stays small).
    pub example: Option<Box<str>>,
}

impl PlanError {
    /// An input error (exit 2).
    pub fn input(message: impl Into<String>, fix: impl Into<String>) -> PlanError {
        PlanError {
            code: exit::INPUT,
            file: None,
            field: None,
            message: message.into(),
            fix: fix.into(),
            example: None,
        }
    }

    /// A render error (exit 3).
    pub fn render(message: impl Into<String>, fix: impl Into<String>) -> PlanError {
        PlanError {
            code: exit::RENDER,
            ..PlanError::input(message, fix)
        }
    }

    /// A tooling error (exit 4).
    pub fn tooling(message: impl Into<String>, fix: impl Into<String>) -> PlanError {
        PlanError {
            code: exit::TOOLING,
            ..PlanError::input(message, fix)
        }
    }

    /// Sets the file.
    pub fn in_file(mut self, file: impl Into<String>) -> PlanError {
        self.file = Some(file.into());
        self
    }

    /// Sets the field path.
    pub fn at(mut self, field: impl Into<String>) -> PlanError {
        self.field = Some(field.into());
        self
    }

    /// Adds an example of what is expected.
    pub fn with_example(mut self, example: impl Into<String>) -> PlanError {
        self.example = Some(example.into().into_boxed_str());
        self
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: ")?;
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}", self.message)?;
        if !self.fix.is_empty() {
            write!(f, "\n  fix: {}", self.fix)?;
        }
        if let Some(example) = &self.example {
            write!(f, "\n  example:")?;
            for line in example.lines() {
                write!(f, "\n    {line}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for PlanError {}
