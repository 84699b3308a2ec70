//! BLOBHASH on a blob transaction revm executes: a contract reads the hashes at indices 0, 1,
//! the last, one past the end, 2^16, 2^255 and 2^256 - 1, and 0 and 2^16 again. The values revm
//! pushed are the known answers; the honest shard proves. Rejected: a hash changed on one of two
//! reads of the same index, a non-zero value for an index at or above 2^16 (a typed trace error,
//! and the AIR's own check on a shard edited past trace generation), and rows whose flag or key
//! lies about the index (each edit keeps every lookup balanced, so the constraint it targets is
//! what fails).

use core::borrow::{Borrow, BorrowMut};
use std::sync::OnceLock;

use p3_field::{PrimeCharacteristicRing, PrimeField32};
use revm::bytecode::Bytecode;
use revm::context::TxEnv;
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{Address, B256, Bytes, TxKind, U256, address};
use revm::state::AccountInfo;
use revm::{Context, InspectEvm, MainBuilder, MainContext};
use slotproof_executor::generate::asm::Asm;
use slotproof_executor::trace::{STEP_OK, SegmentKind, SubblockTrace, TraceRecorder};
use slotproof_prover::ProveError;

use crate::TraceError;
use crate::chips::call_context::columns::{CallContextCols, NUM_CALL_CONTEXT_COLS};
use crate::chips::cpu::columns::{CpuCols, NUM_CPU_COLS};
use crate::opcodes::{self, BLOBHASH};
use crate::shard::{self, Shard, generate_shards};
use crate::tests::{F, check};
use crate::word::limbs;

const READER: Address = address!("0xb10b000000000000000000000000000000000001");
const SENDER: Address = address!("0x5e4d000000000000000000000000000000000001");
const BLOBS: usize = 3;

/// The indices the reader reads, in order: the first, the second, the last, one past the end,
/// 2^16 (low limb 0: the same low limb as index 0), 2^255, 2^256 - 1, then 0 and 2^16 again.
fn indices() -> Vec<U256> {
    let one = U256::from(1u8);
    vec![
        U256::ZERO,
        one,
        U256::from(BLOBS - 1),
        U256::from(BLOBS),
        one << 16,
        one << 255,
        U256::MAX,
        U256::ZERO,
        one << 16,
    ]
}

/// Versioned hashes (version byte 1, as revm requires).
fn hashes() -> Vec<B256> {
    (0..BLOBS)
        .map(|i| {
            let mut h = [0x5au8 ^ (i as u8 * 0x31); 32];
            h[0] = 1;
            h[31] = i as u8;
            B256::from(h)
        })
        .collect()
}

fn reader() -> Bytes {
    let mut a = Asm::new();
    for i in indices() {
        a.push_word(i).op(BLOBHASH).op(opcodes::POP);
    }
    a.op(opcodes::STOP);
    a.assemble("blobhash reader").expect("assembles")
}

/// The trace of one blob transaction (type 3, [`BLOBS`] hashes) calling the reader, recorded
/// by the executor's recorder on revm (Prague).
fn trace() -> &'static SubblockTrace {
    static T: OnceLock<SubblockTrace> = OnceLock::new();
    T.get_or_init(|| {
        let mut db = CacheDB::new(EmptyDB::default());
        db.insert_account_info(
            READER,
            AccountInfo::from_bytecode(Bytecode::new_raw(reader())),
        );
        db.insert_account_info(
            SENDER,
            AccountInfo {
                balance: U256::from(10u64).pow(U256::from(20u8)),
                ..Default::default()
            },
        );
        let mut evm = Context::mainnet()
            .with_db(db)
            .modify_cfg_chained(|c| c.spec = SpecId::PRAGUE)
            .build_mainnet_with_inspector(TraceRecorder::new(true));
        let tx = TxEnv::builder()
            .tx_type(Some(3))
            .caller(SENDER)
            .kind(TxKind::Call(READER))
            .gas_limit(200_000)
            .gas_price(1)
            .gas_priority_fee(Some(0))
            .max_fee_per_blob_gas(1)
            .blob_hashes(hashes())
            .build()
            .expect("a blob transaction");
        evm.inspector.begin_segment(SegmentKind::Transaction, 0);
        let result = evm.inspect_tx(tx).expect("executes");
        assert!(result.result.is_success(), "{:?}", result.result);
        evm.inspector.end_segment(result.result.tx_gas_used());
        evm.inspector.take_trace()
    })
}

