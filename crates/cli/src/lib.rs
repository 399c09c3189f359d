//! What every Sila binary shares: the global flags (config dir, environment, output, logging, AWS),
//! the printer (aligned tables or JSON on stdout, logs on stderr), and `run`, which turns a command's
//! result into the documented exit codes:
//!
//! * 0: success (or nothing to change)
//! * 1: failure because of the configuration, the input or AWS
//! * 2: bad usage (unknown flag, missing argument, unknown tool)
//! * 130: interrupted by SIGINT (Ctrl-C) or SIGTERM, once the command has stopped (a bake after
//!   taking back what it made): [`INTERRUPTED_HELP`]
//!
//! A broken pipe (`sila-vpc list | head`) is not an error.

mod args;
pub mod converge;
mod output;
mod progress;
mod run;
mod settings;
pub mod values;
mod who;

pub use args::{check_environment_name, AwsArgs, GlobalArgs, OutputFormat, DEFAULT_MAX_ATTEMPTS};
pub use output::{Printer, Table};
pub use progress::Progress;
pub use run::{
    destructive_refused, run, run_with, ExitStatus, Failure, Interrupted, Interrupts, Signals, UsageError,
    INTERRUPTED_EXIT, INTERRUPTED_HELP,
};
pub use settings::Settings;
pub use who::acting_user;
