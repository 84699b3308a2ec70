//! EVM memory on a block revm executes: a driver contract stores and loads at aligned and
//! unaligned offsets, overlaps stores, writes one byte, reads never-written memory (twice),
//! copies calldata, takes a call's output and copies memory with MCOPY (trusted writes), then
//! reads all of it back. The honest trace proves (whole, and cut inside the transaction, where
//! the later shard takes carried memory); a wrong memory value, a wrong loaded byte, two reads
//! in the wrong timestamp order, a dropped or a second init row, carried content without the
//! boundary's permission, a trusted write outside its area and an MSTORE8 that writes two bytes
//! are rejected. Lies that only one range check or the resume token can catch are kept
//! consistent everywhere else (the range table's counts follow every changed row).

use std::sync::OnceLock;

use core::borrow::{Borrow, BorrowMut};

use p3_field::{PrimeCharacteristicRing, PrimeField32};
use revm::primitives::{Address, Bytes, U256, address};
use slotproof_executor::generate::asm::Asm;
use slotproof_executor::generate::{BlockPlan, TxSpec};
use slotproof_executor::trace::{STEP_OK, SubblockTrace};

use crate::chips::memory::columns::{MemoryCols, NUM_MEMORY_COLS, WORD_BYTES};
use crate::chips::memory::trace::be_bytes;
use crate::opcodes;
use crate::shard::{self, Shard, generate_shards, generate_shards_in};
use crate::tests::{F, check, prove_verify};
use slotproof_prover::ProveError;

const CALLEE: Address = address!("0x3e30000000000000000000000000000000000001");
const DRIVER: Address = address!("0x3e300000000000000000000000000000000000d0");

/// A word whose bytes are `seed, seed + 1, ...` (big-endian).
fn word(seed: u8) -> [u8; 32] {
    core::array::from_fn(|i| seed.wrapping_add(i as u8))
}

fn push_bytes(a: &mut Asm, w: [u8; 32]) {
    a.push_word(U256::from_be_bytes(w));
}

fn mload(a: &mut Asm, offset: u64) {
    a.push(offset).op(opcodes::MLOAD).op(opcodes::POP);
}

fn mstore(a: &mut Asm, offset: u64, w: [u8; 32]) {
    push_bytes(a, w);
    a.push(offset).op(opcodes::MSTORE);
}

fn driver() -> Bytes {
    let mut a = Asm::new();
    // Aligned, unaligned (words 2 and 3), overlapping stores, one byte.
    mstore(&mut a, 0, word(0x10));
    mload(&mut a, 0);
    mstore(&mut a, 0x45, word(0x40));
    mload(&mut a, 0x45);
    mload(&mut a, 0x40);
    mstore(&mut a, 0x50, word(0x80));
    mstore(&mut a, 0x5f, word(0xa0));
    mload(&mut a, 0x50);
    a.push(0xabcd).push(0x61).op(opcodes::MSTORE8);
    mload(&mut a, 0x60);
    // Never written: zeros (twice, no write between).
    mload(&mut a, 0x200);
    mload(&mut a, 0x200);
    // CALLDATACOPY(0x305, 0, 40).
    a.push(40).push0().push(0x305).op(opcodes::CALLDATACOPY);
    mload(&mut a, 0x300);
    mload(&mut a, 0x320);
    // CALL with its output at 0x410 (32 bytes).
    a.push(32).push(0x410).push0().push0().push0();
    a.push_addr(CALLEE)
        .push(100_000)
        .op(opcodes::CALL)
        .op(opcodes::POP);
    mload(&mut a, 0x400);
    mload(&mut a, 0x410);
    // MCOPY(0x500, 0x40, 64).
    a.push(64).push(0x40).push(0x500).op(opcodes::MCOPY);
    mload(&mut a, 0x510);
    a.op(opcodes::MSIZE).op(opcodes::POP);
    a.op(opcodes::STOP);
    a.assemble("memory driver").expect("assembles")
}

/// Stores a word at 0 and returns it.
fn callee() -> Bytes {
    let mut a = Asm::new();
    mstore(&mut a, 0, word(0xc0));
    a.push(32).push0().op(opcodes::RETURN);
    a.assemble("memory callee").expect("assembles")
}

