//! The push-immediate table on a program revm runs: PUSH1, PUSH2, PUSH31, PUSH32, a PUSH2
//! right after a PUSH1's data (whose data byte is 0x61, PUSH2's opcode) and a PUSH32 whose
//! immediate runs past the end of the code into its zero padding. The honest shard proves and
//! each site's row holds the immediate the program spells; a tampered byte, limb or
//! multiplicity, a row claiming a data byte as its PUSH opcode, a wrong immediate size, bytes
//! past the size, a padding row providing an immediate, a bytecode pair whose second byte is
//! not the next byte and a data byte of 256 or more (or counted as an opcode) are rejected.

use std::sync::OnceLock;

use core::borrow::{Borrow, BorrowMut};

use p3_field::{PrimeCharacteristicRing, PrimeField32};
use revm::primitives::{Address, Bytes, U256, address};
use slotproof_executor::generate::{BlockPlan, TxSpec};
use slotproof_executor::trace::SubblockTrace;
use slotproof_prover::ProveError;

use crate::chips::bytecode::columns::{BytecodeCols, NUM_BYTECODE_COLS};
use crate::chips::cpu::columns::{CpuCols, NUM_CPU_COLS};
use crate::chips::push_immediate::columns::{NUM_PUSH_IMMEDIATE_COLS, PushImmediateCols};
use crate::shard::{self, Shard};
use crate::tests::{F, check, prove_verify};

const PROG: Address = address!("0x5050000000000000000000000000000000000001");

/// The program's PUSH sites: (pc, n, the immediate's bytes as written, big-endian; a short one
/// ends the code).
fn sites() -> Vec<(u32, usize, Vec<u8>)> {
    vec![
        (0, 1, vec![0xab]),
        (3, 2, vec![0x12, 0x34]),
        (7, 31, (1..=31).collect()),
        (40, 32, (0xe0..=0xff).collect()),
        (74, 1, vec![0x61]),
        (76, 2, vec![0x5f, 0x7f]),
        (81, 32, vec![0xaa, 0xbb, 0xcc]),
    ]
}

/// PUSHn of each site then POP, the last PUSH32 cut short by the end of the code.
fn program() -> Vec<u8> {
    let mut code = Vec::new();
    let all = sites();
    for (k, (pc, n, imm)) in all.iter().enumerate() {
        assert_eq!(code.len(), *pc as usize);
        code.push(crate::opcodes::PUSH0 + *n as u8);
        code.extend_from_slice(imm);
        // The PUSH2 at 76 follows the PUSH1's data directly; their POPs come after both.
        match k {
            4 => {}
            5 => code.extend_from_slice(&[0x50, 0x50]),
            6 => {}
            _ => code.push(0x50),
        }
    }
    code
}

/// The immediate a site pushes: its bytes, zero-padded on the right to `n` (the code's end),
/// as 16 little-endian 16-bit limbs.
fn expected_limbs(n: usize, imm: &[u8]) -> [u32; 16] {
    let mut be = vec![0u8; 32 - n];
    be.extend_from_slice(imm);
    be.resize(32, 0);
    let v = U256::from_be_slice(&be);
    core::array::from_fn(|j| ((v >> (16 * j)) & U256::from(0xffffu32)).to::<u32>())
}

fn trace() -> &'static SubblockTrace {
    static T: OnceLock<SubblockTrace> = OnceLock::new();
    T.get_or_init(|| {
        let plan = BlockPlan {
            txs: vec![TxSpec::call(0, PROG, U256::ZERO, Bytes::new(), 100_000)],
            withdrawals: vec![],
            expected_failures: vec![],
        };
        crate::tests::one_subblock_trace(&[(PROG, Bytes::from(program()))], plan)
    })
}

fn base() -> Shard<F> {
    static S: OnceLock<Shard<F>> = OnceLock::new();
    S.get_or_init(|| {
        let t = trace();
        let n = t.steps.len();
        shard::generate_shards_in::<F>(t, shard::fixed_ranges(n, n))
            .unwrap()
            .remove(0)
    })
    .clone()
}

