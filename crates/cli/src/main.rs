//! `slotproof`: execute and prove Ethereum blocks.

mod coverage;
mod execute;
mod generate;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "slotproof",
    version,
    about = "Prove Ethereum block execution with STARKs"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Execute a block fixture, check it against its header and record its subblock traces.
    Execute(execute::ExecuteArgs),
    /// Generate the project's block fixtures (genesis, witness, signed block) into a directory.
    GenerateFixtures(generate::GenerateArgs),
    /// Print the coverage table (what a proof constrains) and the constrained share of a block's
    /// steps; optionally prove its shards.
    Coverage(coverage::CoverageArgs),
    /// Run GeneralStateTests JSON files (a file or a directory tree) through the executor.
    Statetest {
        paths: Vec<PathBuf>,
        /// Print each failing test with its reason.
        #[arg(long)]
        verbose: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => execute::run(&execute::ExecuteArgs::default_block()),
        Some(Command::Execute(args)) => execute::run(&args),
        Some(Command::GenerateFixtures(args)) => generate::run(&args),
        Some(Command::Coverage(args)) => coverage::run(&args),
        Some(Command::Statetest { paths, verbose }) => execute::run_statetests(&paths, verbose),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