fn shard_of(t: &SubblockTrace) -> Result<Shard<F>, TraceError> {
    Ok(generate_shards::<F>(t, t.steps.len())?.remove(0))
}

/// The successful BLOBHASH steps, in order (one per index).
fn reads(t: &SubblockTrace) -> Vec<usize> {
    (0..t.steps.len())
        .filter(|&i| t.steps[i].opcode == BLOBHASH && t.steps[i].status == STEP_OK)
        .collect()
}

/// The item step `i` pushed.
fn pushed(t: &SubblockTrace, i: usize) -> U256 {
    let s = &t.steps[i];
    t.stack_words[s.stack_words as usize + s.reads as usize].into()
}

/// `t` with limb `limb` (of 8 u32 limbs) of the item step `i` pushes XORed with `x`, and so the
/// item the next step (its POP) takes: a lie carried through the stack.
fn lie_about_push(t: &SubblockTrace, i: usize, limb: usize, x: u32) -> SubblockTrace {
    let mut lying = t.clone();
    let out = lying.steps[i].stack_words as usize + lying.steps[i].reads as usize;
    lying.stack_words[out].0[limb] ^= x;
    assert_eq!(lying.steps[i + 1].opcode, opcodes::POP);
    let taken = lying.steps[i + 1].stack_words as usize;
    lying.stack_words[taken].0[limb] ^= x;
    lying
}

#[test]
fn blobhash_pushes_revms_hashes_and_the_honest_shard_proves() {
    let t = trace();
    let steps = reads(t);
    assert_eq!(steps.len(), indices().len());
    let hashes = hashes();
    for (&i, index) in steps.iter().zip(indices()) {
        let want = if index < U256::from(BLOBS) {
            U256::from_be_bytes(hashes[index.to::<usize>()].0)
        } else {
            U256::ZERO
        };
        assert_eq!(pushed(t, i), want, "BLOBHASH({index:#x})");
    }
    let s = shard_of(t).expect("generates");
    // One call-context row per index below 2^16 (0, 1, 2, 3); none for the others.
    let rows = blob_rows(&s);
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert_eq!(rows.iter().map(|r| r.1).collect::<Vec<_>>(), [2, 1, 1, 1]);
    check(&s).expect("the honest shard proves");
}

/// A hash changed on the second of two reads of index 0 (and in the POP that takes it) is
/// rejected; changed on the one read of index 1 it proves: the values are the prover's until
/// transactions are constrained, only their agreement is checked.
#[test]
fn blobhash_reads_of_one_index_agree() {
    let t = trace();
    let steps = reads(t);
    let lie = |k: usize| shard_of(&lie_about_push(t, steps[k], 0, 1)).expect("generates");
    assert!(check(&lie(7)).is_err(), "a second read of index 0 lied");
    check(&lie(1)).expect("a single read's value is trusted");
}

/// A non-zero value for an index at or above 2^16 is a typed trace error.
#[test]
fn blobhash_past_the_bound_pushing_a_value_is_a_trace_error() {
    let t = trace();
    for k in [4, 5, 6] {
        let i = reads(t)[k];
        match shard_of(&lie_about_push(t, i, 7, 1)) {
            Err(TraceError::BlobHashPastBound { step }) => assert_eq!(step, i),
            other => panic!(
                "read {k}: expected BlobHashPastBound, got {:?}",
                other.map(|_| ())
            ),
        }
    }
}

// ---- The AIR on shards edited after trace generation ----

fn cpu_row_mut(s: &mut Shard<F>, r: usize) -> &mut CpuCols<F> {
    s.traces[shard::CPU].values[r * NUM_CPU_COLS..(r + 1) * NUM_CPU_COLS].borrow_mut()
}

