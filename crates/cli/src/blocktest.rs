//! `slotproof blocktest`: EEST blockchain tests through the executor, like `statetest`.

use clap::Args;
use slotproof_executor::blocktest::{BlockTestSummary, run_blocktest_file};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Clone)]
pub struct BlocktestArgs {
    /// Blockchain-test JSON files or directories (searched for .json files).
    pub paths: Vec<PathBuf>,
    /// Print every failing and skipped test with its reason.
    #[arg(long)]
    pub verbose: bool,
}

pub fn run(args: &BlocktestArgs) -> anyhow::Result<ExitCode> {
    let (files, summary, elapsed) = crate::test_files::run_test_files(
        &args.paths,
        "blockchain-test",
        run_blocktest_file,
        BlockTestSummary::merge,
    )?;
    print_list("FAIL", &summary.failures, args.verbose);
    if args.verbose {
        print_list("SKIP", &summary.skips, true);
    }
    println!("{files} files in {:.1} s", elapsed.as_secs_f64());
    println!(
        "invalid blocks: {} of {} rejected with the expected kind of error",
        summary.invalid_rejected_as_expected, summary.invalid_blocks
    );
    println!(
        "stateless inputs (statelessInputBytes) executed and passing: {}",
        summary.stateless_inputs
    );
    println!(
        "{} passed, {} failed, {} skipped",
        summary.passed, summary.failed, summary.skipped
    );
    Ok(if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_list(tag: &str, items: &[String], all: bool) {
    let shown = if all {
        items.len()
    } else {
        items.len().min(20)
    };
    for f in &items[..shown] {
        println!("{tag} {f}");
    }
    if shown < items.len() {
        println!("... {} more (use --verbose)", items.len() - shown);
    }
}