fn cpu_mut(s: &mut Shard<F>, r: usize) -> &mut CpuCols<F> {
    s.traces[shard::CPU].values[r * NUM_CPU_COLS..(r + 1) * NUM_CPU_COLS].borrow_mut()
}

/// The program's code id and the CPU row of its step at `pc`.
fn cpu_row_at(s: &Shard<F>, pc: u32) -> (u32, usize) {
    let t = trace();
    let r = s
        .steps
        .clone()
        .position(|i| {
            let st = &t.steps[i];
            Address::from(t.contexts[st.context as usize].code_address) == PROG && st.pc == pc
        })
        .expect("the program runs that pc");
    let c: &CpuCols<F> =
        s.traces[shard::CPU].values[r * NUM_CPU_COLS..(r + 1) * NUM_CPU_COLS].borrow();
    (c.code_id.as_canonical_u32(), r)
}

fn push_rows(s: &Shard<F>) -> usize {
    s.traces[shard::PUSH_IMMEDIATE].values.len() / NUM_PUSH_IMMEDIATE_COLS
}

fn push_mut(s: &mut Shard<F>, r: usize) -> &mut PushImmediateCols<F> {
    let w = NUM_PUSH_IMMEDIATE_COLS;
    s.traces[shard::PUSH_IMMEDIATE].values[r * w..(r + 1) * w].borrow_mut()
}

fn push_row(s: &Shard<F>, r: usize) -> PushImmediateCols<F> {
    let w = NUM_PUSH_IMMEDIATE_COLS;
    *<[F] as Borrow<PushImmediateCols<F>>>::borrow(
        &s.traces[shard::PUSH_IMMEDIATE].values[r * w..(r + 1) * w],
    )
}

/// The push-immediate row of the program's site at `pc`.
fn site_row(s: &Shard<F>, pc: u32) -> usize {
    let (id, _) = cpu_row_at(s, pc);
    (0..push_rows(s))
        .find(|&r| {
            let p = push_row(s, r);
            p.mask[0] == F::ONE && p.code_id == F::from_u32(id) && p.pc == F::from_u32(pc)
        })
        .expect("the site's row")
}

/// A padding row of the push-immediate table.
fn padding_row(s: &Shard<F>) -> usize {
    (0..push_rows(s))
        .find(|&r| push_row(s, r).mask[0] == F::ZERO)
        .expect("a padding row")
}

fn bytecode_mut(s: &mut Shard<F>, id: u32, pc: u32) -> &mut BytecodeCols<F> {
    let w = NUM_BYTECODE_COLS;
    let rows = s.traces[shard::BYTECODE].values.len() / w;
    let r = (0..rows)
        .find(|&r| {
            let c: &BytecodeCols<F> = s.traces[shard::BYTECODE].values[r * w..(r + 1) * w].borrow();
            c.code_id == F::from_u32(id) && c.pc == F::from_u32(pc)
        })
        .expect("the byte's row");
    s.traces[shard::BYTECODE].values[r * w..(r + 1) * w].borrow_mut()
}

/// How a mutation must be caught: a violated constraint of this instance, or unbalanced
/// lookups.
enum Why {
    Constraint(usize),
    Imbalance,
}

fn rejected(s: &Shard<F>, what: &str, why: Why) {
    match (check(s), why) {
        (Err(ProveError::ConstraintViolation { instance, .. }), Why::Constraint(want))
            if instance == want => {}
        (Err(ProveError::LookupImbalance(_)), Why::Imbalance) => {}
        (other, _) => panic!("{what}: not rejected as expected: {other:?}"),
    }
}

