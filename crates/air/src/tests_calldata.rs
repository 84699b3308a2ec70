//! Calldata on a block revm executes: a driver loads its 70-byte calldata aligned, unaligned,
//! across and at its end, past it, at offsets of 2^29 + 3 and 2^32 + 1, reads CALLDATASIZE,
//! copies calldata past its end, and calls a callee with 36 bytes of its memory as calldata,
//! which loads them and reads its size. The honest trace proves; a wrong loaded byte, a
//! calldata word that differs from what a load read, a non-zero byte past the length and a
//! length other than the context's CALLDATASIZE are rejected.

use std::sync::OnceLock;

use core::borrow::{Borrow, BorrowMut};

use p3_field::{PrimeCharacteristicRing, PrimeField32};
use revm::primitives::{Address, Bytes, U256, address};
use slotproof_executor::generate::asm::Asm;
use slotproof_executor::generate::block::assemble;
use slotproof_executor::generate::genesis::GenesisAccount;
use slotproof_executor::generate::{BlockPlan, Genesis, TxSpec};
use slotproof_executor::trace::{STEP_OK, SubblockTrace};

use crate::chips::calldata::columns::{CalldataCols, NUM_CALLDATA_COLS};
use crate::chips::memory::trace::be_bytes;
use crate::opcodes;
use crate::shard::{self, Shard, generate_shards};
use crate::tests::{F, check, prove_verify};
use slotproof_prover::ProveError;

const CALLEE: Address = address!("0x3e40000000000000000000000000000000000001");
const DRIVER: Address = address!("0x3e400000000000000000000000000000000000d0");
const LEN: usize = 70;

fn calldata() -> Vec<u8> {
    (0..LEN as u8).map(|i| 0x81u8.wrapping_add(i)).collect()
}

fn load(a: &mut Asm, offset: U256) {
    a.push_word(offset)
        .op(opcodes::CALLDATALOAD)
        .op(opcodes::POP);
}

const OFFSETS: [u64; 9] = [0, 5, 32, 38, 60, 64, 69, 70, 100];

fn big_offsets() -> [U256; 2] {
    [
        U256::from((1u64 << 29) + 3),
        (U256::from(1u64) << 32) + U256::from(1u64),
    ]
}

fn driver() -> Bytes {
    let mut a = Asm::new();
    for o in OFFSETS {
        load(&mut a, U256::from(o));
    }
    for o in big_offsets() {
        load(&mut a, o);
    }
    a.op(opcodes::CALLDATASIZE).op(opcodes::POP);
    // CALLDATACOPY(0, 60, 20): 10 bytes, then zeros.
    a.push(20).push(60).push0().op(opcodes::CALLDATACOPY);
    // CALL with memory 0..36 as the callee's calldata.
    a.push0().push0().push(36).push0().push0();
    a.push_addr(CALLEE)
        .push(100_000)
        .op(opcodes::CALL)
        .op(opcodes::POP);
    a.op(opcodes::STOP);
    a.assemble("calldata driver").expect("assembles")
}

fn callee() -> Bytes {
    let mut a = Asm::new();
    load(&mut a, U256::ZERO);
    load(&mut a, U256::from(4));
    load(&mut a, U256::from(30));
    a.op(opcodes::CALLDATASIZE).op(opcodes::POP);
    a.op(opcodes::STOP);
    a.assemble("calldata callee").expect("assembles")
}

fn trace() -> &'static SubblockTrace {
    static T: OnceLock<SubblockTrace> = OnceLock::new();
    T.get_or_init(|| {
        let mut genesis = Genesis::build().expect("genesis");
        for (to, code) in [(CALLEE, callee()), (DRIVER, driver())] {
            let acct = GenesisAccount {
                nonce: 1,
                code,
                ..Default::default()
            };
            genesis.accounts.insert(to, acct);
        }
        let plan = BlockPlan {
            txs: vec![TxSpec::call(
                0,
                DRIVER,
                U256::ZERO,
                Bytes::from(calldata()),
                1_000_000,
            )],
            withdrawals: vec![],
            expected_failures: vec![],
        };
        let block = assemble(&genesis, &plan).expect("the block executes as planned");
        let mut subblocks = block.execution.subblocks;
        assert_eq!(subblocks.len(), 1);
        subblocks.remove(0).trace
    })
}

