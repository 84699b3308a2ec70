//! The block-context opcodes on a block revm executes: a contract runs COINBASE, TIMESTAMP,
//! NUMBER, PREVRANDAO, GASLIMIT, CHAINID, BASEFEE, BLOBBASEFEE and BLOCKHASH of the parent
//! (genesis), of the block itself and of a later block. The values revm pushed are the known
//! answers; the honest shard proves and verifies; a pushed value that differs from the public
//! values (lied in the trace, stack included), a public header value or BLOCKHASH entry that
//! differs from what the trace pushed, and a BLOCKHASH argument without an entry are rejected.

use std::sync::OnceLock;

use p3_field::PrimeCharacteristicRing;
use revm::primitives::{Address, Bytes, U256, address};
use slotproof_executor::block_context::HEADER_OPCODES;
use slotproof_executor::generate::asm::Asm;
use slotproof_executor::generate::{BlockPlan, TxSpec};
use slotproof_executor::trace::{STEP_OK, SubblockTrace, Word};

use crate::TraceError;
use crate::block_context::{ARG_LIMBS, BLOCKHASH_SLOTS};
use crate::opcodes::{self, BLOCKHASH};
use crate::shard::{OPCODE_TABLE, SHARD_BINDING_LEN, Shard, generate_shards};
use crate::tests::{F, check, prove_verify};
use crate::word::LIMBS;

const READER: Address = address!("0xb10c000000000000000000000000000000000001");

/// BLOCKHASH arguments the contract reads: the parent (genesis, block 0), the block itself
/// (block 1: zero) and a later block (zero).
const HASH_ARGS: [u64; 3] = [0, 1, 7];

fn reader() -> Bytes {
    let mut a = Asm::new();
    for op in HEADER_OPCODES {
        a.op(op).op(opcodes::POP);
    }
    for n in HASH_ARGS {
        a.push(n).op(BLOCKHASH).op(opcodes::POP);
    }
    // A repeated read: the same entry again.
    a.push(0).op(BLOCKHASH).op(opcodes::POP);
    a.op(opcodes::STOP);
    a.assemble("block context reader").expect("assembles")
}

fn trace() -> &'static SubblockTrace {
    static T: OnceLock<SubblockTrace> = OnceLock::new();
    T.get_or_init(|| {
        let plan = BlockPlan {
            txs: vec![TxSpec::call(0, READER, U256::ZERO, Bytes::new(), 200_000)],
            ..Default::default()
        };
        crate::tests::one_subblock_trace(&[(READER, reader())], plan)
    })
}

fn shard_of(t: &SubblockTrace) -> Shard<F> {
    generate_shards::<F>(t, t.steps.len()).unwrap().remove(0)
}

/// The reader's successful steps of `op`, in order (the system calls also read TIMESTAMP and
/// NUMBER).
fn steps_of(t: &SubblockTrace, op: u8) -> Vec<usize> {
    let code = reader();
    let runs_reader =
        |i: usize| t.codes[t.context_code[t.steps[i].context as usize] as usize].1 == code;
    (0..t.steps.len())
        .filter(|&i| t.steps[i].opcode == op && t.steps[i].status == STEP_OK && runs_reader(i))
        .collect()
}

/// `t` with the item step `i` pushes changed, and so the item the next step (its POP) takes:
/// a lie carried through the stack.
fn lie_about_push(t: &SubblockTrace, i: usize) -> SubblockTrace {
    let mut lying = t.clone();
    let out = lying.steps[i].stack_words as usize + lying.steps[i].reads as usize;
    lying.stack_words[out].0[0] ^= 1;
    assert_eq!(lying.steps[i + 1].opcode, opcodes::POP);
    let taken = lying.steps[i + 1].stack_words as usize;
    lying.stack_words[taken].0[0] ^= 1;
    lying
}

/// The word step `i` pushed.
fn pushed(t: &SubblockTrace, i: usize) -> Word {
    let s = &t.steps[i];
    t.step_words(i)[s.reads as usize]
}