/// Make the CPU push `limb` as limb `j` at the site at `pc` (followed by the POP taking it),
/// the range table counting it: the stack and range lookups stay balanced.
fn agree(s: &mut Shard<F>, pc: u32, j: usize, limb: u32) {
    let (_, r) = cpu_row_at(s, pc);
    let old = cpu_mut(s, r).out[j].as_canonical_u32();
    cpu_mut(s, r).out[j] = F::from_u32(limb);
    let pop = cpu_mut(s, r + 1);
    assert_eq!(pop.op.opcode, F::from_u8(crate::opcodes::POP));
    pop.inp[0][j] = F::from_u32(limb);
    // The u16 table's rows: value, multiplicity, then its byte-pair columns.
    use crate::chips::range::columns::{NUM_BYTE_PAIR_COLS, NUM_RANGE_COLS};
    let w = NUM_RANGE_COLS + NUM_BYTE_PAIR_COLS;
    let u16s = &mut s.traces[shard::RANGE_U16].values;
    u16s[old as usize * w + 1] -= F::ONE;
    u16s[limb as usize * w + 1] += F::ONE;
}

fn limb(s: &Shard<F>, pc: u32, j: usize) -> u32 {
    let (_, r) = cpu_row_at(s, pc);
    cpu_mut(&mut s.clone(), r).out[j].as_canonical_u32()
}

#[test]
fn push_immediates_prove_with_the_programs_values() {
    let s = base();
    prove_verify(&s);
    for (pc, n, imm) in sites() {
        let p = push_row(&s, site_row(&s, pc));
        let limbs: [u32; 16] = core::array::from_fn(|j| {
            p.bytes[2 * j].as_canonical_u32() + 256 * p.bytes[2 * j + 1].as_canonical_u32()
        });
        assert_eq!(limbs, expected_limbs(n, &imm), "PUSH{n} at {pc}");
        let mask = p.mask.iter().filter(|&&m| m == F::ONE).count();
        assert_eq!(mask, n, "PUSH{n} at {pc}: its size");
        assert_eq!(p.mult, F::ONE, "PUSH{n} at {pc}: run once");
        // The CPU pushed the same value (revm's).
        let (_, r) = cpu_row_at(&s, pc);
        let out: [u32; 16] =
            core::array::from_fn(|j| cpu_mut(&mut s.clone(), r).out[j].as_canonical_u32());
        assert_eq!(out, limbs, "PUSH{n} at {pc}: the CPU's value");
    }
}

/// The CPU and the table agree on another immediate byte: the table's read of the code does
/// not balance.
#[test]
fn a_tampered_immediate_byte_is_rejected() {
    let mut s = base();
    let r = site_row(&s, 40);
    push_mut(&mut s, r).bytes[5] += F::ONE;
    let l = limb(&s, 40, 2) + 256;
    agree(&mut s, 40, 2, l);
    rejected(&s, "a tampered byte of PUSH32", Why::Imbalance);
}

/// A CPU PUSH value unlike the table's immediate, and a table limb unlike the code.
#[test]
fn a_push_value_unlike_the_immediate_is_rejected() {
    let mut s = base();
    let l = limb(&s, 3, 0) + 1;
    agree(&mut s, 3, 0, l);
    rejected(&s, "the CPU's PUSH2 value", Why::Imbalance);
    let mut s = base();
    let r = site_row(&s, 7);
    push_mut(&mut s, r).bytes[30] += F::ONE;
    rejected(&s, "a limb of PUSH31", Why::Imbalance);
}

#[test]
fn a_tampered_multiplicity_is_rejected() {
    let mut s = base();
    let r = site_row(&s, 0);
    push_mut(&mut s, r).mult += F::ONE;
    rejected(&s, "a site's multiplicity", Why::Imbalance);
}

