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
use slotproof_executor::generate::{BlockPlan, TxSpec};
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
        crate::tests::one_subblock_trace(&[(CALLEE, callee()), (DRIVER, driver())], plan)
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

/// The u16 keys and byte pairs a calldata row looks up, as the AIR does.
fn row_lookups(m: &CalldataCols<F>) -> (Vec<u32>, Vec<u32>) {
    let u = |x: F| x.as_canonical_u32();
    let on = |f: F| f == F::ONE;
    let mut keys = Vec::new();
    let mut pairs = Vec::new();
    let real = on(m.is_word) || on(m.is_in) || on(m.is_big);
    if real {
        keys.extend([u(m.word_lo), u(m.word_hi) * 256]);
    }
    if on(m.full) || on(m.past) {
        keys.extend([u(m.d_lo), u(m.d_hi) * 4]);
    }
    if on(m.is_word) {
        keys.extend([u(m.len_lo), u(m.len_hi), u(m.len_hi) * 8, u(m.ctx)]);
        pairs.extend((0..16).map(|k| u(m.a[2 * k + 1]) + 256 * u(m.a[2 * k])));
    }
    if on(m.more) {
        keys.extend([u(m.g_lo), u(m.g_hi) * 4]);
    }
    if on(m.is_in) {
        keys.push(u(m.off[1]) * 8);
    }
    if on(m.is_big) && !on(m.hi_nz) {
        keys.push(u(m.off[1]).wrapping_sub(1 << 13));
    }
    (keys, pairs)
}

/// Adds `sign` times the row's range lookups to the u16 table's counts.
fn recount(s: &mut Shard<F>, r: usize, sign: i32) {
    let (keys, pairs) = row_lookups(row(s, r));
    for k in keys {
        u16_lookups(s, k, sign);
    }
    for p in pairs {
        u16_pairs(s, p, sign);
    }
}

/// The call-context row of (ctx, CALLDATASIZE).
fn size_entry(
    s: &mut Shard<F>,
    ctx: F,
) -> &mut crate::chips::call_context::columns::CallContextCols<F> {
    use crate::chips::call_context::columns::NUM_CALL_CONTEXT_COLS as W;
    let t = &mut s.traces[shard::CALL_CONTEXT].values;
    let r = (0..t.len() / W)
        .find(|&r| {
            let m: &crate::chips::call_context::columns::CallContextCols<F> =
                t[r * W..(r + 1) * W].borrow();
            m.ctx == ctx && m.opcode == F::from_u8(opcodes::CALLDATASIZE) && m.is_real == F::ONE
        })
        .expect("the CALLDATASIZE entry");
    t[r * W..(r + 1) * W].borrow_mut()
}

#[test]
fn a_second_row_of_a_word_is_rejected() {
    let mut s = shard_of_all();
    // Word 1 of the driver is read by several loads: give one of them a second, identical row
    // right after the first. Everything balances; only the keys' strict order is broken.
    let r = word_row(&s, 1);
    assert!(row(&s, r).mult.as_canonical_u32() >= 2);
    let n = rows(&s);
    assert_eq!(row(&s, n - 1).is_word + row(&s, n - 1).is_in, F::ZERO);
    let w = NUM_CALLDATA_COLS;
    let t = &mut s.traces[shard::CALLDATA].values;
    t.copy_within((r + 1) * w..(n - 1) * w, (r + 2) * w);
    t.copy_within(r * w..(r + 1) * w, (r + 1) * w);
    recount(&mut s, r, -1);
    {
        let m = row_mut(&mut s, r);
        m.mult -= F::ONE;
        m.g_lo = F::ZERO;
        m.g_hi = F::ZERO;
    }
    recount(&mut s, r, 1);
    row_mut(&mut s, r + 1).mult = F::ONE;
    recount(&mut s, r + 1, 1);
    let ctx = row(&s, r).ctx;
    size_entry(&mut s, ctx).mult += F::ONE;
    rejected(&s, "second row of a word", true);
}

#[test]
fn a_dropped_word_row_is_rejected() {
    let mut s = shard_of_all();
    let r = word_row(&s, 4);
    let n = rows(&s);
    recount(&mut s, r, -1);
    recount(&mut s, r - 1, -1);
    let w = NUM_CALLDATA_COLS;
    let t = &mut s.traces[shard::CALLDATA].values;
    t.copy_within((r + 1) * w..n * w, r * w);
    for x in &mut t[(n - 1) * w..] {
        *x = F::ZERO;
    }
    // The previous row now precedes the next context's first word: its gap follows.
    {
        let (prev, next) = (row(&s, r - 1).ctx, row(&s, r).ctx);
        let m = row_mut(&mut s, r - 1);
        m.same_ctx = F::from_bool(prev == next);
        let gap = if prev == next {
            unreachable!("word 4 is the driver's last")
        } else {
            next - prev - F::ONE
        };
        m.g_lo = gap;
    }
    recount(&mut s, r - 1, 1);
    let ctx = row(&s, r - 1).ctx;
    size_entry(&mut s, ctx).mult -= F::ONE;
    // Only the load reading word 4 as its word B finds no word.
    rejected(&s, "dropped word row", false);
}