/// `(index, multiplicity, row)` of the shard's BLOBHASH call-context rows.
fn blob_rows(s: &Shard<F>) -> Vec<(u32, u32, usize)> {
    let t = &s.traces[shard::CALL_CONTEXT].values;
    t.chunks_exact(NUM_CALL_CONTEXT_COLS)
        .enumerate()
        .filter_map(|(r, row)| {
            let c: &CallContextCols<F> = row.borrow();
            (c.is_real == F::ONE && c.opcode == F::from_u8(BLOBHASH)).then(|| {
                let seq = c.seq_lo.as_canonical_u32() + (c.seq_hi.as_canonical_u32() << 16);
                (seq, c.mult.as_canonical_u32(), r)
            })
        })
        .collect()
}

/// Add `d` to the multiplicity of the BLOBHASH row of `index`.
fn add_mult(s: &mut Shard<F>, index: u32, d: i32) {
    let (_, _, r) = blob_rows(s).into_iter().find(|x| x.0 == index).unwrap();
    let t = &mut s.traces[shard::CALL_CONTEXT].values;
    let c: &mut CallContextCols<F> =
        t[r * NUM_CALL_CONTEXT_COLS..(r + 1) * NUM_CALL_CONTEXT_COLS].borrow_mut();
    c.mult = F::from_u32((c.mult.as_canonical_u32() as i32 + d) as u32);
}

/// Make CPU row `r` push `v` instead, and the POP after it take `v`; the u16 table's counts of
/// the pushed limbs follow, so every lookup stays balanced.
fn set_pushed(s: &mut Shard<F>, r: usize, v: U256) {
    let new = limbs(&v.into()).map(F::from_u16);
    let old = core::mem::replace(&mut cpu_row_mut(s, r).out, new);
    cpu_row_mut(s, r + 1).inp[0] = new;
    let u16s = &mut s.traces[shard::RANGE_U16];
    let w = u16s.width;
    for (o, n) in old.iter().zip(&new) {
        u16s.values[o.as_canonical_u32() as usize * w + 1] -= F::ONE;
        u16s.values[n.as_canonical_u32() as usize * w + 1] += F::ONE;
    }
}

fn assert_cpu_violation(s: &Shard<F>, r: usize, what: &str) {
    match check(s) {
        Err(ProveError::ConstraintViolation { instance, row, .. }) => {
            assert_eq!((instance, row), (shard::CPU, r), "{what}")
        }
        other => panic!("{what}: expected a CPU constraint violation, got {other:?}"),
    }
}

/// The honest shard and the CPU rows of its BLOBHASH steps (the shard starts at step 0).
fn honest() -> (Shard<F>, Vec<usize>) {
    let t = trace();
    (shard_of(t).expect("generates"), reads(t))
}

fn hash(i: usize) -> U256 {
    U256::from_be_bytes(hashes()[i].0)
}

#[test]
fn blobhash_rows_that_lie_about_the_index_are_rejected() {
    // Index 2^16 (flagged, pushing zero) pushes a non-zero value instead.
    let (mut s, r) = honest();
    set_pushed(&mut s, r[4], U256::from(1u8));
    assert_cpu_violation(&s, r[4], "a non-zero push past the bound");

    // Index 2^16 with its flag cleared reads index 0's row by its low limb (the aliasing the
    // flag prevents): it pushes hash 0 with a balanced lookup.
    let (mut s, r) = honest();
    set_pushed(&mut s, r[4], hash(0));
    let row = cpu_row_mut(&mut s, r[4]);
    (row.cond_nz, row.cond_inv) = (F::ZERO, F::ZERO);
    add_mult(&mut s, 0, 1);
    assert_cpu_violation(&s, r[4], "index 2^16 read as index 0");

    // The second read of index 0 flagged as past the bound: it pushes zero and reads no row.
    let (mut s, r) = honest();
    set_pushed(&mut s, r[7], U256::ZERO);
    cpu_row_mut(&mut s, r[7]).cond_nz = F::ONE;
    add_mult(&mut s, 0, -1);
    assert_cpu_violation(&s, r[7], "index 0 flagged past the bound");

    // The read of index 1 keyed as index 0: it pushes hash 0.
    let (mut s, r) = honest();
    set_pushed(&mut s, r[1], hash(0));
    cpu_row_mut(&mut s, r[1]).ctx_seq = F::ZERO;
    add_mult(&mut s, 0, 1);
    add_mult(&mut s, 1, -1);
    assert_cpu_violation(&s, r[1], "index 1 keyed as index 0");
}
