use core::borrow::BorrowMut;

use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;
use rayon::prelude::*;
use slotproof_executor::trace::Word;

use super::columns::*;
use crate::word::{LIMBS, limbs};

/// One ALU operation as the CPU sends it.
#[derive(Clone, Copy, Debug)]
pub struct AluOp {
    pub opcode: u8,
    pub a: Word,
    pub b: Word,
    /// The third operand (ADDMOD's modulus; zero for the others).
    pub n: Word,
    pub c: Word,
}

/// Lookups the ALU rows make: u16 values and byte-AND pairs (`256 x + y`).
#[derive(Clone, Debug, Default)]
pub struct AluCounts {
    pub u16: Vec<u32>,
    pub and8: Vec<u32>,
}

/// The byte pairs of a bitwise operation's operands that it looks up on the byte-AND bus, low
/// byte of each limb first.
fn byte_pairs<'a>(
    a: &'a [u16; LIMBS],
    b: &'a [u16; LIMBS],
) -> impl Iterator<Item = (u16, u16)> + 'a {
    (0..LIMBS).flat_map(move |k| {
        [0, 8].map(move |shift| ((a[k] >> shift) & 0xff, (b[k] >> shift) & 0xff))
    })
}

/// How many distinct byte pairs `ops` look up on the byte-AND bus: the rows of the bitwise
/// table, known before the ALU trace is generated (a shard's shape is chosen first).
pub fn and_pairs_used(ops: &[AluOp]) -> usize {
    let mut seen = vec![0u64; (1 << 16) / 64];
    let mut count = 0;
    for op in ops.iter().filter(|op| {
        matches!(
            ALU_OPS.iter().position(|&o| o == op.opcode),
            Some(F_AND | F_OR | F_XOR)
        )
    }) {
        let (a, b) = (limbs(&op.a), limbs(&op.b));
        for (x, y) in byte_pairs(&a, &b) {
            let pair = ((x as usize) << 8) | y as usize;
            let (word, bit) = (pair / 64, 1u64 << (pair % 64));
            if seen[word] & bit == 0 {
                seen[word] |= bit;
                count += 1;
            }
        }
    }
    count
}

fn fill<F: PrimeField32>(
    row: &mut AluCols<F>,
    op: &AluOp,
    u16s: &mut Vec<u32>,
    ands: &mut Vec<u32>,
) {
    let flag = ALU_OPS
        .iter()
        .position(|&o| o == op.opcode)
        .expect("ALU opcode");
    row.flags[flag] = F::ONE;
    let (a, b, c) = (limbs(&op.a), limbs(&op.b), limbs(&op.c));
    for k in 0..LIMBS {
        row.a[k] = F::from_u16(a[k]);
        row.b[k] = F::from_u16(b[k]);
        row.c[k] = F::from_u16(c[k]);
    }
    // The adder's operands: X + Y = Z (mod 2^256).
    let adder: Option<([u16; LIMBS], [u16; LIMBS])> = match flag {
        F_ADD => Some((a, b)),
        F_SUB => Some((b, c)),
        F_LT | F_SLT | F_GT | F_SGT => {
            let (x, z) = if flag == F_LT || flag == F_SLT {
                (b, a)
            } else {
                (a, b)
            };
            // d = z - x mod 2^256.
            let mut d = [0u16; LIMBS];
            let mut borrow = 0i64;
            for k in 0..LIMBS {
                let v = z[k] as i64 - x[k] as i64 - borrow;
                d[k] = v.rem_euclid(1 << 16) as u16;
                borrow = (v < 0) as i64;
            }
            for (k, &dk) in d.iter().enumerate() {
                row.d[k] = F::from_u16(dk);
                u16s.push(dk as u32);
            }
            Some((x, d))
        }
        _ => None,
    };
    if let Some((x, y)) = adder {
        let mut carry = 0u32;
        for k in 0..LIMBS {
            let s = x[k] as u32 + y[k] as u32 + carry;
            carry = s >> 16;
            row.carry[k] = F::from_u32(carry);
        }
    }
    if flag == F_SLT || flag == F_SGT {
        let (ta, tb) = (a[LIMBS - 1] as u32, b[LIMBS - 1] as u32);
        row.sa = F::from_u32(ta >> 15);
        row.sb = F::from_u32(tb >> 15);
        row.ra = F::from_u32(ta & 0x7fff);
        row.rb = F::from_u32(tb & 0x7fff);
        u16s.push((ta & 0x7fff) * 2);
        u16s.push((tb & 0x7fff) * 2);
    }
    if (flag == F_EQ || flag == F_ISZERO)
        && let Some(k) = (0..LIMBS).find(|&k| a[k] != b[k])
    {
        row.d[k] = (F::from_u16(a[k]) - F::from_u16(b[k])).inverse();
    }
    if flag == F_AND || flag == F_OR || flag == F_XOR {
        for (i, (x, y)) in byte_pairs(&a, &b).enumerate() {
            row.a_bytes[i] = F::from_u16(x);
            row.b_bytes[i] = F::from_u16(y);
            row.and_bytes[i] = F::from_u16(x & y);
            ands.push(((x as u32) << 8) | y as u32);
        }
    }
}

/// The ALU trace (padded with zero rows to `height`, a power of two, at least one row per
/// operation) and its lookup counts.
pub fn generate<F: PrimeField32>(ops: &[AluOp], height: usize) -> (RowMajorMatrix<F>, AluCounts) {
    debug_assert!(height.is_power_of_two() && height >= ops.len());
    let mut values = F::zero_vec(height * NUM_ALU_COLS);
    let chunk = 1024;
    let parts: Vec<(Vec<u32>, Vec<u32>)> = values
        .par_chunks_mut(chunk * NUM_ALU_COLS)
        .enumerate()
        .map(|(ci, rows)| {
            let (mut u16s, mut ands) = (Vec::new(), Vec::new());
            for (r, row) in rows.chunks_exact_mut(NUM_ALU_COLS).enumerate() {
                if let Some(op) = ops.get(ci * chunk + r) {
                    fill(row.borrow_mut(), op, &mut u16s, &mut ands);
                }
            }
            (u16s, ands)
        })
        .collect();
    let mut counts = AluCounts {
        u16: vec![0; 1 << 16],
        and8: vec![0; 1 << 16],
    };
    for (u, a) in parts {
        for v in u {
            counts.u16[v as usize] += 1;
        }
        for v in a {
            counts.and8[v as usize] += 1;
        }
    }
    (RowMajorMatrix::new(values, NUM_ALU_COLS), counts)
}
