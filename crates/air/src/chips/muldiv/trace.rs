use core::borrow::BorrowMut;

use p3_field::PrimeField32;
use p3_matrix::dense::RowMajorMatrix;
use rayon::prelude::*;
use revm::primitives::U256;
use slotproof_executor::trace::Word;

use super::columns::*;
use crate::chips::alu::trace::AluOp;
use crate::word::{LIMBS, limbs};

/// Lookups the rows make: u16 values and bytes.
#[derive(Clone, Debug, Default)]
pub struct MulDivCounts {
    pub u16: Vec<u32>,
    pub byte: Vec<u32>,
}

/// The relation's operands `x y + z` of one operation, from its inputs alone (the claimed
/// result only goes into the `c` columns, so a wrong claim fails the constraints).
fn operands(flag: usize, a: U256, b: U256) -> (U256, U256, U256) {
    let shift = (a.as_limbs()[0] & 0xff) as usize;
    match flag {
        F_MUL => (a, b, U256::ZERO),
        F_DIV | F_MOD if b.is_zero() => (U256::ZERO, U256::ZERO, a),
        F_DIV | F_MOD => (a / b, b, a % b),
        F_SHL => (b, U256::from(1u8) << shift, U256::ZERO),
        _ => {
            let pow = U256::from(1u8) << shift;
            (b >> shift, pow, b & (pow - U256::from(1u8)))
        }
    }
}

fn fill<F: PrimeField32>(
    row: &mut MulDivCols<F>,
    op: &AluOp,
    u16s: &mut Vec<u32>,
    bytes: &mut Vec<u32>,
) {
    let flag = MULDIV_OPS
        .iter()
        .position(|&o| o == op.opcode)
        .expect("multiplication-chip opcode");
    row.flags[flag] = F::ONE;
    let (a, b, c) = (limbs(&op.a), limbs(&op.b), limbs(&op.c));
    for k in 0..LIMBS {
        row.a[k] = F::from_u16(a[k]);
        row.b[k] = F::from_u16(b[k]);
        row.c[k] = F::from_u16(c[k]);
    }
    let (x, y, z) = operands(
        flag,
        <U256 as From<Word>>::from(op.a),
        <U256 as From<Word>>::from(op.b),
    );
    let (xb, yb) = (x.to_le_bytes::<32>(), y.to_le_bytes::<32>());
    let zl = limbs(&z.into());
    for (col, &v) in row.z.iter_mut().zip(&zl) {
        *col = F::from_u16(v);
    }
    for i in 0..BYTES {
        row.x[i] = F::from_u8(xb[i]);
        row.y[i] = F::from_u8(yb[i]);
        bytes.push(xb[i] as u32);
        bytes.push(yb[i] as u32);
    }
    // The relation's limbs and carries, as the constraints walk them.
    let mut carry = 0u64;
    for m in 0..2 * LIMBS {
        let mut acc = carry + zl.get(m).map_or(0, |&v| v as u64);
        for (col, weight) in [(2 * m, 1u64), (2 * m + 1, 256)] {
            for i in col.saturating_sub(BYTES - 1)..=col.min(BYTES - 1) {
                acc += xb[i] as u64 * yb[col - i] as u64 * weight;
            }
        }
        let (out, next) = if m + 1 < 2 * LIMBS {
            (acc & 0xffff, acc >> 16)
        } else {
            (acc, 0)
        };
        if m < LIMBS {
            row.l[m] = F::from_u64(out);
        } else {
            row.h[m - LIMBS] = F::from_u64(out);
        }
        if m + 1 < 2 * LIMBS {
            row.carry[m] = F::from_u64(next);
            u16s.push(next as u32);
            u16s.push(4 * next as u32);
        }
        carry = next;
    }
    let divmod = flag == F_DIV || flag == F_MOD;
    if divmod {
        let sum: u32 = yb.iter().map(|&v| v as u32).sum();
        if sum == 0 {
            row.y_zero = F::ONE;
        } else {
            row.y_inv = F::from_u32(sum).inverse();
        }
    }
    // The remainder check: z + 1 + diff = y.
    if (divmod && !y.is_zero()) || flag == F_SHR {
        let diff = limbs(&(y - z - U256::from(1u8)).into());
        let mut dc = 1u32;
        for k in 0..LIMBS {
            row.diff[k] = F::from_u16(diff[k]);
            u16s.push(zl[k] as u32);
            u16s.push(diff[k] as u32);
            dc = (zl[k] as u32 + diff[k] as u32 + dc) >> 16;
            row.diff_carry[k] = F::from_u32(dc);
        }
    }
    if flag == F_SHL || flag == F_SHR {
        let s = (a[0] & 0xff) as usize;
        let t = (a[0] >> 8) as u32;
        row.t = F::from_u32(t);
        bytes.push(t);
        row.sel[s >> 4] = F::ONE;
        let e = s & 15;
        for (i, bit) in row.e_bits.iter_mut().enumerate() {
            *bit = F::from_bool(e >> i & 1 == 1);
        }
        row.pow1 = F::from_u32(1 << (e & 3));
        row.pow2 = F::from_u32(1 << (e & 7));
        row.pow = F::from_u32(1 << e);
        let high: u32 = t + a[1..].iter().map(|&v| v as u32).sum::<u32>();
        if high != 0 {
            row.big = F::ONE;
            row.big_inv = F::from_u32(high).inverse();
        }
    }
}

/// The multiplication chip's trace (padded with zero rows) and its lookup counts.
pub fn generate<F: PrimeField32>(ops: &[AluOp]) -> (RowMajorMatrix<F>, MulDivCounts) {
    let height = ops.len().next_power_of_two().max(4);
    let mut values = F::zero_vec(height * NUM_MULDIV_COLS);
    let chunk = 1024;
    let parts: Vec<(Vec<u32>, Vec<u32>)> = values
        .par_chunks_mut(chunk * NUM_MULDIV_COLS)
        .enumerate()
        .map(|(ci, rows)| {
            let (mut u16s, mut bytes) = (Vec::new(), Vec::new());
            for (r, row) in rows.chunks_exact_mut(NUM_MULDIV_COLS).enumerate() {
                if let Some(op) = ops.get(ci * chunk + r) {
                    fill(row.borrow_mut(), op, &mut u16s, &mut bytes);
                }
            }
            (u16s, bytes)
        })
        .collect();
    let mut counts = MulDivCounts {
        u16: vec![0; 1 << 16],
        byte: vec![0; 1 << 8],
    };
    for (u, b) in parts {
        for v in u {
            counts.u16[v as usize] += 1;
        }
        for v in b {
            counts.byte[v as usize] += 1;
        }
    }
    (RowMajorMatrix::new(values, NUM_MULDIV_COLS), counts)
}
