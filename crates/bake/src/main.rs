//! `sila-bake`: a thin front; the tool is in `lib.rs`.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = sila_bake::Cli::parse();
    let verbose = cli.global.verbose;
    // A bake undoes what it made on Ctrl-C or SIGTERM: it handles them itself.
    let interrupts = match cli.command {
        sila_bake::Command::Bake(_) => sila_cli::Interrupts::Handled,
        _ => sila_cli::Interrupts::Abandon,
    };
    sila_cli::run_with("sila-bake", verbose, sila_bake::run(cli), interrupts)
}
