//! `slotproof blocktest`: EEST blockchain tests through the executor, like `statetest`.

use clap::Args;
use slotproof_executor::blocktest::{BlockTestSummary, run_blocktest_file};
use slotproof_executor::statetest::collect_test_files;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args, Clone)]
pub struct BlocktestArgs {
    /// Blockchain-test JSON files or directories (searched for .json files).
    pub paths: Vec<PathBuf>,
    /// Print every failing and skipped test with its reason.
    #[arg(long)]
    pub verbose: bool,
}

pub fn run(args: &BlocktestArgs) -> anyhow::Result<ExitCode> {
    use rayon::prelude::*;
    anyhow::ensure!(
        !args.paths.is_empty(),
        "give at least one blockchain-test file or directory"
    );
    for p in &args.paths {
        anyhow::ensure!(p.exists(), "{} does not exist", p.display());
    }
    let files = collect_test_files(&args.paths);
    anyhow::ensure!(
        !files.is_empty(),
        "no .json test files under the given paths"
    );
    let t0 = Instant::now();
    let bar = indicatif::ProgressBar::new(files.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} files {elapsed_precise} {msg}",
        )
        .expect("valid template"),
    );
    let summary = files
        .par_iter()
        .map(|f| {
            let s = run_blocktest_file(f);
            bar.inc(1);
            s
        })
        .reduce(BlockTestSummary::default, |mut a, b| {
            a.merge(b);
            a
        });
    bar.finish_and_clear();
    print_list("FAIL", &summary.failures, args.verbose);
    if args.verbose {
        print_list("SKIP", &summary.skips, true);
    }
    println!(
        "{} files in {:.1} s",
        files.len(),
        t0.elapsed().as_secs_f64()
    );
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
