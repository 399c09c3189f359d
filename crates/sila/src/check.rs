//! `sila check`: print every diagnostic of the config dir; exit 1 when any is an error.

use serde::Serialize;
use sila_cli::{Failure, Settings};
use sila_core::diag::Diagnostic;

#[derive(Serialize)]
struct Report<'a> {
    config_dir: String,
    errors: usize,
    warnings: usize,
    diagnostics: &'a [Diagnostic],
}

/// Checks `--config-dir` (or its fallbacks) offline.
pub fn run(settings: &Settings) -> anyhow::Result<()> {
    let dir = &settings.config_dir;
    if !dir.root.is_dir() {
        return Err(sila_cli::UsageError(format!("config dir {} is not a directory", dir.root.display())).into());
    }
    let diagnostics = sila_core::check::check(dir);
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let printer = settings.printer();
    if printer.json() {
        printer.print_json(&Report {
            config_dir: dir.root.display().to_string(),
            errors,
            warnings,
            diagnostics: &diagnostics,
        })?;
    } else {
        for d in &diagnostics {
            printer.line(&d.to_string())?;
        }
        eprintln!("sila check: {}: {errors} error(s), {warnings} warning(s)", dir.root.display());
    }
    if errors > 0 {
        return Err(Failure.into());
    }
    Ok(())
}
