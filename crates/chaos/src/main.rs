//! `sila-chaos`: a thin front; the tool is in `lib.rs`.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = sila_chaos::Cli::parse();
    let verbose = cli.global.verbose;
    sila_cli::run("sila-chaos", verbose, sila_chaos::run(cli))
}
