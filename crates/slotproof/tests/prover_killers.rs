//! Prover-killer blocks (issues 14 and 15): generated blocks of one transaction that fills its
//! gas with one expensive opcode family (MULMOD, EXP with 32-byte exponents, SHL/SHR/SAR,
//! SDIV/DIV; KECCAK256 over 512 bytes, MCOPY and CALLDATACOPY traffic, memory expansion), each
//! proven with the default prover and verified. Their shards are cut inside the
//! transaction, so they also exercise carried state. 0.5 Mgas each by default, which keeps CI
//! within its time budget now that every shard is padded to its shape (the four took 267 s at
//! 1 Mgas on 2 cores, ~6 minutes at 2 Mgas before the padding);
//! `SLOTPROOF_PROVER_KILLER_GAS=2000000` runs larger ones. The ~30 Mgas versions are bench
//! figures (`slotproof bench --generate-gas 30M --generate-kind K`), not tests.

use slotproof::air::coverage::constrained_share;
use slotproof::executor::BlockInput;
use slotproof::executor::generate::{GiantKind, fixture_text, generate_giant};
use slotproof::{BlockProver, verify_block_proof};

fn gas() -> u64 {
    std::env::var("SLOTPROOF_PROVER_KILLER_GAS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500_000)
}

fn prove_and_verify(kind: GiantKind) {
    let gas = gas();
    let giant = generate_giant(kind, gas).unwrap();
    let input = BlockInput::from_json_str(&fixture_text(&giant.json).unwrap()).unwrap();
    let proved = BlockProver::builder()
        .build()
        .prove(&input)
        .unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
    let bytes = proved.proof.to_bytes().unwrap();
    let block = verify_block_proof(&bytes).unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
    assert_eq!(block, proved.proof.block, "{}", kind.name());

    let e = &proved.execution;
    assert_eq!(e.transactions, 1, "{}", kind.name());
    let (mut steps, mut constrained) = (0usize, 0usize);
    for sub in &e.subblocks {
        let share = constrained_share(&sub.trace);
        steps += share.steps;
        constrained += share.constrained_steps;
    }
    eprintln!(
        "{}: {} gas, {steps} steps, {} shards ({} cut inside the transaction), {:.1}% of the \
         steps constrained, {} proof bytes",
        kind.name(),
        e.gas_used,
        proved.proof.shards.len(),
        proved.proof.shards_with_carried_state(),
        100.0 * constrained as f64 / steps.max(1) as f64,
        bytes.len()
    );
    assert!(e.gas_used > gas / 2, "{}: {} gas", kind.name(), e.gas_used);
    // The loop is cut inside the transaction (EXP: few, heavy steps, cut by the multiplication
    // table's cap; CALLDATACOPY: a memory row per word copied, cut by the memory table's).
    // KECCAK256 (~130 gas a hash) and the memory expansion (whose stores cost more as memory
    // grows) stay one shard at the default gas.
    let one_shard_at_default = matches!(kind, GiantKind::Keccak256 | GiantKind::MemExpand);
    if !one_shard_at_default || gas >= 2_000_000 {
        assert!(proved.proof.shards.len() >= 2, "{}: one shard", kind.name());
    }
}

#[test]
fn mulmod_block_proves_and_verifies() {
    prove_and_verify(GiantKind::Mulmod);
}

#[test]
fn exp_block_proves_and_verifies() {
    prove_and_verify(GiantKind::Exp);
}

#[test]
fn shifts_block_proves_and_verifies() {
    prove_and_verify(GiantKind::Shifts);
}

#[test]
fn div_block_proves_and_verifies() {
    prove_and_verify(GiantKind::Div);
}

#[test]
fn keccak256_block_proves_and_verifies() {
    prove_and_verify(GiantKind::Keccak256);
}

#[test]
fn mcopy_block_proves_and_verifies() {
    prove_and_verify(GiantKind::Mcopy);
}

#[test]
fn memory_expansion_block_proves_and_verifies() {
    prove_and_verify(GiantKind::MemExpand);
}

#[test]
fn calldatacopy_block_proves_and_verifies() {
    prove_and_verify(GiantKind::Calldatacopy);
}
