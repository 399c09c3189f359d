//! `run`: the one place that sets up logging and the async runtime and maps results to exit codes.

use std::future::Future;
use std::process::ExitCode;

/// An error caused by how the command was called (exit 2), e.g. an unknown `--type`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The refusal of a plan with destructive steps when `--allow-destructive` was not given (exit 2).
pub fn destructive_refused(steps: &[String]) -> UsageError {
    UsageError(format!(
        "{} destructive step(s) refused ({}); nothing was changed; rerun with --allow-destructive to apply them",
        steps.len(),
        steps.join("; ")
    ))
}

/// The command ran and failed in a way it already reported on stdout (exit 1, nothing more to print).
#[derive(Debug, thiserror::Error)]
#[error("failed")]
pub struct Failure;

/// The command ran, reported on stdout, and ends with this exit status: the highest status of
/// the remote commands `sila-aws exec` ran, which Jenkins jobs branch on.
#[derive(Debug, thiserror::Error)]
#[error("exit status {0}")]
pub struct ExitStatus(pub u8);

/// Installs logging on stderr at the level `-v` asks for (`SILA_LOG` overrides, in `tracing` filter
/// syntax), runs `command` on a multi-threaded runtime, and renders its error as `error: ...`
/// (the whole cause chain on one line) with the right exit code.
pub fn run<F>(tool: &str, verbose: u8, command: F) -> ExitCode
where
    F: Future<Output = anyhow::Result<()>>,
{
    run_with(tool, verbose, command, Interrupts::Abandon)
}

/// What Ctrl-C does to a running command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupts {
    /// The command is dropped and the tool exits 130: for commands with nothing to undo.
    Abandon,
    /// The command listens for SIGINT and SIGTERM itself, undoes what it did, and ends with its own
    /// error (a bake, which must not leave a builder behind).
    Handled,
}

/// [`run`], with the choice of who handles Ctrl-C.
pub fn run_with<F>(tool: &str, verbose: u8, command: F, interrupts: Interrupts) -> ExitCode
where
    F: Future<Output = anyhow::Result<()>>,
{
    let default = match verbose {
        // aws_config warns about every link of its chains it tries (IMDS for a region, ...); the
        // one-line error at the end says what is missing, so at the default level those stay quiet.
        0 => "warn,sila=info,aws_config=error",
        1 => "info,sila=debug",
        _ => "debug,sila=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SILA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only for people: not in pipes or Jenkins logs, and never with NO_COLOR set.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none())
        .with_target(verbose > 0)
        .without_time()
        .try_init();

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{tool}: error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        if interrupts == Interrupts::Handled {
            return Some(command.await);
        }
        tokio::select! {
            result = command => Some(result),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    match result {
        None => {
            eprintln!("{tool}: interrupted");
            ExitCode::from(130)
        }
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(e)) if e.is::<Failure>() => ExitCode::from(1),
        Some(Err(e)) if e.is::<ExitStatus>() => ExitCode::from(e.downcast_ref::<ExitStatus>().map_or(1, |s| s.0)),
        Some(Err(e)) => {
            eprintln!("{tool}: error: {e:#}");
            if e.is::<UsageError>() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
