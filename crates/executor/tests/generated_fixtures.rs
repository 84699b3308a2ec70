//! The committed fixtures in `fixtures/` against the generator that made them: they must be its
//! exact output, execute with every check passing, and exercise what each kind is for.

use revm::bytecode::opcode::{self, OpCode};
use serde_json::Value;
use slotproof_executor::generate::{FixtureKind, fixture_text, generate, transaction_outcomes};
use slotproof_executor::trace::SegmentKind;
use slotproof_executor::{
    BlockExecution, BlockInput, DEFAULT_SUBBLOCK_GAS, ExecuteOptions, execute_block,
};
use std::collections::HashMap;
use std::path::PathBuf;

fn fixture_path(kind: FixtureKind) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(format!("{}.json", kind.name()))
}

fn committed_text(kind: FixtureKind) -> String {
    let path = fixture_path(kind);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn execute(kind: FixtureKind) -> BlockExecution {
    let input = BlockInput::from_path(fixture_path(kind)).unwrap();
    execute_block(&input, &ExecuteOptions::default()).unwrap()
}

/// Opcode -> number of steps executed inside transactions (system calls excluded).
fn tx_opcode_counts(exec: &BlockExecution) -> HashMap<u8, usize> {
    let mut counts = HashMap::new();
    for sub in &exec.subblocks {
        let t = &sub.trace;
        for step in &t.steps {
            if t.segments[step.segment as usize].kind == SegmentKind::Transaction as u32 {
                *counts.entry(step.opcode).or_insert(0) += 1;
            }
        }
    }
    counts
}

fn count(counts: &HashMap<u8, usize>, op: u8) -> usize {
    counts.get(&op).copied().unwrap_or(0)
}

fn expected_failures(kind: FixtureKind) -> Vec<usize> {
    let json: Value = serde_json::from_str(&committed_text(kind)).unwrap();
    json["extra"]["generator"]["expectedFailedTransactions"]
        .as_array()
        .expect("extra.generator.expectedFailedTransactions")
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn committed_fixtures_are_the_generator_output() {
    for kind in FixtureKind::all() {
        let generated = fixture_text(&generate(kind).unwrap()).unwrap();
        let committed = committed_text(kind);
        if generated != committed {
            let line = generated
                .lines()
                .zip(committed.lines())
                .position(|(a, b)| a != b)
                .map_or_else(|| "(length)".to_string(), |l| (l + 1).to_string());
            panic!(
                "fixtures/{}.json differs from the generator's output at line {line}; \
                 regenerate with `slotproof generate-fixtures`",
                kind.name()
            );
        }
        assert!(
            committed.len() < 1_000_000,
            "{}: {} bytes",
            kind.name(),
            committed.len()
        );
    }
}

#[test]
fn committed_fixtures_execute_with_every_check_passing() {
    for kind in FixtureKind::all() {
        let exec = execute(kind);
        exec.ensure_checks_pass()
            .unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
        // The checks that make a fixture trustworthy must all have run.
        for name in [
            "block_hash",
            "transactions_root",
            "withdrawals_root",
            "gas_used",
            "receipts_root",
            "logs_bloom",
            "requests_hash",
            "state_root",
        ] {
            assert!(
                exec.checks.iter().any(|c| c.name == name),
                "{}: no `{name}` check",
                kind.name()
            );
        }
        assert_eq!(exec.number, 1);
        assert_eq!(exec.fork, "Prague");
        let failed: Vec<usize> = transaction_outcomes(&exec)
            .iter()
            .enumerate()
            .filter(|(_, ok)| !**ok)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            failed,
            expected_failures(kind),
            "{}: failed transactions",
            kind.name()
        );
    }
}

#[test]
fn a_tampered_fixture_fails_its_checks() {
    let mut json: Value = serde_json::from_str(&committed_text(FixtureKind::Token)).unwrap();
    let header = &mut json["blocks"][0]["header"];
    let gas = u64::from_str_radix(
        header["gasUsed"].as_str().unwrap().trim_start_matches("0x"),
        16,
    )
    .unwrap();
    header["gasUsed"] = Value::String(format!("{:#x}", gas + 1));
    let input = BlockInput::from_json_str(&json.to_string()).unwrap();
    let exec = execute_block(&input, &ExecuteOptions::default()).unwrap();
    let failed: Vec<&str> = exec
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name)
        .collect();
    assert_eq!(failed, ["block_hash", "gas_used"]);
    assert!(exec.ensure_checks_pass().is_err());
}

