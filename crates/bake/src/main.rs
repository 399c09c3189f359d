use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = sila_bake::Cli::parse();
    let verbose = cli.global.verbose;
    sila_cli::run("sila-bake", verbose, sila_bake::run(cli))
}
