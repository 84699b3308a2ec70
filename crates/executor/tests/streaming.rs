//! Issue 18's streaming executor. The untraced first pass (`outline_block`): each subblock's
//! outline is what its recorded trace says, and the run is otherwise the recording run's. The
//! streaming second pass (`stream_block`): the chunks it hands over, put back together, are the
//! recorded trace.

mod common;

use alloy_primitives::{Address, Bytes, U256, address};
use revm::bytecode::opcode;
use slotproof_executor::generate::asm::Asm;
use slotproof_executor::generate::block::assemble;
use slotproof_executor::generate::genesis::GenesisAccount;
use slotproof_executor::generate::{BlockPlan, Genesis, GiantKind, TxSpec, generate_giant};
use slotproof_executor::trace::{
    AccessKind, STEP_EXCEPTIONAL, SubblockOutline, SubblockTrace, TraceChunk,
};
use slotproof_executor::{
    BlockExecution, BlockInput, ExecuteOptions, execute_block, outline_block, stream_block,
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
    assert_streamed(name, input, opts, &outlined, &recorded);
    // The recorded run made into an outlined one (the prover's way to stream a run it found
    // too long) is the untraced run.
    let converted = recorded.clone().into_outlined();
    for (c, o) in converted.subblocks.iter().zip(&outlined.subblocks) {
        assert!(c.trace.steps.is_empty() && c.trace.stack_words.is_empty());
        assert_eq!(c.outline, o.outline, "{name}, subblock {}", o.index);
    }
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

/// The chunks of a streaming run with `outlined`'s outlines, put back together, are `recorded`'s
/// traces (memory writes and log data compared by step and bytes: a call's output is recorded
/// at the call, not after its callee's steps); every chunk but a subblock's last is full.
fn assert_streamed(
    name: &str,
    input: &BlockInput,
    opts: &ExecuteOptions,
    outlined: &BlockExecution,
    recorded: &BlockExecution,
) {
    const CHUNK: usize = 50;
    let outlines: Vec<SubblockOutline> = outlined
        .subblocks
        .iter()
        .map(|s| s.outline.clone().unwrap())
        .collect();
    let (tx, rx) = std::sync::mpsc::channel::<TraceChunk>();
    let sink = Box::new(move |c: TraceChunk| tx.send(c).is_ok());
    let streamed = stream_block(input, opts, outlines.clone(), CHUNK, sink).unwrap();
    assert_eq!(streamed.checks, recorded.checks, "{name}");
    assert_eq!(streamed.context, recorded.context, "{name}");
    let mut traces = vec![SubblockTrace::default(); recorded.subblocks.len()];
    for chunk in rx.try_iter() {
        if chunk.last {
            assert!(chunk.steps.len() <= CHUNK, "{name}");
        } else {
            assert_eq!(chunk.steps.len(), CHUNK, "{name}");
        }
        traces[chunk.subblock].append_chunk(chunk).unwrap();
    }
    for ((s, r), t) in streamed
        .subblocks
        .iter()
        .zip(&recorded.subblocks)
        .zip(&traces)
    {
        let i = s.index;
        assert!(s.trace.steps.is_empty());
        assert_eq!(s.outline.as_ref(), Some(&outlines[i]));
        assert_eq!(s.boundary, r.boundary, "{name}");
        let r = &r.trace;
        assert_eq!(t.steps, r.steps, "{name}, subblock {i}");
        assert_eq!(t.stack_words, r.stack_words, "{name}, subblock {i}");
        assert_eq!(t.storage, r.storage, "{name}, subblock {i}");
        assert_eq!(t.log_topics, r.log_topics, "{name}, subblock {i}");
        assert_eq!(t.contexts, r.contexts, "{name}, subblock {i}");
        assert_eq!(t.context_code, r.context_code, "{name}, subblock {i}");
        assert_eq!(t.codes, r.codes, "{name}, subblock {i}");
        assert_eq!(t.segments, r.segments, "{name}, subblock {i}");
        assert_eq!(accesses(t), accesses(r), "{name}, subblock {i}");
        assert_eq!(logs(t), logs(r), "{name}, subblock {i}");
    }
}

/// Every access with its bytes, by step (in recording order within a step).
fn accesses(t: &SubblockTrace) -> Vec<(u32, AccessKind, u32, &[u8])> {
    let mut v: Vec<_> = t
        .mem_accesses
        .iter()
        .map(|m| {
            let d = m.data_start as usize;
            let kind = AccessKind::from_u32(m.kind).unwrap();
            (m.step, kind, m.offset, &t.data[d..d + m.len as usize])
        })
        .collect();
    v.sort_by_key(|a| a.0);
    v
}

/// Every log with its data.
fn logs(t: &SubblockTrace) -> Vec<(u32, u32, u32, u32, &[u8])> {
    t.logs
        .iter()
        .map(|l| {
            let d = l.data_start as usize;
            let data = &t.data[d..d + l.data_len as usize];
            (l.step, l.context, l.topics_start, l.topics, data)
        })
        .collect()
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
fn the_outlines_and_the_streamed_chunks_are_the_recorded_traces() {
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
    // A mainnet block (storage, logs, reverts, precompiles), where the shared fixtures are.
    for rel in ["mainnet/22615247.json", "mainnet/21688509.json"] {
        if let Some(path) = common::shared_fixture(rel) {
            let input = BlockInput::from_path(&path).unwrap();
            assert_outlined(rel, &input, &ExecuteOptions::default(), &mut seen);
        }
    }
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

#[test]
fn a_streaming_run_with_another_blocks_outlines_is_a_typed_error() {
    let opts = ExecuteOptions::default();
    let other = outline_block(&fixture("transfers"), &opts).unwrap();
    let outlines = other
        .subblocks
        .into_iter()
        .map(|s| s.outline.unwrap())
        .collect();
    let err = stream_block(&fixture("mixed"), &opts, outlines, 64, Box::new(|_| true)).unwrap_err();
    assert!(
        matches!(&err, slotproof_executor::ExecError::Execution(m) if m.contains("outline")),
        "{err}"
    );
}

/// A sink that refuses a chunk (shard generation stopped) ends the recording: it is handed no
/// chunk after that one, and the block still runs to its end with its checks.
#[test]
fn a_refused_chunk_ends_the_recording() {
    let opts = ExecuteOptions::default();
    let input = fixture("mixed");
    let outlined = outline_block(&input, &opts).unwrap();
    let outlines = outlined
        .subblocks
        .iter()
        .map(|s| s.outline.clone().unwrap())
        .collect();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    let sink = Box::new(move |_: TraceChunk| {
        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1 < 2
    });
    let streamed = stream_block(&input, &opts, outlines, 64, sink).unwrap();
    assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 2);
    assert_eq!(streamed.checks, outlined.checks);
    assert!(streamed.all_checks_pass());
    assert!(outlined.steps() > 64 * 10, "{} steps", outlined.steps());
}
