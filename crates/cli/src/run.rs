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

/// The command was interrupted by a signal (exit 130, the one rule of every tool): a command that
/// handles interruptions itself ends with this error (or one with it as its cause) once it has taken
/// back what it made.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {0}")]
pub struct Interrupted(pub &'static str);

/// The exit status of an interrupted command.
pub const INTERRUPTED_EXIT: u8 = 130;

/// The interruption rule, as every tool's `--help` states it.
pub const INTERRUPTED_HELP: &str =
    "Interrupted by Ctrl-C (SIGINT) or SIGTERM, every command exits 130: a bake first takes back \
what it made; other commands stop at once, and running them again converges.";

/// SIGINT and SIGTERM, listened for from the moment this is made, so none is missed.
pub struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Starts listening (needs a tokio runtime). Once listened for, the signals no longer end the
    /// process: whoever holds this decides what they do.
    pub fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
    }

    /// Waits for the next signal; its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }

    /// A signal that has arrived and not been received yet, without waiting.
    fn pending(&mut self) -> Option<&'static str> {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        if self.interrupt.poll_recv(&mut cx).is_ready() {
            Some("SIGINT")
        } else if self.terminate.poll_recv(&mut cx).is_ready() {
            Some("SIGTERM")
        } else {
            None
        }
    }
}

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

/// What SIGINT (Ctrl-C) and SIGTERM do to a running command. Either way the tool exits 130
/// ([`INTERRUPTED_HELP`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupts {
    /// The command is dropped: for commands with nothing to undo.
    Abandon,
    /// The command listens for SIGINT and SIGTERM itself, undoes what it did, and ends with an
    /// [`Interrupted`] error (a bake, which must not leave a builder behind).
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
            return command.await;
        }
        let mut signals = match Signals::install() {
            Ok(signals) => signals,
            Err(e) => return Err(anyhow::anyhow!("cannot listen for signals: {e}")),
        };
        let result = tokio::select! {
            biased;
            signal = signals.recv() => return Err(Interrupted(signal).into()),
            result = command => result,
        };
        // A command blocked on a child process (`sila sandbox`) sees the signal the child got only
        // as the child's failure: interrupted all the same.
        match (result, signals.pending()) {
            (Err(e), Some(signal)) if !e.is::<Interrupted>() => Err(e.context(Interrupted(signal))),
            (result, _) => result,
        }
    });
    // Nothing left running is waited for (an abandoned download, say): the tool is done.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Interrupted>() => {
            eprintln!("{tool}: {e:#}");
            ExitCode::from(INTERRUPTED_EXIT)
        }
        Err(e) if e.is::<Failure>() => ExitCode::from(1),
        Err(e) if e.is::<ExitStatus>() => ExitCode::from(e.downcast_ref::<ExitStatus>().map_or(1, |s| s.0)),
        Err(e) => {
            eprintln!("{tool}: error: {e:#}");
            if e.is::<UsageError>() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