fn trace() -> &'static SubblockTrace {
    static T: OnceLock<SubblockTrace> = OnceLock::new();
    T.get_or_init(|| {
        let calldata: Vec<u8> = (0..64u8).map(|i| 0xe0u8.wrapping_add(i)).collect();
        let plan = BlockPlan {
            txs: vec![TxSpec::call(
                0,
                DRIVER,
                U256::ZERO,
                Bytes::from(calldata),
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

/// Successful steps of `op` in the driver's context, with their offset.
fn steps_of(t: &SubblockTrace, op: u8) -> Vec<(usize, u32)> {
    (0..t.steps.len())
        .filter(|&i| {
            let s = &t.steps[i];
            s.opcode == op && s.status == STEP_OK && s.depth == 1
        })
        .map(|i| (i, t.step_words(i)[0].0[0]))
        .collect()
}

/// The first successful depth-1 `op` step whose first stack item (its offset) is `offset`.
fn step_at(t: &SubblockTrace, op: u8, offset: u32) -> usize {
    steps_of(t, op)
        .into_iter()
        .find(|&(_, o)| o == offset)
        .map(|(i, _)| i)
        .expect("the step at that offset")
}

/// The value the MLOAD at `offset` (the first such) pushed, big-endian.
fn loaded(t: &SubblockTrace, offset: u32) -> [u8; 32] {
    let i = step_at(t, opcodes::MLOAD, offset);
    be_bytes(t.step_words(i).last().expect("its result"))
}

fn mem_rows(s: &Shard<F>) -> usize {
    s.traces[shard::MEMORY].values.len() / NUM_MEMORY_COLS
}

fn mem_row(s: &Shard<F>, r: usize) -> &MemoryCols<F> {
    s.traces[shard::MEMORY].values[r * NUM_MEMORY_COLS..(r + 1) * NUM_MEMORY_COLS].borrow()
}

fn mem_row_mut(s: &mut Shard<F>, r: usize) -> &mut MemoryCols<F> {
    s.traces[shard::MEMORY].values[r * NUM_MEMORY_COLS..(r + 1) * NUM_MEMORY_COLS].borrow_mut()
}

/// The memory row of the access at step `i` (its timestamp is `i + 1`) of the given kind.
fn access_row(s: &Shard<F>, i: usize, kind: fn(&MemoryCols<F>) -> F) -> usize {
    (0..mem_rows(s))
        .find(|&r| {
            let m = mem_row(s, r);
            kind(m) == F::ONE && m.ts == F::from_u32(i as u32 + 1)
        })
        .expect("the access row")
}

/// The bound row of (context, word).
fn bound_row(s: &Shard<F>, ctx: u32, word: u32) -> usize {
    (0..mem_rows(s))
        .find(|&r| {
            let m = mem_row(s, r);
            m.is_bound == F::ONE && m.ctx == F::from_u32(ctx) && m.word == F::from_u32(word)
        })
        .expect("the bound row")
}

fn u16_lookups(s: &mut Shard<F>, v: u32, delta: i32) {
    let t = &mut s.traces[shard::RANGE_U16];
    let m = &mut t.values[v as usize * t.width + 1];
    *m += F::from_i32(delta);
}

#[derive(Clone, Copy, Debug)]
enum Why {
    /// A constraint of the memory table.
    Memory,
    Lookup,
}

fn rejected(s: &Shard<F>, what: &str, why: Why) {
    let e = check(s);
    let ok = match (why, &e) {
        (Why::Memory, Err(ProveError::ConstraintViolation { instance, .. })) => {
            *instance == shard::MEMORY
        }
        (Why::Lookup, Err(ProveError::LookupImbalance(_))) => true,
        _ => false,
    };
    assert!(ok, "{what}: expected {why:?}, got {e:?}");
}

#[test]
fn memory_ops_give_known_answers_and_prove() {
    let t = trace();
    let w = |seed| word(seed);
    assert_eq!(loaded(t, 0), w(0x10));
    assert_eq!(loaded(t, 0x45), w(0x40));
    // 0x40..0x45 never written, then the first 27 bytes of the unaligned store.
    let mut x = [0u8; 32];
    x[5..].copy_from_slice(&w(0x40)[..27]);
    assert_eq!(loaded(t, 0x40), x);
    // The second store overlaps the first from byte 15 on.
    let mut x = [0u8; 32];
    x[..15].copy_from_slice(&w(0x80)[..15]);
    x[15..].copy_from_slice(&w(0xa0)[..17]);
    assert_eq!(loaded(t, 0x50), x);
    // MSTORE8 wrote 0xcd at 0x61 inside the second store; 0x7f is past it.
    let mut x = [0u8; 32];
    x[..31].copy_from_slice(&w(0xa0)[1..]);
    x[1] = 0xcd;
    assert_eq!(loaded(t, 0x60), x);
    assert_eq!(loaded(t, 0x200), [0; 32]);
    // Calldata bytes 0..27 at 0x305.., then 28..40 at 0x320.., then zeros.
    let cd: Vec<u8> = (0..64u8).map(|i| 0xe0u8.wrapping_add(i)).collect();
    let mut x = [0u8; 32];
    x[5..].copy_from_slice(&cd[..27]);
    assert_eq!(loaded(t, 0x300), x);
    let mut x = [0u8; 32];
    x[..13].copy_from_slice(&cd[27..40]);
    assert_eq!(loaded(t, 0x320), x);
    // The callee's output at 0x410.
    assert_eq!(loaded(t, 0x410), w(0xc0));
    let mut x = [0u8; 32];
    x[16..].copy_from_slice(&w(0xc0)[..16]);
    assert_eq!(loaded(t, 0x400), x);
    // MCOPY copied 0x40..0x80 after the MSTORE8 (0x61 is byte 0x11 of 0x50..0x70).
    let mut x = loaded(t, 0x50);
    x[0x11] = 0xcd;
    assert_eq!(loaded(t, 0x510), x);
    let s = shard_of_all();
    prove_verify(&s);
    // No carried memory in a shard that starts the transaction.
    assert_eq!(s.public_values[shard::BOUNDARY][0], F::ZERO);
}

#[test]
fn a_shard_cut_inside_the_transaction_takes_carried_memory() {
    let t = trace();
    // Cut at the read of the overlapping stores: the words they wrote are carried.
    let cut = step_at(t, opcodes::MLOAD, 0x50);
    let shards = generate_shards_in::<F>(t, vec![0..cut, cut..t.steps.len()]).unwrap();
    let later = &shards[1];
    assert_eq!(later.public_values[shard::BOUNDARY][0], F::ONE);
    // Every non-zero word of the running context is carried in, touched or not (the read
    // touches words 2 and 3), and the earlier shard hands on the same words.
    let carried: Vec<u32> = (0..mem_rows(later))
        .map(|r| mem_row(later, r))
        .filter(|m| m.carried == F::ONE)
        .map(|m| m.word.as_canonical_u32())
        .collect();
    assert!(carried.contains(&2) && carried.contains(&3), "{carried:?}");
    assert!(shard::carries_on(
        &shards[0].public_values,
        &later.public_values
    ));
    for s in &shards {
        prove_verify(s);
    }
    // Without the permission (allow_init = 0) the carried content is not accepted.
    let mut s = later.clone();
    s.public_values[shard::BOUNDARY][0] = F::ZERO;
    assert!(check(&s).is_err());
}

#[test]
fn a_wrong_memory_value_is_rejected() {
    let t = trace();
    let (i, _) = steps_of(t, opcodes::MLOAD)[0];
    let base = shard_of_all();
    let r = access_row(&base, i, |m| m.is_load);
    // The load's row consistently claims another last byte (value, old and new content): the
    // token it takes does not exist, and the CPU sent another value.
    let mut s = base.clone();
    let m = mem_row_mut(&mut s, r);
    m.value[31] += F::ONE;
    m.old_a[31] += F::ONE;
    m.new_a[31] += F::ONE;
    rejected(&s, "a load of content nobody wrote", Why::Lookup);
    // Only the loaded byte: the window constraint.
    let mut s = base.clone();
    mem_row_mut(&mut s, r).value[31] += F::ONE;
    rejected(&s, "a loaded byte that is not the memory's", Why::Memory);
    // Only the CPU's pushed limb: the memory-op bus.
    let mut s = base.clone();
    let cpu = &mut s.traces[shard::CPU];
    let w = cpu.width;
    let c: &mut crate::chips::cpu::columns::CpuCols<F> =
        cpu.values[i * w..(i + 1) * w].borrow_mut();
    c.out[0] += F::ONE;
    rejected(&s, "an MLOAD pushing another limb", Why::Lookup);
}

#[test]
fn reads_out_of_timestamp_order_are_rejected() {
    let t = trace();
    let reads: Vec<usize> = steps_of(t, opcodes::MLOAD)
        .into_iter()
        .filter(|&(_, o)| o == 0x200)
        .map(|(i, _)| i)
        .collect();
    let (i1, i2) = (reads[0], reads[1]);
    let mut s = shard_of_all();
    let (r1, r2) = (
        access_row(&s, i1, |m| m.is_load),
        access_row(&s, i2, |m| m.is_load),
    );
    let ctx = mem_row(&s, r1).ctx.as_canonical_u32();
    let b = bound_row(&s, ctx, 0x200 / WORD_BYTES as u32);
    // Swap the chain: the second read takes the init token, the first read the second's, and
    // the final token is the first's. Contents are all zero, so the bus balances; only the
    // first read's timestamp gap (now negative) fails its range check.
    let (ts1, ts2) = (i1 as u32 + 1, i2 as u32 + 1);
    let old_gap = |s: &Shard<F>, r: usize| {
        let m = mem_row(s, r);
        (m.da_lo.as_canonical_u32(), m.da_hi.as_canonical_u32())
    };
    for r in [r1, r2] {
        let (lo, hi) = old_gap(&s, r);
        u16_lookups(&mut s, lo, -1);
        u16_lookups(&mut s, hi * 4, -1);
    }
    let set = |s: &mut Shard<F>, r: usize, ts_a: u32, ts: u32| {
        let m = mem_row_mut(s, r);
        m.ts_a = F::from_u32(ts_a);
        let d = F::from_u32(ts) - F::from_u32(ts_a) - F::ONE;
        let d = d.as_canonical_u32();
        m.da_lo = F::from_u32(d & 0xffff);
        m.da_hi = F::from_u32(d >> 16);
        (d & 0xffff, d >> 16)
    };
    let (lo2, hi2) = set(&mut s, r2, 0, ts2);
    u16_lookups(&mut s, lo2, 1);
    u16_lookups(&mut s, hi2 * 4, 1);
    let (lo1, hi1) = set(&mut s, r1, ts2, ts1);
    u16_lookups(&mut s, lo1, 1);
    assert!(hi1 * 4 >= 1 << 16, "the gap's high part is out of range");
    mem_row_mut(&mut s, b).ts_a = F::from_u32(ts1);
    rejected(&s, "a read before the token it takes", Why::Lookup);
}

#[test]
fn init_rows_are_one_per_word() {
    let base = shard_of_all();
    let first_access = (0..mem_rows(&base))
        .find(|&r| mem_row(&base, r).is_bound == F::ZERO)
        .expect("an access row");
    // Dropping the last bound row (and the link to it) leaves its word's tokens unmatched.
    let mut s = base.clone();
    let last = first_access - 1;
    for c in s.traces[shard::MEMORY].values[last * NUM_MEMORY_COLS..(last + 1) * NUM_MEMORY_COLS]
        .iter_mut()
    {
        *c = F::ZERO;
    }
    let prev = mem_row_mut(&mut s, last - 1);
    prev.more = F::ZERO;
    prev.same_ctx = F::ZERO;
    rejected(&s, "a dropped init/final row", Why::Lookup);
    // A second init row for a word (a fresh zero token next to the real one), as a padding row
    // after the accesses or right after its twin: the order of bound rows rejects both.
    let n = mem_rows(&base);
    let used = (0..n)
        .rfind(|&r| {
            let m = mem_row(&base, r);
            m.is_bound + m.is_load + m.is_store + m.is_store8 + m.is_chunk == F::ONE
        })
        .unwrap();
    assert!(used + 1 < n, "a padding row to use");
    let mut s = base.clone();
    let twin: Vec<F> = s.traces[shard::MEMORY].values
        [(last - 1) * NUM_MEMORY_COLS..last * NUM_MEMORY_COLS]
        .to_vec();
    s.traces[shard::MEMORY].values[(used + 1) * NUM_MEMORY_COLS..(used + 2) * NUM_MEMORY_COLS]
        .copy_from_slice(&twin);
    let m = mem_row_mut(&mut s, used + 1);
    m.more = F::ZERO;
    m.same_ctx = F::ZERO;
    rejected(&s, "a second init row after the accesses", Why::Memory);
}

#[test]
fn carried_content_needs_the_boundary_permission() {
    let base = shard_of_all();
    let mut s = base.clone();
    // A non-zero initial byte, not marked carried.
    mem_row_mut(&mut s, 0).new_a[31] = F::ONE;
    rejected(&s, "non-zero initial content", Why::Memory);
    // Marked carried: the permission lookup fails (allow_init = 0 here).
    mem_row_mut(&mut s, 0).carried = F::ONE;
    rejected(&s, "carried content without allow_init", Why::Lookup);
}

#[test]
fn writes_stay_inside_their_bytes() {
    let t = trace();
    let base = shard_of_all();
    // The CALLDATACOPY's chunk for word 0x300 / 32 starts at byte 5: byte 0 is outside.
    let (copy, _) = steps_of(t, opcodes::CALLDATACOPY)[0];
    let r = access_row(&base, copy, |m| m.is_chunk);
    let mut s = base.clone();
    mem_row_mut(&mut s, r).new_a[0] += F::ONE;
    rejected(&s, "a trusted write outside its area", Why::Memory);
    // MSTORE8 at 0x61 writes byte 1 of its word only.
    let (st8, _) = steps_of(t, opcodes::MSTORE8)[0];
    let r = access_row(&base, st8, |m| m.is_store8);
    let mut s = base.clone();
    mem_row_mut(&mut s, r).new_a[2] += F::ONE;
    rejected(&s, "MSTORE8 writing a second byte", Why::Memory);
    // An unaligned MSTORE (0x45) leaves word A's first 5 bytes as they were.
    let st = step_at(t, opcodes::MSTORE, 0x45);
    let r = access_row(&base, st, |m| m.is_store);
    let mut s = base.clone();
    mem_row_mut(&mut s, r).new_a[4] += F::ONE;
    rejected(&s, "MSTORE writing before its offset", Why::Memory);
}

/// The gas of the driver's steps of `op` at `offset`, in order.
fn gas_of(t: &SubblockTrace, op: u8, offset: u32) -> Vec<u64> {
    steps_of(t, op)
        .into_iter()
        .filter(|&(_, o)| o == offset)
        .map(|(i, _)| t.steps[i].gas_before - t.steps[i].gas_after)
        .collect()
}

#[test]
fn expansion_gas_and_msize_give_known_answers() {
    let t = trace();
    // MSTORE at 0 expands to 1 word; at 0x45 to 4 (0x65 rounds up to 0x80); at 0x5f (0x7f)
    // stays at 4; MLOAD at 0x200 expands from 4 to 17 words, its second read stays.
    assert_eq!(gas_of(t, opcodes::MSTORE, 0), [3 + 3]);
    assert_eq!(gas_of(t, opcodes::MSTORE, 0x45), [3 + 3 * 3]);
    assert_eq!(gas_of(t, opcodes::MSTORE, 0x5f), [3]);
    assert_eq!(gas_of(t, opcodes::MLOAD, 0x200), [3 + 3 * 13, 3]);
    assert_eq!(gas_of(t, opcodes::MSTORE8, 0x61), [3]);
    // MSIZE after MCOPY to 0x500..0x540: 42 words.
    let (m, _) = steps_of(t, opcodes::MSIZE)[0];
    assert_eq!(t.step_words(m)[0].0[0], 42 * 32);
}

#[test]
fn wrong_expansion_gas_or_msize_is_rejected() {
    let t = trace();
    let i = step_at(t, opcodes::MLOAD, 0x200);
    let (call, _) = steps_of(t, opcodes::CALL)[0];
    let base = shard_of_all();
    // The MLOAD that expands to 17 words claims 1 gas less; the caller's gas stays chained up
    // to its CALL (whose gas given away is trusted), and the memory row agrees with the CPU:
    // only the expansion gas constraint rejects it.
    let mut s = base.clone();
    let w = s.traces[shard::CPU].width;
    let mut moved: Vec<(u32, u32)> = Vec::new();
    for j in i..=call {
        if t.steps[j].depth != 1 {
            continue;
        }
        let c: &mut crate::chips::cpu::columns::CpuCols<F> =
            s.traces[shard::CPU].values[j * w..(j + 1) * w].borrow_mut();
        if j > i {
            c.gas += F::ONE;
        }
        if j < call {
            let old = c.ga_lo.as_canonical_u32();
            assert!(old < 0xffff);
            c.gas_after += F::ONE;
            c.ga_lo += F::ONE;
            moved.push((old, old + 1));
        }
    }
    for (old, new) in moved {
        u16_lookups(&mut s, old, -1);
        u16_lookups(&mut s, new, 1);
    }
    let r = access_row(&s, i, |m| m.is_load);
    mem_row_mut(&mut s, r).cost -= F::ONE;
    rejected(
        &s,
        "an MLOAD paying 1 gas less for its expansion",
        Why::Memory,
    );
    // MSIZE pushing another size: its CPU row.
    let (m, _) = steps_of(t, opcodes::MSIZE)[0];
    let mut s = base.clone();
    let c: &mut crate::chips::cpu::columns::CpuCols<F> =
        s.traces[shard::CPU].values[m * w..(m + 1) * w].borrow_mut();
    c.out[0] += F::from_u32(32);
    let e = check(&s);
    assert!(
        matches!(e, Err(ProveError::ConstraintViolation { instance, row, .. })
            if instance == shard::CPU && row == m),
        "MSIZE pushing another size: {e:?}"
    );
}

#[test]
fn loads_of_trusted_bytes_are_tainted() {
    use crate::coverage::{Coverage, opcode_coverage, share_and_untainted};
    let t = trace();
    let (_, untainted) = share_and_untainted(
        t,
        |op| opcode_coverage(op).0 == Coverage::Constrained,
        crate::halts::HaltKind::is_constrained,
    );
    // The transaction's steps (the subblock also holds the system calls).
    let seg = t
        .segments
        .iter()
        .find(|s| s.kind == 1)
        .expect("the transaction");
    let tainted: Vec<(u8, u32)> = (seg.first_step as usize..seg.end_step as usize)
        .filter(|&i| opcode_coverage(t.steps[i].opcode).0 == Coverage::Constrained)
        .filter(|&i| !untainted[i])
        .map(|i| {
            (
                t.steps[i].opcode,
                t.step_words(i).first().map_or(0, |w| w.0[0]),
            )
        })
        .collect();
    // The MLOADs of copied calldata (0x300, 0x320), of the call's output area (0x400, 0x410)
    // and of MCOPY's copy (0x510), the POPs of their results and of the CALL's (trusted)
    // result. Loads of stored or never-written memory are untainted.
    let loads: Vec<u32> = tainted
        .iter()
        .filter(|&&(op, _)| op == opcodes::MLOAD)
        .map(|&(_, o)| o)
        .collect();
    assert_eq!(loads, [0x300, 0x320, 0x400, 0x410, 0x510], "{tainted:x?}");
    assert_eq!(tainted.len(), 11, "{tainted:x?}");
}

/// Natural table heights of the fixtures' shards (`tests_shapes::for_each_fixture_shard`), for
/// the shape menu.
#[test]
#[ignore = "prints the shards' natural heights"]
fn memory_heights_on_fixtures() {
    crate::tests_shapes::for_each_fixture_shard(|p, k, s| {
        let n = &s.natural_log_heights;
        println!(
            "{p} subblock {k} steps {:?}: memory rows {} (2^{}), natural {n:?}, menu shape {:?}",
            s.steps,
            (0..mem_rows(s))
                .filter(|&r| {
                    let m = mem_row(s, r);
                    m.is_bound + m.is_load + m.is_store + m.is_store8 + m.is_chunk == F::ONE
                })
                .count(),
            n[shard::MEMORY],
            crate::shape::smallest_fitting(n)
        );
    });
}

fn cpu_row(s: &mut Shard<F>, i: usize) -> &mut crate::chips::cpu::columns::CpuCols<F> {
    let w = s.traces[shard::CPU].width;
    s.traces[shard::CPU].values[i * w..(i + 1) * w].borrow_mut()
}

#[test]
fn more_lies_about_memory_are_rejected() {
    let t = trace();
    let base = shard_of_all();
    let cpu_rejects = |s: &Shard<F>, what: &str| {
        let e = check(s);
        assert!(
            matches!(e, Err(ProveError::ConstraintViolation { instance, .. }) if instance == shard::CPU),
            "{what}: {e:?}"
        );
    };
    // A load that changes its word.
    let (ld, _) = steps_of(t, opcodes::MLOAD)[0];
    let r = access_row(&base, ld, |m| m.is_load);
    let mut s = base.clone();
    mem_row_mut(&mut s, r).new_a[0] += F::ONE;
    rejected(&s, "a load writing memory", Why::Memory);
    // The unaligned store at 0x45 changes word B only below byte 5.
    let st = step_at(t, opcodes::MSTORE, 0x45);
    let r = access_row(&base, st, |m| m.is_store);
    let mut s = base.clone();
    mem_row_mut(&mut s, r).new_b[5] += F::ONE;
    rejected(&s, "a store writing past its last byte", Why::Memory);
    // The MLOAD at 0x200 expands memory: claiming it does not breaks the size's gap.
    let grow = step_at(t, opcodes::MLOAD, 0x200);
    let r = access_row(&base, grow, |m| m.is_load);
    let mut s = base.clone();
    mem_row_mut(&mut s, r).expand = F::ZERO;
    rejected(&s, "an expanding load claimed not to expand", Why::Memory);
    // The memory size jumps between two steps of a context (at a PUSH).
    let push = (0..t.steps.len())
        .find(|&i| t.steps[i].depth == 1 && t.steps[i].opcode == opcodes::PUSH2)
        .unwrap();
    let mut s = base.clone();
    let c = cpu_row(&mut s, push);
    c.mw += F::ONE;
    c.mw_next += F::ONE;
    cpu_rejects(&s, "a memory size that changes along the context");
    // A copy's area starting one byte later than its destination item.
    let (copy, _) = steps_of(t, opcodes::CALLDATACOPY)[0];
    let mut s = base.clone();
    cpu_row(&mut s, copy).wr_start += F::ONE;
    cpu_rejects(&s, "a trusted write's area off its stack items");
}

// ---- Range checks and the resume token's memory size, each the only check a lie fails ----

/// The u16 keys and byte pairs a memory row looks up, as the AIR does; keys out of range are
/// left out (no table row provides them: those lookups are the ones a lie must fail).
fn row_lookups(m: &MemoryCols<F>) -> (Vec<u32>, Vec<usize>) {
    let is_op = m.is_load + m.is_store + m.is_store8;
    let acc = is_op + m.is_chunk;
    let real = acc + m.is_bound;
    let touch_b = (m.is_load + m.is_store) * (F::ONE - m.shift[0]);
    let c = F::from_u32;
    let mut keys: Vec<(F, F)> = vec![
        (real, m.word_lo),
        (real, m.word_hi * c(256)),
        (acc + m.more, m.da_lo),
        (acc + m.more, m.da_hi * c(4)),
        (touch_b + m.is_chunk * m.start_before, m.db_lo),
        (touch_b + m.is_chunk * m.start_before, m.db_hi * c(4)),
        (is_op, m.gap_lo * (F::ONE + m.expand * c(2047))),
        (is_op, m.gap_hi * c(4)),
        (m.expand, m.grow_lo),
        (m.expand, m.grow_hi * c(4)),
        (
            is_op + m.is_bound,
            is_op * m.off_hi * c(8) + m.is_bound * m.ctx,
        ),
        (m.end_after, m.de_lo),
        (m.end_after, m.de_hi * c(4)),
    ];
    for t in 0..2 {
        keys.push((is_op, m.sq_lo[t] * c(64)));
        keys.push((is_op, m.sq_hi[t] * c(64)));
        keys.push((is_op, m.sq_r[t] * c(128)));
    }
    let cob = m.is_chunk + m.is_bound;
    let pick = |x: usize| m.value[x] + cob * (m.new_a[x] - m.value[x]);
    let mut pairs = Vec::new();
    for p in 0..WORD_BYTES / 2 {
        let mut mult = m.is_store + m.is_chunk + m.carried;
        if p == WORD_BYTES / 2 - 1 {
            mult += m.is_store8;
        }
        let (lo, hi) = (
            pick(2 * p + 1).as_canonical_u32(),
            pick(2 * p).as_canonical_u32(),
        );
        if mult == F::ONE && lo < 256 && hi < 256 {
            pairs.push((lo + 256 * hi) as usize);
        }
    }
    let keys = keys
        .into_iter()
        .filter(|&(mult, _)| mult == F::ONE)
        .map(|(_, k)| k.as_canonical_u32())
        .filter(|&k| k < 1 << 16)
        .collect();
    (keys, pairs)
}

/// Adds (`sign` 1) or takes away (-1) memory row `r`'s range lookups in the u16 table.
fn recount(s: &mut Shard<F>, r: usize, sign: i32) {
    let (keys, pairs) = row_lookups(mem_row(s, r));
    for k in keys {
        u16_lookups(s, k, sign);
    }
    let t = &mut s.traces[shard::RANGE_U16];
    for p in pairs {
        // The pair's multiplicity: column 4 (after value, mult, hi, is_end).
        t.values[p * t.width + 4] += F::from_i32(sign);
    }
}

/// `v = lo + 2^16 hi` of a field element.
fn split16(v: F) -> (F, F) {
    let v = v.as_canonical_u32();
    (F::from_u32(v & 0xffff), F::from_u32(v >> 16))
}

/// The first padding row of the memory table (asserting there is one).
fn free_row(s: &Shard<F>) -> usize {
    let r = (0..mem_rows(s))
        .rfind(|&r| {
            let m = mem_row(s, r);
            m.is_bound + m.is_load + m.is_store + m.is_store8 + m.is_chunk == F::ONE
        })
        .unwrap()
        + 1;
    assert!(r < mem_rows(s), "a padding row to use");
    r
}

#[test]
fn a_word_index_past_2_24_is_rejected() {
    // Op rows cannot lie about their word: `32 word + k` is the CPU's offset (below 2^29) and 32
    // is invertible. (Chunk rows could: `32 word - start` and `end - 32 word - 32`, each below
    // 2^30, also hold for `32 word` just below `start + 2^30`, past p - 2^30; such a word is
    // above 2^24, so this check guards them too.) A bound row's word is free, and the strict
    // order of bound rows is what makes an init token unique per word; without the word's range
    // the keys could wrap the field. The lie:
    // after the last bound row (context c, word w), a row at w + 2^30 and then a second bound
    // row for w itself, each key gap below 2^30 as checked (the two gaps sum to p - 2). The
    // second row for w sends a fresh zero token and takes it back (a second init row for a word
    // that holds data); only the middle row's word (2^30) fails its range check.
    let mut s = shard_of_all();
    let first_access = (0..mem_rows(&s))
        .find(|&r| mem_row(&s, r).is_bound == F::ZERO)
        .unwrap();
    let last = first_access - 1;
    let used = free_row(&s);
    let w = NUM_MEMORY_COLS;
    assert!(used + 2 <= mem_rows(&s), "two padding rows to use");
    s.traces[shard::MEMORY]
        .values
        .copy_within(first_access * w..used * w, (first_access + 2) * w);
    let (ctx, wl) = (mem_row(&s, last).ctx, mem_row(&s, last).word);
    let p = F::ORDER_U32;
    let g1 = (1u32 << 30) - 1;
    let g2 = p - 2 - g1;
    assert!(g2 < 1 << 30);
    recount(&mut s, last, -1);
    let m = mem_row_mut(&mut s, last);
    m.more = F::ONE;
    m.same_ctx = F::ONE;
    (m.da_lo, m.da_hi) = split16(F::from_u32(g1));
    recount(&mut s, last, 1);
    let x = wl + F::from_u32(1 + g1);
    for (r, word, more, gap) in [
        (first_access, x, F::ONE, g2),
        (first_access + 1, wl, F::ZERO, 0),
    ] {
        for c in &mut s.traces[shard::MEMORY].values[r * w..(r + 1) * w] {
            *c = F::ZERO;
        }
        let m = mem_row_mut(&mut s, r);
        m.is_bound = F::ONE;
        m.ctx = ctx;
        m.word = word;
        (m.word_lo, m.word_hi) = split16(word);
        m.more = more;
        m.same_ctx = more;
        (m.da_lo, m.da_hi) = split16(F::from_u32(gap));
        recount(&mut s, r, 1);
    }
    assert!(mem_row(&s, first_access).word_hi.as_canonical_u32() >= 256);
    rejected(
        &s,
        "a second init row for a word, past a wrapping key",
        Why::Lookup,
    );
}

#[test]
fn a_stored_byte_past_255_is_rejected() {
    // MSTORE at 0 writes byte 31 as 0x2f + 256 and byte 30 as 0x2e - 1: its limb to the CPU is
    // the same, and so are the tokens the load of word 0 and the final row then take (loads and
    // final rows check no bytes). Only the byte-pair range check of the stored bytes fails. (The
    // lie matters: an unaligned load pairs bytes differently and would read another number.)
    let t = trace();
    let (st, _) = steps_of(t, opcodes::MSTORE)[0];
    let (ld, _) = steps_of(t, opcodes::MLOAD)[0];
    let mut s = shard_of_all();
    let rs = access_row(&s, st, |m| m.is_store);
    let rl = access_row(&s, ld, |m| m.is_load);
    let ctx = mem_row(&s, rs).ctx.as_canonical_u32();
    let rb = bound_row(&s, ctx, 0);
    assert_eq!(mem_row(&s, rs).word, F::ZERO);
    assert_eq!(mem_row(&s, rl).ts_a, mem_row(&s, rs).ts);
    assert_eq!(mem_row(&s, rb).ts_a, mem_row(&s, rl).ts);
    let shift = |b: &mut [F; WORD_BYTES]| {
        b[31] += F::from_u32(256);
        b[30] -= F::ONE;
    };
    recount(&mut s, rs, -1);
    let m = mem_row_mut(&mut s, rs);
    shift(&mut m.value);
    shift(&mut m.new_a);
    recount(&mut s, rs, 1);
    let m = mem_row_mut(&mut s, rl);
    shift(&mut m.value);
    shift(&mut m.old_a);
    shift(&mut m.new_a);
    shift(&mut mem_row_mut(&mut s, rb).old_a);
    rejected(&s, "a stored byte of 0x12f", Why::Lookup);
}

/// A chunk row of the CALLDATACOPY at 0x305 (40 bytes) for a word outside its area, writing
/// `word(0x55)` over the word's token of timestamp `ts_a` (content `old`).
fn stray_chunk(s: &mut Shard<F>, copy: usize, word: u32, old: [F; WORD_BYTES], ts_a: F) -> usize {
    let (start, end) = (0x305u32, 0x305 + 40);
    let r = free_row(s);
    let ctx = mem_row(s, access_row(s, copy, |m| m.is_chunk)).ctx;
    let m = mem_row_mut(s, r);
    let f = F::from_u32;
    m.is_chunk = F::ONE;
    m.ctx = ctx;
    m.word = f(word);
    (m.word_lo, m.word_hi) = split16(f(word));
    m.ts = f(copy as u32 + 1);
    m.shift[0] = F::ONE;
    m.old_a = old;
    m.new_a = word_f(0x55);
    m.ts_a = ts_a;
    (m.da_lo, m.da_hi) = split16(m.ts - ts_a - F::ONE);
    // The area starts before the word and ends after it: the differences are checked below
    // 2^30 (one of them wraps the field here).
    m.value[WORD_BYTES - 1] = F::ONE;
    m.start = f(start);
    m.end = f(end);
    m.start_before = F::ONE;
    m.end_after = F::ONE;
    let base = f(word * WORD_BYTES as u32);
    (m.db_lo, m.db_hi) = split16(base - f(start));
    (m.de_lo, m.de_hi) = split16(f(end) - base - f(WORD_BYTES as u32));
    recount(s, r, 1);
    cpu_row(s, copy).wr_mult += F::ONE;
    r
}

fn word_f(seed: u8) -> [F; WORD_BYTES] {
    word(seed).map(F::from_u8)
}

#[test]
fn a_trusted_write_outside_its_area_is_rejected_by_its_range() {
    let t = trace();
    let (copy, _) = steps_of(t, opcodes::CALLDATACOPY)[0];
    let base = shard_of_all();
    let ctx = mem_row(&base, access_row(&base, copy, |m| m.is_chunk))
        .ctx
        .as_canonical_u32();
    // Before the area: the copy also overwrites word 0 (stored and loaded before, not touched
    // after: its final row takes the new content). `32 word - start` wraps.
    let mut s = base.clone();
    let rb = bound_row(&s, ctx, 0);
    let (old, ts_a) = (mem_row(&s, rb).old_a, mem_row(&s, rb).ts_a);
    stray_chunk(&mut s, copy, 0, old, ts_a);
    let m = mem_row_mut(&mut s, rb);
    m.old_a = word_f(0x55);
    m.ts_a = F::from_u32(copy as u32 + 1);
    rejected(&s, "a trusted write before its area", Why::Lookup);
    // After the area: the copy also writes word 0x500 / 32 (zero until MCOPY overwrites it
    // whole, which now takes the stray write's token). `end - 32 word - 32` wraps.
    let (mcopy, _) = steps_of(t, opcodes::MCOPY)[0];
    let mut s = base;
    let wd = 0x500 / WORD_BYTES as u32;
    let rm = (0..mem_rows(&s))
        .find(|&r| {
            let m = mem_row(&s, r);
            m.is_chunk == F::ONE
                && m.ts == F::from_u32(mcopy as u32 + 1)
                && m.word == F::from_u32(wd)
        })
        .expect("MCOPY's chunk of the word");
    assert_eq!(mem_row(&s, rm).ts_a, F::ZERO);
    stray_chunk(&mut s, copy, wd, [F::ZERO; WORD_BYTES], F::ZERO);
    recount(&mut s, rm, -1);
    let m = mem_row_mut(&mut s, rm);
    m.old_a = word_f(0x55);
    m.ts_a = F::from_u32(copy as u32 + 1);
    (m.da_lo, m.da_hi) = split16(m.ts - m.ts_a - F::ONE);
    recount(&mut s, rm, 1);
    rejected(&s, "a trusted write after its area", Why::Lookup);
}

#[test]
fn a_callee_returning_another_memory_size_is_rejected() {
    // The driver's memory is 34 words when it calls (the output area ends at 0x430). Its
    // resumption claims 35, and the steps up to MCOPY (which grows memory to 42 words by a
    // trusted amount, now 7) carry 35 consistently: the two MLOADs between agree with the
    // memory chip (no expansion, gas 3). Only the resume token, which carries the caller's
    // size across the call, disagrees.
    let t = trace();
    let (call, _) = steps_of(t, opcodes::CALL)[0];
    let (mcopy, _) = steps_of(t, opcodes::MCOPY)[0];
    let resume = (call + 1..t.steps.len())
        .find(|&i| t.steps[i].depth == 1)
        .unwrap();
    let mut s = shard_of_all();
    assert_eq!(cpu_row(&mut s, resume).resume, F::ONE);
    assert_eq!(cpu_row(&mut s, resume).mw, F::from_u32(34));
    for j in resume..=mcopy {
        if t.steps[j].depth != 1 {
            continue;
        }
        let c = cpu_row(&mut s, j);
        c.mw += F::ONE;
        if j < mcopy {
            c.mw_next += F::ONE;
        } else {
            let old = c.mwg_lo.as_canonical_u32();
            c.mwg_lo -= F::ONE;
            u16_lookups(&mut s, old, -1);
            u16_lookups(&mut s, old - 1, 1);
        }
        if t.steps[j].opcode != opcodes::MLOAD {
            continue;
        }
        let r = access_row(&s, j, |m| m.is_load);
        recount(&mut s, r, -1);
        let m = mem_row_mut(&mut s, r);
        assert_eq!(m.expand, F::ZERO);
        m.mw += F::ONE;
        m.mw_next += F::ONE;
        m.gap_lo += F::from_u32(32);
        assert!(m.gap_lo.as_canonical_u32() < 1 << 16);
        let x = m.mw.as_canonical_u32();
        for t in 0..2 {
            let (lo, hi) = (x & 0x3ff, x >> 10);
            m.sq_lo[t] = F::from_u32(lo);
            m.sq_hi[t] = F::from_u32(hi);
            m.sq_s[t] = F::from_u32(lo * lo / 512);
            m.sq_r[t] = F::from_u32(lo * lo % 512);
        }
        recount(&mut s, r, 1);
    }
    rejected(&s, "a resumption with another memory size", Why::Lookup);
}