fn shard_of_all() -> Shard<F> {
    static S: OnceLock<Shard<F>> = OnceLock::new();
    S.get_or_init(|| {
        let t = trace();
        generate_shards::<F>(t, t.steps.len()).unwrap().remove(0)
    })
    .clone()
}

/// The values pushed by successful `op` steps of `code`'s contexts, with their first stack
/// item (the block's system calls load calldata too).
fn pushes(t: &SubblockTrace, op: u8, code: Address) -> Vec<(U256, [u8; 32])> {
    (0..t.steps.len())
        .filter(|&i| {
            let s = &t.steps[i];
            s.opcode == op
                && s.status == STEP_OK
                && Address::from(t.contexts[s.context as usize].code_address) == code
        })
        .map(|i| {
            let w = t.step_words(i);
            let first = if op == opcodes::CALLDATALOAD {
                U256::from_be_bytes(be_bytes(&w[0]))
            } else {
                U256::ZERO
            };
            (first, be_bytes(w.last().expect("its result")))
        })
        .collect()
}

fn expected(data: &[u8], o: U256) -> [u8; 32] {
    core::array::from_fn(|j| {
        let a = o.saturating_add(U256::from(j));
        if a < U256::from(data.len()) {
            data[a.to::<usize>()]
        } else {
            0
        }
    })
}

fn rows(s: &Shard<F>) -> usize {
    s.traces[shard::CALLDATA].values.len() / NUM_CALLDATA_COLS
}

fn row(s: &Shard<F>, r: usize) -> &CalldataCols<F> {
    s.traces[shard::CALLDATA].values[r * NUM_CALLDATA_COLS..(r + 1) * NUM_CALLDATA_COLS].borrow()
}

fn row_mut(s: &mut Shard<F>, r: usize) -> &mut CalldataCols<F> {
    s.traces[shard::CALLDATA].values[r * NUM_CALLDATA_COLS..(r + 1) * NUM_CALLDATA_COLS]
        .borrow_mut()
}

/// The driver's context: its load at offset 100's.
fn driver_ctx(s: &Shard<F>) -> F {
    (0..rows(s))
        .map(|r| row(s, r))
        .find(|m| m.is_in == F::ONE && m.off[0] == F::from_u32(100))
        .expect("CALLDATALOAD(100)")
        .ctx
}

/// The word row of the driver's word `word`.
fn word_row(s: &Shard<F>, word: u32) -> usize {
    let ctx = driver_ctx(s);
    (0..rows(s))
        .find(|&r| {
            let m = row(s, r);
            m.is_word == F::ONE && m.ctx == ctx && m.word == F::from_u32(word)
        })
        .expect("the word row")
}

fn u16_lookups(s: &mut Shard<F>, v: u32, delta: i32) {
    let t = &mut s.traces[shard::RANGE_U16];
    let m = &mut t.values[v as usize * t.width + 1];
    *m += F::from_i32(delta);
}

fn rejected(s: &Shard<F>, what: &str, by_constraint: bool) {
    let e = check(s);
    let ok = match &e {
        Err(ProveError::ConstraintViolation { instance, .. }) => {
            by_constraint && *instance == shard::CALLDATA
        }
        Err(ProveError::LookupImbalance(_)) => !by_constraint,
        _ => false,
    };
    assert!(
        ok,
        "{what}: expected rejection (constraint: {by_constraint}), got {e:?}"
    );
}

#[test]
fn calldata_loads_and_size_give_known_answers_and_prove() {
    let t = trace();
    let data = calldata();
    let loads = pushes(t, opcodes::CALLDATALOAD, DRIVER);
    assert_eq!(loads.len(), OFFSETS.len() + 2);
    for (o, v) in &loads {
        assert_eq!(*v, expected(&data, *o), "CALLDATALOAD({o})");
    }
    // Past the end and far past it: zero.
    assert!(loads[OFFSETS.len()..].iter().all(|(_, v)| *v == [0; 32]));
    let size = pushes(t, opcodes::CALLDATASIZE, DRIVER);
    assert_eq!(size[0].1[31], LEN as u8);
    // The callee's calldata is the driver's memory 0..36: calldata bytes 60..70, then zeros.
    let mut inner = vec![0u8; 36];
    inner[..10].copy_from_slice(&data[60..70]);
    for (o, v) in pushes(t, opcodes::CALLDATALOAD, CALLEE) {
        assert_eq!(v, expected(&inner, o), "callee CALLDATALOAD({o})");
    }
    assert_eq!(pushes(t, opcodes::CALLDATASIZE, CALLEE)[0].1[31], 36);
    let s = shard_of_all();
    // Word rows: the driver's words 0..4 (100 + 32 reaches word 4) and the callee's 0, 1.
    let ctx = driver_ctx(&s);
    let words = |own: bool| {
        (0..rows(&s))
            .filter(|&r| row(&s, r).is_word == F::ONE && (row(&s, r).ctx == ctx) == own)
            .count()
    };
    assert_eq!(words(true), 5);
    assert!(words(false) >= 2);
    prove_verify(&s);
}