#[test]
fn a_big_load_below_2_29_is_rejected() {
    let mut s = shard_of_all();
    // CALLDATALOAD(100) pushes zeros (past the length): claim it is a load at 2^29 or more, which
    // reads no words. Only the check that limb 1 is at least 2^13 sees it.
    let r = (0..rows(&s))
        .find(|&r| row(&s, r).is_in == F::ONE && row(&s, r).off[0] == F::from_u32(100))
        .expect("CALLDATALOAD(100)");
    let words = [word_row(&s, 3), word_row(&s, 4)];
    recount(&mut s, r, -1);
    {
        let m = row_mut(&mut s, r);
        m.is_in = F::ZERO;
        m.is_big = F::ONE;
        m.shift = [F::ZERO; 32];
        m.word = F::ZERO;
        m.word_lo = F::ZERO;
        m.a = [F::ZERO; 32];
        m.b = [F::ZERO; 32];
    }
    for wr in words {
        row_mut(&mut s, wr).mult -= F::ONE;
    }
    // Its key off[1] - 2^13 wraps: count it where the table has no row, as a lie would have to.
    let (keys, _) = row_lookups(row(&s, r));
    for k in keys.into_iter().filter(|&k| k < 1 << 16) {
        u16_lookups(&mut s, k, 1);
    }
    rejected(&s, "big load below 2^29", false);
}

#[test]
fn a_word_claiming_more_valid_bytes_than_the_length_gives_is_rejected() {
    let mut s = shard_of_all();
    // Word 4 lies past the length; claim all its bytes valid (not `past`) with byte 159 = 1 (read
    // by no load), everything else balanced: only the count of valid bytes sees it.
    let r = word_row(&s, 4);
    recount(&mut s, r, -1);
    {
        let m = row_mut(&mut s, r);
        m.past = F::ZERO;
        m.d_lo = F::ZERO;
        m.d_hi = F::ZERO;
        m.valid = [F::ONE; 32];
        m.a[31] = F::ONE;
    }
    recount(&mut s, r, 1);
    let load = (0..rows(&s))
        .find(|&r| row(&s, r).is_in == F::ONE && row(&s, r).off[0] == F::from_u32(100))
        .expect("CALLDATALOAD(100)");
    row_mut(&mut s, load).b[31] = F::ONE;
    rejected(&s, "valid bytes", true);
}

/// Calldata rows of the fixtures' shards (`tests_shapes::for_each_fixture_shard`), for the
/// shape menu.
#[test]
#[ignore = "prints the shards' calldata heights"]
fn calldata_heights_on_fixtures() {
    crate::tests_shapes::for_each_fixture_shard(|p, k, s| {
        let used = (0..rows(s))
            .filter(|&r| {
                let m = row(s, r);
                m.is_word + m.is_in + m.is_big == F::ONE
            })
            .count();
        let n = &s.natural_log_heights;
        println!(
            "{p} subblock {k} steps {:?}: calldata rows {used} (2^{}), menu shape {:?}",
            s.steps,
            n[shard::CALLDATA],
            crate::shape::smallest_fitting(n)
        );
    });
}

/// CALLDATALOAD and CALLDATASIZE steps count as constrained and untainted (their offsets come
/// from PUSH), but what they push is tainted: the POP after each consumes a tainted item.
#[test]
fn calldata_reads_are_constrained_and_push_tainted_values() {
    let t = trace();
    let (_, untainted) = crate::coverage::share_and_untainted(
        t,
        |op| crate::coverage::opcode_coverage(op).0 == crate::coverage::Coverage::Constrained,
        crate::halts::HaltKind::is_constrained,
    );
    let mut seen = 0;
    for i in 0..t.steps.len() - 1 {
        let s = &t.steps[i];
        let op = s.opcode;
        let code = Address::from(t.contexts[s.context as usize].code_address);
        let ours = code == DRIVER || code == CALLEE;
        if ours
            && s.status == STEP_OK
            && (op == opcodes::CALLDATALOAD || op == opcodes::CALLDATASIZE)
        {
            assert!(untainted[i], "step {i}");
            assert_eq!(t.steps[i + 1].opcode, opcodes::POP);
            assert!(!untainted[i + 1], "the POP after step {i}");
            seen += 1;
        }
    }
    assert_eq!(seen, OFFSETS.len() + 2 + 1 + 3 + 1);
}
