//! `sila-aws`: a thin front; the tool is in `lib.rs`.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = sila_aws::Cli::parse();
    let verbose = cli.global.verbose;
    sila_cli::run("sila-aws", verbose, sila_aws::run(cli))
}