#[test]
fn token_revert_gives_a_failed_transaction() {
    assert_eq!(expected_failures(FixtureKind::Token), [25]);
    let exec = execute(FixtureKind::Token);
    let outcomes = transaction_outcomes(&exec);
    assert!(!outcomes[25], "the insufficient-balance transfer must fail");
    assert_eq!(
        outcomes.iter().filter(|ok| **ok).count(),
        outcomes.len() - 1
    );
    // It failed by the token's own REVERT, not by an exceptional halt.
    let t = &exec.subblocks[0].trace;
    let seg = t
        .segments
        .iter()
        .find(|s| s.kind == SegmentKind::Transaction as u32 && s.tx_index == 25)
        .unwrap();
    let last = &t.steps[seg.end_step as usize - 1];
    assert_eq!(last.opcode, opcode::REVERT);
    assert_eq!(last.status, slotproof_executor::trace::STEP_OK);
    // 48 successful transfers, one Transfer event each; the revert logs nothing.
    let counts = tx_opcode_counts(&exec);
    assert_eq!(count(&counts, opcode::LOG3), 48);
    assert_eq!(count(&counts, opcode::SSTORE), 96);
}

#[test]
fn hasher_runs_its_keccak_and_arithmetic_loop() {
    let exec = execute(FixtureKind::Keccak);
    let counts = tx_opcode_counts(&exec);
    // 150 + 300 + 450 + 600 iterations, one hash each, plus one final hash per call.
    let iterations = 1_500;
    assert_eq!(count(&counts, opcode::KECCAK256), iterations + 4);
    for op in [
        opcode::EXP,
        opcode::MULMOD,
        opcode::ADDMOD,
        opcode::SDIV,
        opcode::SIGNEXTEND,
        opcode::BYTE,
        opcode::SAR,
        opcode::MSTORE8,
    ] {
        assert_eq!(
            count(&counts, op),
            iterations,
            "{}",
            OpCode::new(op).unwrap()
        );
    }
    assert_eq!(count(&counts, opcode::LOG1), 4);
    assert_eq!(count(&counts, opcode::CALLDATACOPY), 4);
    // Every PUSH width, PUSH0, DUPs and SWAPs.
    for op in opcode::PUSH0..=opcode::PUSH32 {
        assert!(
            count(&counts, op) > 0,
            "{} never executed",
            OpCode::new(op).unwrap()
        );
    }
    assert!(count(&counts, opcode::DUP4) > 0 && count(&counts, opcode::SWAP1) > 0);
}

#[test]
fn relay_runs_its_call_loop() {
    let exec = execute(FixtureKind::Calls);
    let counts = tx_opcode_counts(&exec);
    let iterations = 40 + 80 + 120;
    assert_eq!(count(&counts, opcode::STATICCALL), iterations);
    assert_eq!(count(&counts, opcode::CALL), iterations);
    assert_eq!(count(&counts, opcode::DELEGATECALL), iterations);
    assert_eq!(count(&counts, opcode::RETURNDATACOPY), 2 * iterations);
    assert_eq!(count(&counts, opcode::LOG2), 3);
    // Callees: the token's balanceOf and the adder, twice per iteration.
    let frames: usize = exec
        .subblocks
        .iter()
        .flat_map(|s| s.trace.contexts.iter())
        .filter(|c| c.depth > 1)
        .count();
    assert_eq!(frames, 3 * iterations);
}

#[test]
fn mixed_is_the_multi_subblock_default_block() {
    let exec = execute(FixtureKind::Mixed);
    assert!(
        exec.subblocks.len() >= 2,
        "{} subblocks",
        exec.subblocks.len()
    );
    assert!(exec.gas_used > DEFAULT_SUBBLOCK_GAS && exec.gas_used < 5_000_000);
    let counts = tx_opcode_counts(&exec);
    for op in [
        opcode::KECCAK256,
        opcode::CALL,
        opcode::STATICCALL,
        opcode::DELEGATECALL,
        opcode::LOG3,
        opcode::REVERT,
        opcode::EXP,
    ] {
        assert!(
            count(&counts, op) > 0,
            "{} never executed",
            OpCode::new(op).unwrap()
        );
    }
}
