//! `slotproof`: execute and prove Ethereum blocks.

mod aggregate;
mod bench;
mod bench_eest;
mod bench_plot;
mod block_source;
mod blocktest;
mod coverage;
mod eest;
mod execute;
mod generate;
mod leaf;
mod node;
mod peak_memory;
mod prove;
mod test_files;
mod worker;

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
    /// Execute, prove and verify a block; write the block proof with `-o`.
    Prove(prove::ProveArgs),
    /// Benchmark block proving: end-to-end latency per block, per phase, percentiles over
    /// repeats, Mgas/s, peak memory, proof size (exit code 0 only if every run verified).
    Bench(bench::BenchArgs),
    /// Verify a block proof file (exit code 0 only for a valid proof).
    Verify(prove::VerifyArgs),
    /// Prove a block's shard, then the leaf recursion proof that the shard proof verifies, and
    /// verify the leaf (exit code 0 only if it verifies).
    Leaf(leaf::LeafArgs),
    /// Prove a block, aggregate its shard proofs into one root recursion proof (leaves,
    /// internal nodes checking that the shards chain, a root with small-proof settings), check
    /// the root against the block's claims and print each layer's time and the root's size.
    Aggregate(aggregate::AggregateArgs),
    /// Run GeneralStateTests JSON files (a file or a directory tree) through the executor.
    Statetest {
        paths: Vec<PathBuf>,
        /// Print each failing test with its reason.
        #[arg(long)]
        verbose: bool,
    },
    /// Run EEST blockchain-test JSON files (files or directory trees): every block executed and
    /// checked (state roots, post-state, last block hash; invalid blocks rejected as expected).
    Blocktest(blocktest::BlocktestArgs),
    /// Run a proof node: EIP-8025's proof node HTTP API (as zkboost serves it) and zk-boost's
    /// JSON-RPC, proving the blocks of a fixture directory on local lanes (or on remote workers
    /// with `--redis URL`).
    Node(node::NodeArgs),
    /// Write the SSZ NewPayloadRequest of a fixture's block (a proof node's request body) and
    /// print its root.
    PayloadRequest(node::PayloadRequestArgs),
    /// Prove shard jobs a proof node (`slotproof node --redis URL`) publishes on Redis.
    Worker(worker::WorkerArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // The main job: prove (and verify) the embedded default block.
        None => prove::run_prove(&prove::ProveArgs::default_block()),
        Some(Command::Execute(args)) => execute::run(&args),
        Some(Command::GenerateFixtures(args)) => generate::run(&args),
        Some(Command::Coverage(args)) => coverage::run(&args),
        Some(Command::Prove(args)) => prove::run_prove(&args),
        Some(Command::Verify(args)) => prove::run_verify(&args),
        Some(Command::Leaf(args)) => leaf::run(&args),
        Some(Command::Aggregate(args)) => aggregate::run(&args),
        Some(Command::Bench(args)) => bench::run(&args),
        Some(Command::Statetest { paths, verbose }) => execute::run_statetests(&paths, verbose),
        Some(Command::Blocktest(args)) => blocktest::run(&args),
        Some(Command::Node(args)) => node::run(&args),
        Some(Command::PayloadRequest(args)) => node::run_payload_request(&args),
        Some(Command::Worker(args)) => worker::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, `: `-joined, skipping a cause whose text the message before it
/// already includes (our typed errors name their source in their own message).
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::error_chain;
    use anyhow::Context;

    #[test]
    fn error_chain_names_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let typed = slotproof::executor::ExecError::Io {
            path: "x.json".into(),
            source: io,
        };
        let e = Err::<(), _>(typed).context("proving x.json").unwrap_err();
        let text = error_chain(&e);
        assert_eq!(
            text,
            "proving x.json: cannot read fixture x.json: no such file"
        );
        assert_eq!(text.matches("no such file").count(), 1);
    }
}