/// A row at pc 75, the PUSH1's data byte 0x61, claiming it as PUSH2 (its reads of the code
/// balanced): the bytecode bus has no entry for a data byte, and the bytecode table cannot
/// offer one.
#[test]
fn a_row_claiming_a_data_byte_as_its_opcode_is_rejected() {
    let base = base();
    let (id, _) = cpu_row_at(&base, 74);
    let claim = |s: &mut Shard<F>| {
        let r = padding_row(s);
        let p = push_mut(s, r);
        p.code_id = F::from_u32(id);
        p.pc = F::from_u32(75);
        p.mask[0] = F::ONE;
        p.mask[1] = F::ONE;
        // Code bytes 76, 77 (0x61, 0x5f), little-endian.
        p.bytes[0] = F::from_u8(0x5f);
        p.bytes[1] = F::from_u8(0x61);
        bytecode_mut(s, id, 76).mult_read += F::ONE;
    };
    let mut s = base.clone();
    claim(&mut s);
    rejected(&s, "PUSH2 at a data byte", Why::Imbalance);
    // The bytecode table offering the data byte on the bytecode bus.
    let mut s = base;
    claim(&mut s);
    bytecode_mut(&mut s, id, 75).mult_exec += F::ONE;
    rejected(
        &s,
        "an executable data byte",
        Why::Constraint(shard::BYTECODE),
    );
}

/// The PUSH1 at 0 claimed as a PUSH2 (its pair read moved to the real bytes 1 and 2, the CPU
/// agreeing): only the opcode lookup catches it.
#[test]
fn a_wrong_immediate_size_is_rejected() {
    let mut s = base();
    let (id, _) = cpu_row_at(&s, 0);
    let r = site_row(&s, 0);
    let p = push_mut(&mut s, r);
    p.mask[1] = F::ONE;
    p.bytes[0] = F::from_u8(0x50);
    p.bytes[1] = F::from_u8(0xab);
    bytecode_mut(&mut s, id, 0).mult_read -= F::ONE;
    bytecode_mut(&mut s, id, 1).mult_read += F::ONE;
    agree(&mut s, 0, 0, 0xab50);
    rejected(&s, "PUSH1 read as PUSH2", Why::Imbalance);
}

/// Bytes past the immediate and masks that are not `1^n 0^(32-n)`.
#[test]
fn bytes_past_the_size_and_bad_masks_are_rejected() {
    // A byte past a PUSH2's immediate, the CPU agreeing (no read covers it).
    let mut s = base();
    let r = site_row(&s, 3);
    push_mut(&mut s, r).bytes[2] = F::from_u8(9);
    agree(&mut s, 3, 1, 9);
    let pi = Why::Constraint(shard::PUSH_IMMEDIATE);
    rejected(&s, "a byte past PUSH2's immediate", pi);
    // A mask that is not boolean, and one with a hole.
    let mut s = base();
    let r = site_row(&s, 7);
    push_mut(&mut s, r).mask[31] = F::TWO;
    rejected(
        &s,
        "a mask entry of 2",
        Why::Constraint(shard::PUSH_IMMEDIATE),
    );
    let mut s = base();
    let r = site_row(&s, 7);
    let p = push_mut(&mut s, r);
    p.mask[29] = F::ZERO;
    p.mask[31] = F::ONE;
    rejected(
        &s,
        "a mask with a hole",
        Why::Constraint(shard::PUSH_IMMEDIATE),
    );
}

/// A padding row (mask 0, no reads: its bytes are 0) providing the PUSH1 at 0 with a zero
/// immediate, the site's row providing nothing and the CPU pushing 0.
#[test]
fn a_padding_row_providing_an_immediate_is_rejected() {
    let mut s = base();
    let (id, _) = cpu_row_at(&s, 0);
    let r = site_row(&s, 0);
    push_mut(&mut s, r).mult = F::ZERO;
    let pad = padding_row(&s);
    let p = push_mut(&mut s, pad);
    p.code_id = F::from_u32(id);
    p.pc = F::ZERO;
    p.mult = F::ONE;
    agree(&mut s, 0, 0, 0);
    let pi = Why::Constraint(shard::PUSH_IMMEDIATE);
    rejected(&s, "a padding row's immediate", pi);
}

