use core::borrow::Borrow;

use p3_air::{AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;

use super::columns::{BytesCols, NUM_BYTES_COLS, ROW_LANES};
use crate::buses;
use crate::chips::bool1;
use crate::chips::memory::columns::WORD_BYTES;
use crate::opcodes;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeccakBytesAir;

/// The column index of every field of [`BytesCols`].
pub fn col_map() -> BytesCols<usize> {
    let idx: Vec<usize> = (0..NUM_BYTES_COLS).collect();
    *Borrow::<BytesCols<usize>>::borrow(&idx[..])
}

impl<F> BaseAir<F> for KeccakBytesAir {
    fn width(&self) -> usize {
        NUM_BYTES_COLS
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        let m = col_map();
        let mut cols = vec![m.is_real, m.ctx, m.ts, m.offset, m.len, m.base, m.i];
        cols.extend(m.word);
        cols
    }
}

impl KeccakBytesAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let main = builder.main();
        let l: &BytesCols<AB::Var> = main.current_slice().borrow();
        let n: &BytesCols<AB::Var> = main.next_slice().borrow();
        let one = AB::Expr::ONE;
        let c = |v: u32| AB::Expr::from_u32(v);
        let e = |v: AB::Var| -> AB::Expr { v.into() };

        builder.assert_bool(l.is_real);
        builder.assert_bool(l.more);
        builder.assert_zero(e(l.more) * (one.clone() - e(l.is_real)));

        // ---- offset = 32 base + k, base below 2^24 (so the split is unique) ----
        let mut k = AB::Expr::ZERO;
        let mut sum = AB::Expr::ZERO;
        for (j, &f) in l.shift.iter().enumerate() {
            builder.assert_bool(f);
            sum += e(f);
            k += e(f) * c(j as u32);
        }
        builder.assert_eq(sum, l.is_real);
        builder.assert_zero(e(l.is_real) * (e(l.offset) - e(l.base) * c(32) - k));
        builder.assert_eq(l.base, e(l.base_lo) + e(l.base_hi) * c(1 << 16));
        buses::U16.lookup_key(builder, [e(l.base_lo)], bool1(e(l.is_real)));
        buses::U16.lookup_key(builder, [e(l.base_hi) * c(256)], bool1(e(l.is_real)));

        // ---- The word, read at the hash's timestamp as an aligned MLOAD (sizes w + 1, gas 3:
        // the memory chip's load row, no expansion) ----
        let w: AB::Expr = e(l.base) + e(l.i);
        let limbs = (0..WORD_BYTES / 2).map(|m| {
            e(l.word[WORD_BYTES - 2 - 2 * m]) * c(256) + e(l.word[WORD_BYTES - 1 - 2 * m])
        });
        let op: Vec<AB::Expr> = [
            e(l.ctx),
            e(l.ts),
            c(opcodes::MLOAD as u32),
            w.clone() * c(32) - e(l.off_hi) * c(1 << 16),
            e(l.off_hi),
        ]
        .into_iter()
        .chain(limbs)
        .chain([w.clone() + one.clone(), w + one.clone(), c(3)])
        .collect();
        buses::MEMORY_OP.send(builder, op, bool1(e(l.is_real)));
        // The word's bytes are bytes, so its limbs split one way.
        for m in 0..WORD_BYTES / 2 {
            buses::BYTE_PAIR.lookup_key(
                builder,
                [
                    e(l.word[WORD_BYTES - 1 - 2 * m]),
                    e(l.word[WORD_BYTES - 2 - 2 * m]),
                ],
                bool1(e(l.is_real)),
            );
        }

        // ---- Lanes: the bytes from k on, into the next row's word (the same hash's next) ----
        for (x, &b) in l.lanes.iter().enumerate() {
            let mut window = AB::Expr::ZERO;
            for (j, &f) in l.shift.iter().enumerate() {
                let y = x + j;
                let byte = if y < WORD_BYTES {
                    e(l.word[y])
                } else {
                    e(l.more) * e(n.word[y - WORD_BYTES])
                };
                window += e(f) * byte;
            }
            builder.assert_eq(b, window);
        }
        for q in 0..ROW_LANES {
            let on = l.lane_on[q];
            builder.assert_bool(on);
            builder.assert_zero(e(on) * (one.clone() - e(l.is_real)));
            // A lane reaching past this word needs the next one.
            let crosses: AB::Expr = (0..WORD_BYTES)
                .filter(|j| 8 * q + 7 + j >= WORD_BYTES)
                .map(|j| e(l.shift[j]))
                .sum();
            builder.assert_zero(e(on) * crosses * (one.clone() - e(l.more)));
            let fields: Vec<AB::Expr> = [
                e(l.ctx),
                e(l.ts),
                e(l.offset),
                e(l.len),
                e(l.i) * c(ROW_LANES as u32) + c(q as u32),
            ]
            .into_iter()
            .chain(l.lanes[8 * q..8 * q + 8].iter().map(|&b| e(b)))
            .collect();
            buses::KECCAK_LANE.send(builder, fields, bool1(e(on)));
        }

        // ---- The next row continues the hash at its next word ----
        let mut t = builder.when_transition();
        t.assert_zero(e(l.more) * (one.clone() - e(n.is_real)));
        for (a, b) in [
            (n.ctx, l.ctx),
            (n.ts, l.ts),
            (n.offset, l.offset),
            (n.len, l.len),
            (n.base, l.base),
        ] {
            t.assert_zero(e(l.more) * (e(a) - e(b)));
        }
        t.assert_zero(e(l.more) * (e(n.i) - e(l.i) - one.clone()));
        builder.when_last_row().assert_zero(l.more);
    }
}
