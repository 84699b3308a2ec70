//! The untraced first pass (`outline_block`, issue 18's streaming executor): each subblock's
//! outline is what its recorded trace says, and the run is otherwise the recording run's.

use alloy_primitives::{Address, Bytes, U256, address};
use revm::bytecode::opcode;
use slotproof_executor::generate::asm::Asm;
use slotproof_executor::generate::block::assemble;
use slotproof_executor::generate::genesis::GenesisAccount;
use slotproof_executor::generate::{BlockPlan, Genesis, GiantKind, TxSpec, generate_giant};
use slotproof_executor::trace::{STEP_EXCEPTIONAL, SubblockOutline};
use slotproof_executor::{
    BlockExecution, BlockInput, ExecuteOptions, execute_block, outline_block,
};

/// What the outline shows across the blocks checked (so that the test exercises them).
#[derive(Default)]
struct Seen {
    call_results: usize,
    halted: usize,
    failed: usize,
    outputs: usize,
    created: usize,
    block_hashes: usize,
    subblocks: usize,
}

fn assert_outlined(name: &str, input: &BlockInput, opts: &ExecuteOptions, seen: &mut Seen) {
    let recorded: BlockExecution = execute_block(input, opts).unwrap();
    let outlined = outline_block(input, opts).unwrap();
    assert_eq!(outlined.checks, recorded.checks, "{name}");
    assert_eq!(outlined.context, recorded.context, "{name}");
    assert_eq!(outlined.ancestors_rlp, recorded.ancestors_rlp, "{name}");
    assert_eq!(outlined.subblocks.len(), recorded.subblocks.len(), "{name}");
    for (o, r) in outlined.subblocks.iter().zip(&recorded.subblocks) {
        assert!(o.trace.steps.is_empty() && o.trace.stack_words.is_empty());
        assert!(r.outline.is_none());
        assert_eq!(o.transactions, r.transactions, "{name}");
        assert_eq!(o.gas_used, r.gas_used, "{name}");
        assert_eq!(o.boundary, r.boundary, "{name}");
        let outline = o.outline.as_ref().expect("an outlined subblock");
        let expected = SubblockOutline::of_trace(&r.trace);
        assert_eq!(outline.steps, r.trace.steps.len(), "{name}");
        assert_eq!(*outline, expected, "{name}, subblock {}", o.index);
        seen.call_results += outline.call_results.len();
        seen.halted += outline
            .contexts
            .iter()
            .filter(|c| c.last_status == STEP_EXCEPTIONAL)
            .count();
        seen.failed += outline.contexts.iter().filter(|c| !c.success).count();
        seen.outputs += outline
            .call_results
            .iter()
            .filter(|r| !r.return_data.is_empty())
            .count();
        seen.created += outline.ends.iter().filter(|e| e.created != [0; 20]).count();
        seen.block_hashes += outline.block_hash_reads.len();
        seen.subblocks += 1;
    }
}

fn fixture(name: &str) -> BlockInput {
    let path = format!("{}/../../fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    BlockInput::from_path(&path).unwrap()
}

fn code(build: impl FnOnce(&mut Asm)) -> Bytes {
    let mut a = Asm::new();
    build(&mut a);
    a.assemble("outline test").unwrap()
}

/// A block whose calls halt exceptionally (stack underflow, INVALID, a bad jump), return data,
/// read a block hash, create a contract, and a transaction that is INVALID at once.
fn halting_block() -> BlockInput {
    const UNDERFLOW: Address = address!("0x00000000000000000000000000000000000a0001");
    const INVALID: Address = address!("0x00000000000000000000000000000000000a0002");
    const BAD_JUMP: Address = address!("0x00000000000000000000000000000000000a0003");
    const RETURNS: Address = address!("0x00000000000000000000000000000000000a0004");
    const DRIVER: Address = address!("0x00000000000000000000000000000000000a0005");
    let callees = [
        (UNDERFLOW, code(|a| _ = a.push(1).op(opcode::ADD))),
        (INVALID, code(|a| _ = a.op(opcode::INVALID))),
        (BAD_JUMP, code(|a| _ = a.push(2).op(opcode::JUMP))),
        (RETURNS, code(|a| _ = a.push(32).push0().op(opcode::RETURN))),
    ];
    let driver = code(|a| {
        for (to, _) in &callees {
            a.push(32).push0().push0().push0().push0();
            a.push_addr(*to)
                .push(50_000)
                .op(opcode::CALL)
                .op(opcode::POP);
        }
        a.push0().op(opcode::BLOCKHASH).op(opcode::POP);
        // CREATE of empty init code: a context that runs no step.
        a.push0().push0().push0().op(opcode::CREATE).op(opcode::POP);
        a.op(opcode::STOP);
    });
    let mut genesis = Genesis::build().unwrap();
    for (to, code) in callees.iter().cloned().chain([(DRIVER, driver)]) {
        let account = GenesisAccount {
            nonce: 1,
            code,
            ..Default::default()
        };
        genesis.accounts.insert(to, account);
    }
    let plan = BlockPlan {
        txs: vec![
            TxSpec::call(0, DRIVER, U256::ZERO, Bytes::new(), 1_000_000),
            TxSpec::call(1, INVALID, U256::ZERO, Bytes::new(), 100_000),
        ],
        withdrawals: vec![],
        expected_failures: vec![1],
    };
    assemble(&genesis, &plan).unwrap().input
}

#[test]
fn the_untraced_outline_is_the_recorded_traces() {
    let mut seen = Seen::default();
    for name in ["mixed", "calls", "token", "transfers", "keccak"] {
        let input = fixture(name);
        assert_outlined(name, &input, &ExecuteOptions::default(), &mut seen);
        // Small subblocks: outlines restart at each subblock boundary.
        let small = ExecuteOptions {
            subblock_gas: 100_000,
            ..ExecuteOptions::default()
        };
        assert_outlined(name, &input, &small, &mut seen);
    }
    assert_outlined(
        "halting",
        &halting_block(),
        &ExecuteOptions::default(),
        &mut seen,
    );
    for kind in GiantKind::all() {
        let giant = generate_giant(kind, 100_000).unwrap();
        let input = BlockInput::from_json_str(&giant.json.to_string()).unwrap();
        assert_outlined(kind.name(), &input, &ExecuteOptions::default(), &mut seen);
    }
    assert!(seen.subblocks > 12, "{} subblocks", seen.subblocks);
    assert!(seen.call_results > 0, "no call result");
    assert!(seen.halted > 0, "no exceptional halt");
    assert!(seen.failed > 0, "no failed context");
    assert!(seen.outputs > 0, "no call output");
    assert!(seen.created > 0, "no created contract");
    assert!(seen.block_hashes > 0, "no BLOCKHASH");
}
