//! `sila-vpc`: a thin front; the tool is in `lib.rs`.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = sila_vpc::Cli::parse();
    let verbose = cli.global.verbose;
    sila_cli::run("sila-vpc", verbose, sila_vpc::run(cli))
}
