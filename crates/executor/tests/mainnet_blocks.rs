//! The real mainnet fixtures execute with every possible check passing, and their traces are
//! consistent with execution.

mod common;

use slotproof_executor::trace::{STEP_OK, SegmentKind};
use slotproof_executor::{BlockInput, ExecuteOptions, execute_block};

fn run(rel: &str) -> Option<slotproof_executor::BlockExecution> {
    let path = common::shared_fixture(rel)?;
    let input = BlockInput::from_path(&path).expect("fixture parses");
    Some(execute_block(&input, &ExecuteOptions::default()).expect("block executes"))
}

fn assert_all_pass(exec: &slotproof_executor::BlockExecution, expected: &[&str]) {
    for c in &exec.checks {
        assert!(
            c.passed,
            "check {} failed: header {} computed {}",
            c.name, c.expected, c.computed
        );
    }
    for name in expected {
        assert!(
            exec.checks.iter().any(|c| c.name == *name),
            "check {name} missing"
        );
    }
}

#[test]
fn prague_block_22615247_passes_every_check() {
    let Some(exec) = run("mainnet/22615247.json") else {
        return;
    };
    assert_eq!(exec.fork, "Prague");
    assert_eq!(exec.gas_used, 1_331_413);
    assert_eq!(exec.transactions, 26);
    assert_all_pass(
        &exec,
        &[
            "block_hash",
            "gas_used",
            "receipts_root",
            "logs_bloom",
            "requests_hash",
            "state_root",
            "state_diffs",
        ],
    );
    // The pre-block system calls are traced: the first segment has steps.
    let seg = exec.subblocks[0].trace.segments[0];
    assert_eq!(seg.kind, SegmentKind::PreBlockSystem as u32);
    assert!(
        seg.end_step > seg.first_step,
        "system calls recorded no steps"
    );
}

#[test]
fn cancun_block_21688509_passes_every_check() {
    let Some(exec) = run("mainnet/21688509.json") else {
        return;
    };
    assert_eq!(exec.fork, "Cancun");
    assert_eq!(exec.gas_used, 999_962);
    assert_all_pass(
        &exec,
        &[
            "block_hash",
            "gas_used",
            "receipts_root",
            "logs_bloom",
            "state_root",
            "state_diffs",
        ],
    );
}

#[test]
fn flat_block_21872325_executes_and_its_possible_checks_pass() {
    let Some(exec) = run("mainnet/21872325-flat.json") else {
        return;
    };
    assert_eq!(exec.transactions, 161);
    assert_eq!(exec.gas_used, 12_520_586);
    assert!(
        exec.subblocks.len() >= 3,
        "12.5 Mgas at 4 Mgas per subblock"
    );
    for name in [
        "gas_used",
        "logs_bloom",
        "transactions_root",
        "withdrawals_root",
        "blob_gas_used",
        "flat_prestate_complete",
    ] {
        let c = exec
            .checks
            .iter()
            .find(|c| c.name == name)
            .expect("check present");
        assert!(
            c.passed,
            "{name}: header {} computed {}",
            c.expected, c.computed
        );
    }
    let names: Vec<_> = exec.unavailable_checks.iter().map(|(n, _)| *n).collect();
    assert!(names.contains(&"state_root"));
}