#[test]
fn a_wrong_loaded_byte_is_rejected() {
    let mut s = shard_of_all();
    let r = (0..rows(&s))
        .find(|&r| row(&s, r).is_in == F::ONE && row(&s, r).shift[5] == F::ONE)
        .expect("the unaligned load");
    row_mut(&mut s, r).value[3] += F::ONE;
    rejected(&s, "loaded byte", true);
}

#[test]
fn a_big_load_pushing_non_zero_is_rejected() {
    let mut s = shard_of_all();
    let r = (0..rows(&s))
        .find(|&r| row(&s, r).is_big == F::ONE)
        .expect("a big load");
    row_mut(&mut s, r).value[31] = F::ONE;
    rejected(&s, "big load", true);
}

#[test]
fn a_calldata_word_unlike_what_loads_read_is_rejected() {
    let mut s = shard_of_all();
    let r = word_row(&s, 1);
    let m = row_mut(&mut s, r);
    let (lo, hi) = (m.a[1], m.a[0]);
    m.a[1] += F::ONE;
    let key = |lo: F, hi: F| lo.as_canonical_u32() + 256 * hi.as_canonical_u32();
    let (old, new) = (key(lo, hi), key(lo + F::ONE, hi));
    // The byte-pair counts follow: only the word lookups are unbalanced.
    u16_pairs(&mut s, old, -1);
    u16_pairs(&mut s, new, 1);
    rejected(&s, "calldata word", false);
}

fn u16_pairs(s: &mut Shard<F>, key: u32, delta: i32) {
    let t = &mut s.traces[shard::RANGE_U16];
    let m = &mut t.values[key as usize * t.width + t.width - 1];
    *m += F::from_i32(delta);
}

#[test]
fn a_non_zero_byte_past_the_length_is_rejected() {
    let mut s = shard_of_all();
    // Word 4 (bytes 128..160) lies past the length; CALLDATALOAD(100) reads its bytes 128..132
    // as word B, no load reads byte 159. Make it 1 in the word row and in that load's copy of
    // word B (the byte-pair counts follow): only the zero-past-the-length constraint sees it.
    let r = word_row(&s, 4);
    assert_eq!(row(&s, r).past, F::ONE);
    row_mut(&mut s, r).a[31] = F::ONE;
    u16_pairs(&mut s, 0, -1);
    u16_pairs(&mut s, 1, 1);
    let load = (0..rows(&s))
        .find(|&r| {
            let m = row(&s, r);
            m.is_in == F::ONE && m.off[0] == F::from_u32(100)
        })
        .expect("CALLDATALOAD(100)");
    row_mut(&mut s, load).b[31] = F::ONE;
    rejected(&s, "byte past the length", true);
}

#[test]
fn a_length_other_than_calldatasize_is_rejected() {
    let mut s = shard_of_all();
    // Word 3 (bytes 96..128) lies past the length 70: d = 96 - 70. Claim 71 (d = 25), with the
    // range counts following, so only the call-context lookup sees it.
    let r = word_row(&s, 3);
    let m = row_mut(&mut s, r);
    assert_eq!(m.past, F::ONE);
    assert_eq!(m.len_lo, F::from_u32(LEN as u32));
    m.len_lo = F::from_u32(LEN as u32 + 1);
    m.d_lo -= F::ONE;
    u16_lookups(&mut s, LEN as u32, -1);
    u16_lookups(&mut s, LEN as u32 + 1, 1);
    u16_lookups(&mut s, 26, -1);
    u16_lookups(&mut s, 25, 1);
    rejected(&s, "length", false);
}
