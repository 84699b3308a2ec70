//! Giant blocks (`generate::generate_giant`): one transaction looping one opcode family until
//! its gas target, executed from its written fixture with every check passing.

use slotproof_executor::generate::{GIANT_SLACK, GiantKind, generate_giant, transaction_outcomes};
use slotproof_executor::trace::SegmentKind;
use slotproof_executor::{BlockInput, ExecuteOptions, execute_block};

#[test]
fn every_giant_kind_is_one_successful_transaction_spending_its_target() {
    let target = 300_000;
    for kind in GiantKind::all() {
        let giant = generate_giant(kind, target).unwrap();
        let e = &giant.execution;
        assert_eq!(e.transactions, 1, "{}", kind.name());
        assert_eq!(transaction_outcomes(e), vec![true], "{}", kind.name());
        assert!(
            e.gas_used <= target && e.gas_used > target - GIANT_SLACK,
            "{}: {} gas for a target of {target}",
            kind.name(),
            e.gas_used
        );
        // The loop is the opcode's: a large share of the transaction's steps run it.
        let (mut steps, mut looped) = (0usize, 0usize);
        for sub in &e.subblocks {
            let t = &sub.trace;
            for seg in t
                .segments
                .iter()
                .filter(|s| s.kind == SegmentKind::Transaction as u32)
            {
                for s in &t.steps[seg.first_step as usize..seg.end_step as usize] {
                    steps += 1;
                    looped += usize::from(kind.opcodes().contains(&s.opcode));
                }
            }
        }
        assert!(
            looped * 8 >= steps && looped > 10,
            "{}: {looped} of {steps} steps",
            kind.name()
        );
    }
}

#[test]
fn a_giant_block_runs_from_its_json() {
    let giant = generate_giant(GiantKind::Mulmod, 200_000).unwrap();
    let input = BlockInput::from_json_str(&giant.json.to_string()).unwrap();
    let exec = execute_block(&input, &ExecuteOptions::default()).unwrap();
    exec.ensure_checks_pass().unwrap();
    assert_eq!(exec.gas_used, giant.execution.gas_used);
    assert_eq!(
        giant.json["extra"]["generator"]["kind"].as_str(),
        Some("mulmod")
    );
}