#[test]
fn subblock_budget_splits_and_covers_every_transaction() {
    let Some(path) = common::shared_fixture("mainnet/22615247.json") else {
        return;
    };
    let input = BlockInput::from_path(&path).unwrap();
    let opts = ExecuteOptions {
        subblock_gas: 200_000,
        ..Default::default()
    };
    let exec = execute_block(&input, &opts).unwrap();
    assert!(exec.subblocks.len() > 3);
    let mut next = 0;
    for s in &exec.subblocks {
        assert_eq!(s.transactions.start, next, "subblocks are consecutive");
        next = s.transactions.end;
        let tx_segments = s
            .trace
            .segments
            .iter()
            .filter(|g| g.kind == SegmentKind::Transaction as u32)
            .count();
        assert_eq!(tx_segments, s.transactions.len());
    }
    assert_eq!(next, exec.transactions);
    let gas: u64 = exec.subblocks.iter().map(|s| s.gas_used).sum();
    assert_eq!(gas, exec.gas_used);
    // Same steps as one big subblock.
    let whole = execute_block(&input, &ExecuteOptions::default()).unwrap();
    assert_eq!(whole.steps(), exec.steps());
    // Boundaries: the first subblock reads the beacon-roots contract; writes are recorded.
    assert!(
        exec.subblocks
            .iter()
            .all(|s| !s.boundary.account_reads.is_empty())
    );
    assert!(
        exec.subblocks
            .iter()
            .any(|s| !s.boundary.storage_writes.is_empty())
    );
}

/// Invariants between consecutive steps that hold for any correct trace: they catch a recorder
/// that drops, duplicates or misattributes steps.
#[test]
fn trace_is_consistent_with_execution() {
    let Some(exec) = run("mainnet/21688509.json") else {
        return;
    };
    use revm::bytecode::opcode;
    for sub in &exec.subblocks {
        let t = &sub.trace;
        assert_eq!(t.contexts.len(), t.context_code.len());
        let mut sloads = 0;
        let mut sstores = 0;
        for (i, s) in t.steps.indexed() {
            assert!((s.context as usize) < t.contexts.len(), "step {i} context");
            assert!(s.gas_after <= s.gas_before, "step {i} gained gas");
            let words = t.step_words(i);
            assert_eq!(words.len(), s.reads as usize + s.writes as usize);
            if s.status == STEP_OK {
                match s.opcode {
                    opcode::SLOAD => sloads += 1,
                    opcode::SSTORE => sstores += 1,
                    _ => {}
                }
            }
            let Some(n) = t.steps.get(i + 1) else {
                continue;
            };
            if n.context != s.context || s.status != STEP_OK {
                continue;
            }
            // Within one frame, the next step starts with the gas and stack this one left
            // (after a call returns, its unused gas comes back: only check non-calls).
            let is_call = matches!(
                s.opcode,
                opcode::CALL
                    | opcode::CALLCODE
                    | opcode::DELEGATECALL
                    | opcode::STATICCALL
                    | opcode::CREATE
                    | opcode::CREATE2
            );
            if !is_call {
                assert_eq!(n.gas_before, s.gas_after, "gas continuity at step {i}");
            }
            assert_eq!(
                n.stack_len as usize,
                s.stack_len as usize - s.reads as usize + s.writes as usize,
                "stack height continuity at step {i} (op {:#x})",
                s.opcode
            );
            let next_pc = match s.opcode {
                opcode::JUMP => U256(words[0]),
                opcode::JUMPI if words[1].0.iter().any(|l| *l != 0) => U256(words[0]),
                op @ opcode::PUSH1..=opcode::PUSH32 => {
                    s.pc as u64 + 2 + (op - opcode::PUSH1) as u64
                }
                _ => s.pc as u64 + 1,
            };
            assert_eq!(
                n.pc as u64, next_pc,
                "pc transition at step {i} (op {:#x})",
                s.opcode
            );
            // JUMP targets are JUMPDESTs.
            if matches!(s.opcode, opcode::JUMP | opcode::JUMPI) && next_pc != s.pc as u64 + 1 {
                assert_eq!(n.opcode, opcode::JUMPDEST);
            }
        }
        let storage_reads = t.storage.iter().filter(|r| r.is_write == 0).count();
        let storage_writes = t.storage.iter().filter(|r| r.is_write == 1).count();
        assert_eq!(storage_reads, sloads);
        assert_eq!(storage_writes, sstores);
    }

    /// Low 64 bits of a word (jump targets are small).
    #[allow(non_snake_case)]
    fn U256(w: slotproof_executor::trace::Word) -> u64 {
        w.0[0] as u64 | (w.0[1] as u64) << 32
    }
}
