//! The loop `statetest` and `blocktest` share: every test file under the given paths run in
//! parallel behind a progress bar, the files' summaries merged into one.

use slotproof_executor::statetest::collect_test_files;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The `.json` files under `paths` (`kind` names them in errors, e.g. "state-test"), each run
/// by `run_file` in parallel and the summaries folded with `merge`; also the files found and
/// the time taken to run them.
pub fn run_test_files<S: Default + Send>(
    paths: &[PathBuf],
    kind: &str,
    run_file: impl Fn(&Path) -> S + Sync,
    merge: impl Fn(&mut S, S) + Sync + Send,
) -> anyhow::Result<(usize, S, Duration)> {
    use rayon::prelude::*;
    anyhow::ensure!(
        !paths.is_empty(),
        "give at least one {kind} file or directory"
    );
    for p in paths {
        anyhow::ensure!(p.exists(), "{} does not exist", p.display());
    }
    let files = collect_test_files(paths);
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
            let s = run_file(f);
            bar.inc(1);
            s
        })
        .reduce(S::default, |mut a, b| {
            merge(&mut a, b);
            a
        });
    bar.finish_and_clear();
    Ok((files.len(), summary, t0.elapsed()))
}
