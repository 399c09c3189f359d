//! `sila-route53`: a thin front; the tool is in `lib.rs`.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = sila_route53::Cli::parse();
    let verbose = cli.global.verbose;
    sila_cli::run("sila-route53", verbose, sila_route53::run(cli))
}
