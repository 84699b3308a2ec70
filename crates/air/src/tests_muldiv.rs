//! The multiplication chip: known answers from revm's interpreter over random and edge operands
//! (every honest row satisfies the constraints, every row with a wrong result fails them), and
//! mutations of a proven shard's multiplication trace.

use core::borrow::BorrowMut;

use p3_air::check_all_constraints;
use p3_field::PrimeCharacteristicRing;
use p3_matrix::dense::RowMajorMatrix;
use revm::bytecode::Bytecode;
use revm::interpreter::host::DummyHost;
use revm::interpreter::interpreter::{EthInterpreter, ExtBytecode, InputsImpl, SharedMemory};
use revm::interpreter::{Interpreter, gas_table, instruction_table};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{Bytes, U256};
use slotproof_executor::trace::Word;

use crate::EvmAir;
use crate::chips::alu::trace::AluOp;
use crate::chips::muldiv::columns::{F_EXP, MulDivCols, NUM_MULDIV_COLS};
use crate::chips::muldiv::{MulDivAir, trace};
use crate::opcodes;
use crate::shard;
use crate::tests::{F, check};

/// Cases per opcode family.
const CASES: usize = 10_000;

/// Results of `op a b` (a on top; ADDMOD: `a b n`) for each case, computed by revm's
/// interpreter: the cases run as one program of `[PUSH32 n] PUSH32 b PUSH32 a op` per case (1000
/// per run, the stack limit).
fn revm_results(op: u8, pairs: &[(U256, U256)], moduli: &[U256]) -> Vec<U256> {
    let mut out = Vec::with_capacity(pairs.len());
    for (ci, chunk) in pairs.chunks(1000).enumerate() {
        let mut code = Vec::with_capacity(chunk.len() * 100 + 1);
        for (i, (a, b)) in chunk.iter().enumerate() {
            if op == opcodes::ADDMOD || op == opcodes::MULMOD {
                code.push(opcodes::PUSH0 + 32);
                code.extend_from_slice(&moduli[ci * 1000 + i].to_be_bytes::<32>());
            }
            for v in [b, a] {
                code.push(opcodes::PUSH0 + 32);
                code.extend_from_slice(&v.to_be_bytes::<32>());
            }
            code.push(op);
        }
        code.push(opcodes::STOP);
        let mut interp = Interpreter::<EthInterpreter>::new(
            SharedMemory::new(),
            ExtBytecode::new(Bytecode::new_raw(Bytes::from(code))),
            InputsImpl::default(),
            false,
            SpecId::PRAGUE,
            u64::MAX,
        );
        let table = instruction_table::<EthInterpreter, DummyHost>();
        interp.run_plain(&table, &gas_table(), &mut DummyHost::new(SpecId::PRAGUE));
        assert_eq!(interp.stack.len(), chunk.len(), "revm ran every case");
        out.extend_from_slice(interp.stack.data());
    }
    out
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// A random word of a random size (so that small quotients, short operands and carries of
/// every length occur), or one of the edge values.
fn operand(state: &mut u64, shift: bool) -> U256 {
    let edges = [
        U256::ZERO,
        U256::from(1u8),
        U256::from(2u8),
        U256::from(1u8) << 255,
        U256::MAX,
        U256::MAX - U256::from(1u8),
        (U256::from(1u8) << 255) - U256::from(1u8),
        U256::from(1u8) << 128,
        U256::MAX - U256::from(6u8),
        U256::from(7u8),
    ];
    let r = xorshift(state);
    if shift && r.is_multiple_of(3) {
        // Shift amounts: every small one, the edges 0/255/256/1000 and huge ones.
        let small = [0u64, 1, 15, 16, 17, 128, 255, 256, 257, 1000, 65535, 65536];
        return match r % 7 {
            0 => U256::from(small[(r >> 8) as usize % small.len()]),
            1 => U256::from(1u8) << 200,
            // Byte indices: 0..31 and just past.
            2 | 3 => U256::from((r >> 8) % 34),
            _ => U256::from((r >> 8) % 256),
        };
    }
    if r.is_multiple_of(5) {
        return edges[(r >> 8) as usize % edges.len()];
    }
    let limbs = [
        xorshift(state),
        xorshift(state),
        xorshift(state),
        xorshift(state),
    ];
    U256::from_limbs(limbs) >> ((r >> 8) % 256) as usize
}

/// The chip's rows for `op a b [n] = result`.
fn rows(op: u8, pairs: &[(U256, U256)], moduli: &[U256], results: &[U256]) -> RowMajorMatrix<F> {
    let ops: Vec<AluOp> = pairs
        .iter()
        .zip(results)
        .enumerate()
        .map(|(i, (&(a, b), &c))| AluOp {
            opcode: op,
            a: Word::from(a),
            b: Word::from(b),
            n: Word::from(moduli[i]),
            c: Word::from(c),
        })
        .collect();
    trace::generate::<F>(&ops).0
}

/// Runs `f` on a debug builder over row `row` of the chip's matrix `m`, with the selectors
/// (first, last, transition; the next row wrapping) Plonky3's `check_all_constraints` gives it.
fn on_row<R>(
    m: &RowMajorMatrix<F>,
    row: usize,
    f: impl FnOnce(&mut p3_air::DebugConstraintBuilder<'_, F>) -> R,
) -> R {
    use p3_air::DebugConstraintBuilder;
    use p3_matrix::Matrix;
    use p3_matrix::dense::RowMajorMatrixView;
    use p3_matrix::stack::VerticalPair;

    let (h, w) = (m.height(), NUM_MULDIV_COLS);
    let local = &m.values[row * w..(row + 1) * w];
    let next = &m.values[(row + 1) % h * w..][..w];
    let main = VerticalPair::new(
        RowMajorMatrixView::new_row(local),
        RowMajorMatrixView::new_row(next),
    );
    let none = VerticalPair::new(
        RowMajorMatrixView::new(&[], 0),
        RowMajorMatrixView::new(&[], 0),
    );
    let periodic = p3_air::BaseAir::<F>::periodic_values(&EvmAir::MulDiv(MulDivAir), row);
    let mut b = DebugConstraintBuilder::new(
        row,
        main,
        none,
        &[],
        F::from_bool(row == 0),
        F::from_bool(row == h - 1),
        F::from_bool(row != h - 1),
        &periodic,
    );
    f(&mut b)
}

/// Rows that violate a constraint: what `p3_air::check_all_constraints` reports, with the rows
/// evaluated in parallel (the known-answer matrices have tens of thousands of rows, and
/// Plonky3's check walks them one by one). The chip has no public values.
fn failing_rows(m: &RowMajorMatrix<F>) -> std::collections::BTreeSet<usize> {
    use p3_matrix::Matrix;
    use rayon::prelude::*;

    let air = EvmAir::MulDiv(MulDivAir);
    assert!(
        p3_air::BaseAir::<F>::preprocessed_trace(&air).is_none(),
        "the chip has no preprocessed columns"
    );
    (0..m.height())
        .into_par_iter()
        .filter(|&row| {
            on_row(m, row, |b| {
                p3_air::Air::eval(&air, b);
                !b.failures().is_empty()
            })
        })
        .collect()
}

/// The parallel check agrees with Plonky3's sequential one, row for row, on honest and lying
/// rows (so the known-answer tests mean what they would with `check_all_constraints`).
#[test]
fn parallel_row_check_matches_plonky3() {
    let mut state = 11u64;
    let pairs: Vec<(U256, U256)> = (0..200)
        .map(|_| (operand(&mut state, false), operand(&mut state, false)))
        .collect();
    let moduli: Vec<U256> = (0..pairs.len())
        .map(|_| operand(&mut state, false))
        .collect();
    for op in [opcodes::MUL, opcodes::MULMOD, opcodes::SDIV] {
        let results = revm_results(op, &pairs, &moduli);
        let wrong: Vec<U256> = results
            .iter()
            .enumerate()
            .map(|(i, r)| if i % 3 == 0 { *r + U256::from(1u8) } else { *r })
            .collect();
        for (lying, m) in [
            (false, rows(op, &pairs, &moduli, &results)),
            (true, rows(op, &pairs, &moduli, &wrong)),
        ] {
            let sequential: std::collections::BTreeSet<usize> =
                check_all_constraints(&EvmAir::MulDiv(MulDivAir), &m, &[], None)
                    .failures
                    .iter()
                    .map(|f| f.row)
                    .collect();
            assert_eq!(sequential.is_empty(), !lying, "{}", opcodes::info(op).name);
            assert_eq!(failing_rows(&m), sequential, "{}", opcodes::info(op).name);
        }
    }
}

fn known_answers(family: &[u8], seed: u64) {
    let mut state = seed;
    for &op in family {
        let shift = [
            opcodes::SHL,
            opcodes::SHR,
            opcodes::SAR,
            opcodes::BYTE,
            opcodes::SIGNEXTEND,
        ]
        .contains(&op);
        let pairs: Vec<(U256, U256)> = (0..CASES / family.len())
            .map(|_| (operand(&mut state, shift), operand(&mut state, false)))
            .collect();
        let moduli: Vec<U256> = (0..pairs.len())
            .map(|_| {
                if op == opcodes::ADDMOD || op == opcodes::MULMOD {
                    operand(&mut state, false)
                } else {
                    U256::ZERO
                }
            })
            .collect();
        let results = revm_results(op, &pairs, &moduli);
        let honest = rows(op, &pairs, &moduli, &results);
        assert!(
            failing_rows(&honest).is_empty(),
            "{}: revm's results violate the constraints",
            opcodes::info(op).name
        );
        // Every wrong result (revm's plus one bit somewhere) is rejected on its own row.
        let wrong: Vec<U256> = results
            .iter()
            .enumerate()
            .map(|(i, r)| *r ^ (U256::from(1u8) << (i * 7 % 256)))
            .collect();
        let lying = rows(op, &pairs, &moduli, &wrong);
        assert_eq!(
            failing_rows(&lying).len(),
            pairs.len(),
            "{}: a wrong result passed",
            opcodes::info(op).name
        );
    }
}

#[test]
fn mul_matches_revm() {
    known_answers(&[opcodes::MUL], 1);
}

#[test]
fn div_mod_match_revm() {
    known_answers(&[opcodes::DIV, opcodes::MOD], 2);
}

#[test]
fn shl_shr_match_revm() {
    known_answers(&[opcodes::SHL, opcodes::SHR], 3);
}

#[test]
fn sdiv_smod_match_revm() {
    known_answers(&[opcodes::SDIV, opcodes::SMOD], 4);
}

#[test]
fn byte_signextend_match_revm() {
    known_answers(&[opcodes::BYTE, opcodes::SIGNEXTEND], 6);
}

#[test]
fn addmod_matches_revm() {
    known_answers(&[opcodes::ADDMOD], 7);
}

/// MULMOD takes three rows; without the buses each is checked on its own, and a wrong result
/// fails on the third (its remainder).
#[test]
fn mulmod_matches_revm() {
    known_answers(&[opcodes::MULMOD], 8);
}

#[test]
fn sar_matches_revm() {
    known_answers(&[opcodes::SAR], 5);
}

/// A shard whose multiplication chip has one row of each opcode, the last values chosen so
/// that carries are non-zero.
fn muldiv_shard() -> shard::Shard<F> {
    let big = U256::MAX - U256::from(12345u32);
    let mut code = Vec::new();
    for (op, a, b) in [
        (opcodes::MUL, big, big),
        (opcodes::DIV, big, U256::from(1u64 << 40) + U256::from(7u8)),
        (opcodes::MOD, big, U256::from(1u64 << 40) + U256::from(7u8)),
        (opcodes::DIV, big, U256::ZERO),
        (opcodes::SHL, U256::from(77u8), big),
        (opcodes::SHR, U256::from(77u8), big),
        (opcodes::SHR, U256::from(300u16), big),
        (opcodes::SDIV, U256::from(1u8) << 255, U256::MAX),
        (opcodes::SMOD, big, U256::from(1000u16)),
        (opcodes::SAR, U256::from(77u8), big),
        (opcodes::BYTE, U256::from(5u8), big),
        (
            opcodes::SIGNEXTEND,
            U256::from(3u8),
            U256::from(0x8000_0000u32),
        ),
    ] {
        for v in [b, a] {
            code.push(opcodes::PUSH0 + 32);
            code.extend_from_slice(&v.to_be_bytes::<32>());
        }
        code.extend([op, opcodes::POP]);
    }
    // ADDMOD with a sum above 2^256.
    for v in [U256::from(1000u16), big, big] {
        code.push(opcodes::PUSH0 + 32);
        code.extend_from_slice(&v.to_be_bytes::<32>());
    }
    code.extend([opcodes::ADDMOD, opcodes::POP]);
    // MULMOD with a product above 2^256 (rows 13..16), then by a zero modulus (rows 16..19).
    for n in [U256::from(1u64 << 40) + U256::from(7u8), U256::ZERO] {
        for v in [n, big, big - U256::from(99u8)] {
            code.push(opcodes::PUSH0 + 32);
            code.extend_from_slice(&v.to_be_bytes::<32>());
        }
        code.extend([opcodes::MULMOD, opcodes::POP]);
    }
    code.push(opcodes::STOP);
    let t = crate::tests_synthetic::run_program(&code);
    shard::generate_shards::<F>(&t, 1 << 16).unwrap().remove(0)
}

fn row_mut(s: &mut shard::Shard<F>, r: usize) -> &mut MulDivCols<F> {
    s.traces[shard::MULDIV].values[r * NUM_MULDIV_COLS..(r + 1) * NUM_MULDIV_COLS].borrow_mut()
}

#[test]
fn muldiv_shard_proves_and_mutations_are_rejected() {
    let honest = muldiv_shard();
    check(&honest).expect("the honest shard proves");
    type Mutation = (&'static str, usize, fn(&mut MulDivCols<F>));
    let mutations: [Mutation; 24] = [
        ("MUL result limb", 0, |r| r.c[3] += F::ONE),
        ("MUL low limb with the result", 0, |r| {
            r.c[0] += F::ONE;
            r.l[0] += F::ONE;
        }),
        ("MUL carry", 0, |r| r.carry_lo[5] += F::ONE),
        // The same carry value, written with a low part past a byte: the pair lookup fails.
        ("MUL carry outside its byte pair", 0, |r| {
            r.carry_lo[15] += r.carry_hi[15] * F::from_u32(64);
            r.carry_hi[15] = F::ZERO;
        }),
        ("DIV quotient byte", 1, |r| r.x[0] += F::ONE),
        ("MOD remainder limb", 2, |r| r.z[0] += F::ONE),
        // The remainder's highest differing limb moved one down (or wrapped to the top).
        ("MOD remainder comparison limb", 2, |r| {
            let k = r.top_diff.iter().position(|&d| d == F::ONE).unwrap();
            r.top_diff[k] = F::ZERO;
            r.top_diff[(k + 15) % 16] = F::ONE;
        }),
        ("MOD remainder comparison dropped", 2, |r| {
            r.top_diff = [F::ZERO; 16];
        }),
        ("division by zero flag", 3, |r| r.y_zero = F::ZERO),
        ("SHR large-shift flag", 6, |r| r.big = F::ZERO),
        ("SDIV sign of the result", 7, |r| r.sc = F::ONE - r.sc),
        ("SDIV negation carry", 7, |r| {
            r.neg_c[0] = F::ONE - r.neg_c[0]
        }),
        ("SMOD |a| carry", 8, |r| r.neg_a[2] = F::ONE - r.neg_a[2]),
        ("SAR sign of the value", 9, |r| r.sb = F::ONE - r.sb),
        ("BYTE quotient byte", 10, |r| r.x[0] += F::ONE),
        ("SIGNEXTEND sign", 11, |r| r.sc = F::ONE - r.sc),
        ("ADDMOD sum carry", 12, |r| {
            r.neg_a[15] = F::ONE - r.neg_a[15]
        }),
        ("ADDMOD modulus-one flag", 12, |r| r.n_one = F::ONE),
        ("MULMOD product's high word", 13, |r| r.h[4] += F::ONE),
        // Only the link bus ties the rows: a changed low word in the second row's copy.
        ("MULMOD low word handed on", 14, |r| r.c[2] += F::ONE),
        ("MULMOD first remainder", 14, |r| r.z[0] += F::ONE),
        ("MULMOD result", 15, |r| r.c[0] += F::ONE),
        ("MULMOD result and remainder", 15, |r| {
            r.c[0] += F::ONE;
            r.z[0] += F::ONE;
        }),
        ("MULMOD zero-modulus flag", 16, |r| r.n_zero = F::ZERO),
    ];
    for (what, row, mutate) in mutations {
        let mut s = honest.clone();
        mutate(row_mut(&mut s, row));
        assert!(check(&s).is_err(), "{what}: the mutated shard proved");
    }
}

/// The u16 range table's byte pairs: a changed high byte, end flag or pair multiplicity is
/// rejected (the first two break its constraints, the last the lookup balance).
#[test]
fn mutated_byte_pair_table_is_rejected() {
    use crate::chips::range::columns::{BytePairCols, NUM_BYTE_PAIR_COLS, NUM_RANGE_COLS};
    let honest = muldiv_shard();
    let w = NUM_RANGE_COLS + NUM_BYTE_PAIR_COLS;
    fn pair_cols(s: &mut shard::Shard<F>, row: usize) -> &mut BytePairCols<F> {
        let w = NUM_RANGE_COLS + NUM_BYTE_PAIR_COLS;
        s.traces[shard::RANGE_U16].values[row * w + NUM_RANGE_COLS..(row + 1) * w].borrow_mut()
    }
    let used = (0..1 << 16)
        .find(|&r| honest.traces[shard::RANGE_U16].values[r * w + w - 1] != F::ZERO)
        .expect("the shard looks up a byte pair");
    type Mutation = (&'static str, usize, fn(&mut BytePairCols<F>));
    let mutations: [Mutation; 5] = [
        ("pair multiplicity", used, |p| p.pair_mult += F::ONE),
        ("high byte", 300, |p| p.hi += F::ONE),
        ("end flag set early", 300, |p| p.is_end = F::ONE),
        ("end flag dropped", 511, |p| p.is_end = F::ZERO),
        ("end flag not boolean", 300, |p| p.is_end = F::from_u32(2)),
    ];
    for (what, row, mutate) in mutations {
        let mut s = honest.clone();
        mutate(pair_cols(&mut s, row));
        assert!(check(&s).is_err(), "{what}: the mutated shard proved");
    }
}

/// Rows whose tuples on the EXP link bus are left unbalanced: the chip's own interactions on
/// that bus, replayed row by row (the other buses need the other chips).
fn exp_link_unbalanced_rows(m: &RowMajorMatrix<F>) -> std::collections::BTreeSet<usize> {
    use p3_air::AirLayout;
    use p3_lookup::InteractionSymbolicBuilder;
    use p3_matrix::Matrix;

    let air = EvmAir::MulDiv(MulDivAir);
    let symbolic = InteractionSymbolicBuilder::<F>::from_air(&air, AirLayout::from_air::<F>(&air));
    let links: Vec<_> = symbolic
        .global_interactions()
        .iter()
        .filter(|i| i.bus_name == crate::buses::EXP_LINK.name())
        .collect();
    assert_eq!(
        links.len(),
        2,
        "the chip sends and receives on the EXP link"
    );
    let mut net: std::collections::HashMap<Vec<F>, (F, Vec<usize>)> = Default::default();
    for row in 0..m.height() {
        on_row(m, row, |b| {
            for i in &links {
                let count = i.count.resolve(&*b);
                if count != F::ZERO {
                    let key: Vec<F> = i.fields.iter().map(|e| e.resolve(&*b)).collect();
                    let entry = net.entry(key).or_insert((F::ZERO, Vec::new()));
                    entry.0 += count;
                    entry.1.push(row);
                }
            }
        });
    }
    net.into_values()
        .filter(|(count, _)| *count != F::ZERO)
        .flat_map(|(_, rows)| rows)
        .collect()
}

/// Cases of the EXP known-answer test.
const EXP_CASES: usize = 10_000;

/// An exponent: mostly short (every byte length occurs), a tenth full 32-byte ones.
fn exp_operand(state: &mut u64) -> U256 {
    let r = xorshift(state);
    let full = U256::from_limbs([
        xorshift(state),
        xorshift(state),
        xorshift(state),
        xorshift(state),
    ]) | (U256::from(1u8) << 255);
    match r % 10 {
        0 => full,
        1 => operand(state, false),
        _ => full >> (192 + (r >> 8) % 64) as usize,
    }
}

/// revm's `a ** b` over random and edge operands: honest rows satisfy the constraints and
/// balance the EXP link; a wrong result (which only the link checks: the head's claim is the
/// chain's end) leaves every lying head unbalanced.
#[test]
fn exp_matches_revm() {
    let mut state = 9u64;
    let two = U256::from(2u8);
    let full = U256::MAX - U256::from(0x1234u32);
    let mut pairs: Vec<(U256, U256)> = vec![
        (U256::ZERO, U256::ZERO),
        (U256::from(7u8), U256::ZERO),
        (U256::MAX, U256::ZERO),
        (U256::ZERO, U256::from(5u8)),
        (U256::ZERO, full),
        (U256::from(1u8), full),
        (two, U256::from(255u8)),
        (two, U256::from(256u16)),
        (two, U256::from(1u8)),
        (U256::from(1u8) << 255, two),
        (U256::MAX, full),
        (U256::MAX, U256::MAX),
        (full, U256::from(1u8) << 255),
        (U256::from(3u8), U256::from(0x80u8)),
        (U256::from(3u8), U256::from(0x100u16)),
        (U256::from(3u8), U256::from(0x8000u16)),
        (U256::from(3u8), U256::from(0x1_0000u32)),
    ];
    while pairs.len() < EXP_CASES {
        pairs.push((operand(&mut state, false), exp_operand(&mut state)));
    }
    let zeros = vec![U256::ZERO; pairs.len()];
    let results = revm_results(opcodes::EXP, &pairs, &zeros);
    assert_eq!(results[0], U256::from(1u8), "0 ** 0 = 1");
    // The cases are independent (each EXP's chain is whole in its batch, so the link balances
    // per batch): checked in batches of 1,000, in parallel. One matrix of all 10,000 chains is
    // ~2^21 rows (3 GB), and building it dominated the test.
    use rayon::prelude::*;
    pairs
        .par_chunks(1000)
        .zip(results.par_chunks(1000))
        .for_each(|(pairs, results)| exp_known_answers(pairs, results));
}

/// The honest rows of `pairs`' EXPs (with revm's `results`) pass; a wrong result unbalances the
/// link at every head; a wrong gas fails every head row.
fn exp_known_answers(pairs: &[(U256, U256)], results: &[U256]) {
    let zeros = vec![U256::ZERO; pairs.len()];
    let honest = rows(opcodes::EXP, pairs, &zeros, results);
    assert!(
        failing_rows(&honest).is_empty(),
        "revm's results violate the constraints"
    );
    assert!(
        exp_link_unbalanced_rows(&honest).is_empty(),
        "revm's results unbalance the link"
    );

    let wrong: Vec<U256> = results
        .iter()
        .enumerate()
        .map(|(i, r)| *r ^ (U256::from(1u8) << (i * 7 % 256)))
        .collect();
    let lying = rows(opcodes::EXP, pairs, &zeros, &wrong);
    let unbalanced = exp_link_unbalanced_rows(&lying);
    let heads: Vec<usize> = (0..lying.values.len() / NUM_MULDIV_COLS)
        .filter(|&r| lying.values[r * NUM_MULDIV_COLS + F_EXP] == F::ONE)
        .collect();
    assert_eq!(heads.len(), pairs.len());
    for &h in &heads {
        assert!(
            unbalanced.contains(&h),
            "a wrong result at row {h} balanced the link"
        );
    }
    // A gas one exponent byte off fails on its own head row.
    let mut lying_gas = honest.clone();
    for (i, &h) in heads.iter().enumerate() {
        let t = &mut lying_gas.values[h * NUM_MULDIV_COLS..][..NUM_MULDIV_COLS];
        let row: &mut MulDivCols<F> = t.borrow_mut();
        if i % 2 == 0 {
            row.t += F::from_u8(50);
        } else {
            row.t -= F::from_u8(50);
        }
    }
    assert_eq!(
        failing_rows(&lying_gas),
        heads.into_iter().collect(),
        "a wrong gas passed"
    );
}

/// A shard with EXPs: a full 32-byte exponent, 0^0, x^0, 0^y, 2^255 and an exponent whose
/// top bit is in a limb's high byte.
fn exp_shard() -> shard::Shard<F> {
    let full = U256::MAX - U256::from(0x1234u32);
    let mut code = Vec::new();
    for (a, b) in [
        (U256::from(3u8), full),
        (U256::ZERO, U256::ZERO),
        (U256::from(7u8), U256::ZERO),
        (U256::ZERO, U256::from(5u8)),
        (U256::from(2u8), U256::from(255u8)),
        (full, U256::from(0x9001u16)),
    ] {
        for v in [b, a] {
            code.push(opcodes::PUSH0 + 32);
            code.extend_from_slice(&v.to_be_bytes::<32>());
        }
        code.extend([opcodes::EXP, opcodes::POP]);
    }
    code.push(opcodes::STOP);
    let t = crate::tests_synthetic::run_program(&code);
    shard::generate_shards::<F>(&t, 1 << 16).unwrap().remove(0)
}

/// The first multiplication-chip row with `flag`, from row `from` on.
fn row_with(s: &shard::Shard<F>, flag: usize, from: usize) -> usize {
    let m = &s.traces[shard::MULDIV].values;
    (from..m.len() / NUM_MULDIV_COLS)
        .find(|&r| m[r * NUM_MULDIV_COLS + flag] == F::ONE)
        .expect("a row with the flag")
}

/// The CPU row of the `n`-th EXP step.
fn cpu_exp_row(s: &mut shard::Shard<F>, n: usize) -> &mut crate::chips::cpu::columns::CpuCols<F> {
    use crate::chips::cpu::columns::{CpuCols, NUM_CPU_COLS};
    let values = &mut s.traces[shard::CPU].values;
    let r = (0..values.len() / NUM_CPU_COLS)
        .filter(|&r| {
            let row: &CpuCols<F> =
                core::borrow::Borrow::borrow(&values[r * NUM_CPU_COLS..][..NUM_CPU_COLS]);
            row.op.opcode == F::from_u8(opcodes::EXP)
        })
        .nth(n)
        .expect("an EXP step");
    values[r * NUM_CPU_COLS..(r + 1) * NUM_CPU_COLS].borrow_mut()
}

#[test]
fn exp_shard_proves_and_mutations_are_rejected() {
    use crate::chips::muldiv::columns::{F_EXP_MUL, F_EXP_SQ};
    let honest = exp_shard();
    check(&honest).expect("the honest shard proves");
    let head = row_with(&honest, F_EXP, 0);
    let square = row_with(&honest, F_EXP_SQ, 0);
    let multiply = row_with(&honest, F_EXP_MUL, 0);
    let zero_zero = row_with(&honest, F_EXP, head + 1);
    // The 0x9001 exponent's head: two bytes, its top bit in the high byte of limb 0.
    let high_byte = (0..5).fold(head, |r, _| row_with(&honest, F_EXP, r + 1));
    type Mutation = (&'static str, usize, fn(&mut MulDivCols<F>));
    let mutations: [Mutation; 12] = [
        ("EXP result limb", head, |r| r.c[0] += F::ONE),
        ("EXP gas on the chip only", head, |r| r.t += F::from_u8(50)),
        ("EXP top bit position", head, |r| {
            r.e_bits[0] = F::ONE - r.e_bits[0]
        }),
        ("EXP first rest limb", head, |r| r.z[3] += F::ONE),
        ("EXP zero-exponent flag", zero_zero, |r| r.n_zero = F::ZERO),
        ("0 ** 0 result", zero_zero, |r| r.c[0] = F::ZERO),
        ("EXP bit", square, |r| r.sc = F::ONE - r.sc),
        ("EXP rest after the bit", square, |r| r.w[15] += F::ONE),
        ("EXP square handed on", square, |r| r.l[0] += F::ONE),
        ("EXP claimed result carried", multiply, |r| r.c[1] += F::ONE),
        ("EXP base carried", multiply, |r| r.a[0] += F::ONE),
        ("EXP gas of a two-byte exponent", high_byte, |r| {
            r.t -= F::from_u8(50)
        }),
    ];
    for (what, row, mutate) in mutations {
        let mut s = honest.clone();
        mutate(row_mut(&mut s, row));
        assert!(check(&s).is_err(), "{what}: the mutated shard proved");
    }
    // A wrong gas on both sides of the ALU bus: the CPU's gas step no longer matches.
    let mut s = honest.clone();
    row_mut(&mut s, head).t += F::from_u8(50);
    cpu_exp_row(&mut s, 0).inp[2][0] += F::from_u8(50);
    assert!(
        check(&s).is_err(),
        "EXP gas on both sides: the mutated shard proved"
    );
}