/// The bytecode table pairing a byte with another than the next one (the PUSH2 at 3 reads
/// bytes 4 and 5 as one pair; table, row and CPU agree on 0x35), and a code's last padded byte
/// paired with a non-zero byte.
#[test]
fn a_pair_that_is_not_the_next_byte_is_rejected() {
    let mut s = base();
    let (id, _) = cpu_row_at(&s, 3);
    let r = site_row(&s, 3);
    push_mut(&mut s, r).bytes[0] += F::ONE;
    bytecode_mut(&mut s, id, 4).next_byte += F::ONE;
    agree(&mut s, 3, 0, 0x1235);
    let bc = Why::Constraint(shard::BYTECODE);
    rejected(&s, "a pair with another second byte", bc);
    let mut s = base();
    let last = program().len() as u32 + crate::chips::bytecode::trace::CODE_PADDING as u32 - 1;
    bytecode_mut(&mut s, id, last).next_byte = F::from_u8(7);
    rejected(
        &s,
        "a last byte paired with 7",
        Why::Constraint(shard::BYTECODE),
    );
}

fn opcode_table_mut(
    s: &mut Shard<F>,
    k: u8,
) -> &mut crate::chips::opcode_table::columns::OpcodeTableCols<F> {
    use crate::chips::opcode_table::columns::NUM_OPCODE_TABLE_COLS as W;
    let k = k as usize;
    s.traces[shard::OPCODE_TABLE].values[k * W..(k + 1) * W].borrow_mut()
}

/// PUSH data bytes are range-checked by their opcode-table lookup, the data entry of their
/// value. The PUSH32 at 40 reads bytes 71 and 72 (0xfe, 0xff) as its lowest limb; bytes 0xfd
/// and 0x1ff give the same limb. With the bytecode rows, the pair read and the opcode table's
/// other data counts agreeing, only the missing data entry for 0x1ff catches it.
#[test]
fn a_push_data_byte_of_256_or_more_is_rejected() {
    let mut s = base();
    let (id, _) = cpu_row_at(&s, 40);
    assert_eq!(program()[71..73], [0xfe, 0xff]);
    bytecode_mut(&mut s, id, 70).next_byte -= F::ONE;
    let b = bytecode_mut(&mut s, id, 71);
    b.byte -= F::ONE;
    b.next_byte += F::from_u32(256);
    bytecode_mut(&mut s, id, 72).byte += F::from_u32(256);
    let r = site_row(&s, 40);
    let p = push_mut(&mut s, r);
    p.bytes[0] += F::from_u32(256);
    p.bytes[1] -= F::ONE;
    opcode_table_mut(&mut s, 0xfe).mult_data -= F::ONE;
    opcode_table_mut(&mut s, 0xfd).mult_data += F::ONE;
    opcode_table_mut(&mut s, 0xff).mult_data -= F::ONE;
    rejected(&s, "a data byte of 0x1ff", Why::Imbalance);
}

/// A data byte's lookup counted on its value's opcode entry instead of its data entry: the key
/// carries whether the byte is data.
#[test]
fn a_data_byte_counted_as_an_opcode_is_rejected() {
    let mut s = base();
    // Byte 75, 0x61, is the PUSH1 at 74's data.
    let t = opcode_table_mut(&mut s, 0x61);
    t.mult_data -= F::ONE;
    t.mult_code += F::ONE;
    rejected(&s, "a data byte on an opcode entry", Why::Imbalance);
}

/// Push-immediate rows (distinct PUSH1..32 sites) of the fixtures' shards
/// (`tests_shapes::for_each_fixture_shard`), for the shape menu.
#[test]
#[ignore = "prints the shards' push-immediate heights"]
fn push_heights_on_fixtures() {
    crate::tests_shapes::for_each_fixture_shard(|p, k, s| {
        let used = (0..push_rows(s))
            .filter(|&r| push_row(s, r).mask[0] == F::ONE)
            .count();
        let n = &s.natural_log_heights;
        println!(
            "{p} subblock {k} steps {:?} ({}): push rows {used} (2^{}), bytecode 2^{}, cpu 2^{}, menu shape {:?}",
            s.steps,
            s.steps.len(),
            n[shard::PUSH_IMMEDIATE],
            n[shard::BYTECODE],
            n[shard::CPU],
            crate::shape::smallest_fitting(n)
        );
    });
}