#[test]
fn revm_pushes_the_block_context_and_the_shard_proves() {
    let t = trace();
    let ctx = &t.block_context;
    for op in HEADER_OPCODES {
        let steps = steps_of(t, op);
        assert_eq!(steps.len(), 1, "{}", opcodes::info(op).name);
        assert_eq!(
            Some(pushed(t, steps[0])),
            ctx.header_value(op),
            "{}",
            opcodes::info(op).name
        );
    }
    // Known answers: the generated chain's block 1.
    let number = <U256 as From<Word>>::from(pushed(t, steps_of(t, 0x43)[0]));
    assert_eq!(number, U256::from(1));
    let chain_id = <U256 as From<Word>>::from(pushed(t, steps_of(t, 0x46)[0]));
    assert_eq!(chain_id, U256::from(slotproof_executor::generate::CHAIN_ID));
    // BLOCKHASH: genesis's hash (non-zero), then zero for the block itself and a later one.
    let hashes: Vec<Word> = steps_of(t, BLOCKHASH)
        .iter()
        .map(|&i| pushed(t, i))
        .collect();
    assert_ne!(hashes[0], Word::default());
    assert_eq!(hashes[1..3], [Word::default(); 2]);
    assert_eq!(hashes[3], hashes[0]);
    assert_eq!(
        ctx.block_hashes,
        vec![(0, hashes[0]), (1, Word::default()), (7, Word::default())]
    );
    prove_verify(&shard_of(t));
}

/// A step that pushes another value than the public values give its opcode (the lie carried
/// through the stack, so only the block-context lookup can catch it) does not prove: every
/// header opcode and BLOCKHASH.
#[test]
fn a_pushed_value_other_than_the_public_values_is_rejected() {
    let t = trace();
    let mut lies: Vec<usize> = HEADER_OPCODES
        .iter()
        .map(|&op| steps_of(t, op)[0])
        .collect();
    lies.push(steps_of(t, BLOCKHASH)[0]);
    for step in lies {
        let lying = lie_about_push(t, step);
        assert!(
            check(&shard_of(&lying)).is_err(),
            "a lying {} at step {step} proved",
            opcodes::info(t.steps[step].opcode).name
        );
    }
}

/// Public values that differ from what the trace pushed: each header word, a BLOCKHASH entry's
/// hash and its argument.
#[test]
fn public_values_other_than_the_pushed_ones_are_rejected() {
    let honest = shard_of(trace());
    let mut offsets: Vec<usize> = (0..HEADER_OPCODES.len()).map(|i| i * LIMBS + 1).collect();
    let slots = HEADER_OPCODES.len() * LIMBS;
    offsets.push(slots + ARG_LIMBS + 3); // the genesis hash's limb 3
    offsets.push(slots); // its argument
    for off in offsets {
        let mut s = honest.clone();
        let pv = &mut s.public_values[OPCODE_TABLE][SHARD_BINDING_LEN + off];
        *pv += F::ONE;
        assert!(
            check(&s).is_err(),
            "block context value {off} changed and proved"
        );
    }
}

/// A BLOCKHASH argument the block's reads do not have is a typed trace error, and so are more
/// distinct reads than the table has entries.
#[test]
fn a_blockhash_read_without_an_entry_is_a_trace_error() {
    let t = trace();
    // BLOCKHASH(2) where the program reads BLOCKHASH(0): the PUSH's item and the argument.
    let step = steps_of(t, BLOCKHASH)[0];
    let mut lying = t.clone();
    let arg = lying.steps[step].stack_words as usize;
    lying.stack_words[arg].0[0] = 2;
    let push = &lying.steps[step - 1];
    assert!((opcodes::PUSH0..=opcodes::PUSH32).contains(&push.opcode));
    let pushed = push.stack_words as usize + push.reads as usize;
    lying.stack_words[pushed].0[0] = 2;
    assert!(matches!(
        generate_shards::<F>(&lying, lying.steps.len()),
        Err(TraceError::BlockContextRead { step: s }) if s == step
    ));
    let mut full = t.clone();
    let mut ctx = (*full.block_context).clone();
    ctx.block_hashes = (0..=BLOCKHASH_SLOTS as u64)
        .map(|n| (n, Word::default()))
        .collect();
    full.block_context = std::sync::Arc::new(ctx);
    assert!(matches!(
        generate_shards::<F>(&full, full.steps.len()),
        Err(TraceError::TooManyBlockHashReads { .. })
    ));
}
