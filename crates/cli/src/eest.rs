//! EEST blockchain-test files as block inputs for `execute`, `prove` and `bench`: which test
//! (`--test`), which block (`--block-index`), and the chain run up to it.

use anyhow::Context;
use clap::Args;
use slotproof_executor::BlockInput;
use slotproof_executor::blocktest::{
    BlockchainTest, ParsedTests, block_input, is_blockchain_test_json, parse_file,
};
use std::path::Path;

/// Picks a test (and block) in an EEST blockchain-test file.
#[derive(Args, Clone, Debug, Default)]
pub struct EestArgs {
    /// With an EEST blockchain-test file: the test id to run (default: the file's only test).
    #[arg(long = "test")]
    pub test: Option<String>,
    /// With an EEST blockchain-test file: the block to take, by its position in the test's
    /// `blocks` (default: the last valid block; earlier blocks are executed to reach it).
    #[arg(long = "block-index")]
    pub block_index: Option<usize>,
}

/// The tests of `text` when it is a blockchain-test file; `None` for any other format.
pub fn blockchain_tests(text: &str) -> anyhow::Result<Option<ParsedTests>> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        // Not JSON at all: the other readers give the error.
        return Ok(None);
    };
    if !is_blockchain_test_json(&value) {
        return Ok(None);
    }
    Ok(Some(parse_file(text).map_err(|r| anyhow::anyhow!(r))?))
}

/// The test named `name` (or the only one), with the ids on offer in the error otherwise.
pub fn select_test(
    tests: ParsedTests,
    name: Option<&str>,
    source: &str,
) -> anyhow::Result<BlockchainTest> {
    let ids: Vec<String> = tests.iter().map(|(id, _)| id.clone()).collect();
    let list = || {
        ids.iter()
            .map(|i| format!("  {i}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let chosen = match name {
        Some(n) => tests.into_iter().find(|(id, _)| id == n).ok_or_else(|| {
            anyhow::anyhow!("{source} has no test `{n}`; its tests are:\n{}", list())
        })?,
        None if tests.len() == 1 => tests.into_iter().next().expect("one test"),
        None => anyhow::bail!(
            "{source} holds {} tests: pick one with --test NAME:\n{}",
            ids.len(),
            list()
        ),
    };
    Ok(chosen.1?)
}

/// `path` as a block input: an EEST file through `--test`/`--block-index`, any other fixture
/// through its own reader (where `--test` is refused), the embedded block without a path.
pub fn load_input(path: Option<&Path>, eest: &EestArgs) -> anyhow::Result<(String, BlockInput)> {
    let Some(p) = path else {
        anyhow::ensure!(
            eest.test.is_none() && eest.block_index.is_none(),
            "--test and --block-index pick from an EEST blockchain-test file: give one"
        );
        return crate::execute::load_block(None);
    };
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    match blockchain_tests(&text)? {
        Some(tests) => {
            let source = p.display().to_string();
            let test = select_test(tests, eest.test.as_deref(), &source)?;
            let (index, input) = block_input(&test, eest.block_index)
                .with_context(|| format!("running {source} up to the block to take"))?;
            Ok((
                format!("{source} :: {} :: blocks[{index}]", test.name),
                input,
            ))
        }
        None => {
            anyhow::ensure!(
                eest.test.is_none() && eest.block_index.is_none(),
                "{} is not an EEST blockchain-test file: --test and --block-index do not apply",
                p.display()
            );
            crate::execute::load_block(Some(p))
        }
    }
}
