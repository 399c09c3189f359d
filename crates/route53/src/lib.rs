//! sila-route53: the hosted zones of the account and their records: list them, and create, change
//! or delete one record, plan first (reference §2.9). A zone is named with or without its trailing
//! dot, or by id; a re-run that finds the zone as asked changes nothing.

mod records;

use clap::{Parser, Subcommand};
use sila_cli::{GlobalArgs, Settings};

/// List Route 53 zones and records; create, change or delete a record.
///
/// Exit status: 0 success (also when there was nothing to change), 1 failure (AWS), 2 bad usage
/// (an unknown zone, a name outside its zone, a value its type cannot hold).
#[derive(Debug, Parser)]
#[command(name = "sila-route53", version, arg_required_else_help = true, after_help = sila_cli::INTERRUPTED_HELP)]
pub struct Cli {
    /// The options every tool shares.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands of `sila-route53`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the hosted zones: name, id, public or private, how many records.
    #[command(name = "list-zones", alias = "listzones")]
    ListZones,
    /// List the records of one zone, or of every zone.
    #[command(name = "list-records", alias = "listrecords")]
    ListRecords(records::ListArgs),
    /// Create a record, or change the record of that name and type to these values (an upsert).
    #[command(name = "create-record", alias = "createrecord")]
    CreateRecord(records::CreateArgs),
    /// Delete the record of a name and type (nothing to do when there is none).
    #[command(name = "delete-record", alias = "deleterecord")]
    DeleteRecord(records::DeleteArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = &Settings::load(&cli.global);
    match &cli.command {
        Command::ListZones => records::list_zones(settings).await,
        Command::ListRecords(args) => records::list_records(settings, args).await,
        Command::CreateRecord(args) => records::create(settings, args).await,
        Command::DeleteRecord(args) => records::delete(settings, args).await,
    }
}
