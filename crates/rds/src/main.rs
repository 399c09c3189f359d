//! `sila-rds`: a thin front; the tool is in `lib.rs`.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = sila_rds::Cli::parse();
    let verbose = cli.global.verbose;
    sila_cli::run("sila-rds", verbose, sila_rds::run(cli))
}
