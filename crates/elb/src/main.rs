//! `sila-elb`: a thin front; the tool is in `lib.rs`.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = sila_elb::Cli::parse();
    let verbose = cli.global.verbose;
    sila_cli::run("sila-elb", verbose, sila_elb::run(cli))
}
