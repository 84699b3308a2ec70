use core::borrow::Borrow;

use p3_air::{AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;

use super::columns::{CalldataCols, NUM_CALLDATA_COLS, WORD_BYTES};
use crate::buses;
use crate::chips::bool1;
use crate::opcodes;
use crate::word::LIMBS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CalldataAir;

impl<F> BaseAir<F> for CalldataAir {
    fn width(&self) -> usize {
        NUM_CALLDATA_COLS
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        // is_word, ctx, word (sorted word rows compare keys with the next row).
        vec![0, 3, 4]
    }
}

impl CalldataAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let main = builder.main();
        let l: &CalldataCols<AB::Var> = main.current_slice().borrow();
        let n: &CalldataCols<AB::Var> = main.next_slice().borrow();
        let one = AB::Expr::ONE;
        let c = |v: u32| AB::Expr::from_u32(v);
        let e = |v: AB::Var| -> AB::Expr { v.into() };

        // ---- Row kinds ----
        for f in [
            l.is_word, l.is_in, l.is_big, l.full, l.past, l.more, l.same_ctx, l.hi_nz,
        ] {
            builder.assert_bool(f);
        }
        let load: AB::Expr = e(l.is_in) + e(l.is_big);
        let real: AB::Expr = load.clone() + e(l.is_word);
        builder.assert_bool(real.clone());

        // ---- Word index: bounded, so 32 word + 32 stays far below the field's order ----
        builder.assert_eq(l.word, e(l.word_lo) + e(l.word_hi) * c(1 << 16));
        buses::U16.lookup_key(builder, [l.word_lo], bool1(real.clone()));
        buses::U16.lookup_key(builder, [e(l.word_hi) * c(256)], bool1(real));
        let base: AB::Expr = e(l.word) * c(WORD_BYTES as u32);

        // ---- Word rows: bytes at or past the length are zero ----
        let len: AB::Expr = e(l.len_lo) + e(l.len_hi) * c(1 << 16);
        let mut count = AB::Expr::ZERO;
        for i in 0..WORD_BYTES {
            builder.assert_bool(l.valid[i]);
            if i > 0 {
                builder.assert_zero(e(l.valid[i]) * (one.clone() - e(l.valid[i - 1])));
            }
            count += e(l.valid[i]);
            builder.assert_zero(e(l.is_word) * e(l.a[i]) * (one.clone() - e(l.valid[i])));
        }
        // Exactly min(max(len - 32 word, 0), 32) bytes are valid: the length reaches past the
        // word, does not reach into it, or ends inside it (or at its end).
        builder.assert_zero(e(l.full) * (one.clone() - e(l.is_word)));
        builder.assert_zero(e(l.past) * (one.clone() - e(l.is_word)));
        builder.assert_bool(e(l.full) + e(l.past));
        builder.assert_zero(e(l.full) * (one.clone() - e(l.valid[WORD_BYTES - 1])));
        builder.assert_zero(e(l.past) * e(l.valid[0]));
        builder.assert_zero(
            e(l.is_word)
                * (one.clone() - e(l.full) - e(l.past))
                * (len.clone() - base.clone() - count),
        );
        let d: AB::Expr = e(l.full) * (len.clone() - base.clone() - c(WORD_BYTES as u32))
            + e(l.past) * (base.clone() - len.clone());
        builder.assert_eq(d, e(l.d_lo) + e(l.d_hi) * c(1 << 16));
        let cmp: AB::Expr = e(l.full) + e(l.past);
        buses::U16.lookup_key(builder, [l.d_lo], bool1(cmp.clone()));
        buses::U16.lookup_key(builder, [e(l.d_hi) * c(4)], bool1(cmp));
        // The length: below 2^29, and the context's CALLDATASIZE value in the call-context
        // table (one row per context), so every word row of a context has the same length.
        buses::U16.lookup_key(builder, [l.len_lo], bool1(e(l.is_word)));
        buses::U16.lookup_key(builder, [l.len_hi], bool1(e(l.is_word)));
        buses::U16.lookup_key(builder, [e(l.len_hi) * c(8)], bool1(e(l.is_word)));
        let size_key = [
            e(l.ctx),
            c(opcodes::CALLDATASIZE as u32),
            AB::Expr::ZERO,
            e(l.len_lo),
            e(l.len_hi),
        ]
        .into_iter()
        .chain((2..LIMBS).map(|_| AB::Expr::ZERO));
        buses::CALL_CONTEXT.lookup_key(builder, size_key, bool1(e(l.is_word)));
        // Word bytes are bytes (loads read them through the word lookups).
        for m in 0..WORD_BYTES / 2 {
            buses::BYTE_PAIR.lookup_key(builder, [l.a[2 * m + 1], l.a[2 * m]], bool1(e(l.is_word)));
        }

        // ---- Word rows come first, with strictly increasing (context, word): one row per
        // word ----
        builder
            .when_transition()
            .assert_zero(e(n.is_word) * (one.clone() - e(l.is_word)));
        builder
            .when_transition()
            .assert_eq(l.more, e(l.is_word) * e(n.is_word));
        builder.when_last_row().assert_zero(l.more);
        builder.assert_zero(e(l.same_ctx) * (one.clone() - e(l.more)));
        builder
            .when_transition()
            .assert_zero(e(l.same_ctx) * (e(n.ctx) - e(l.ctx)));
        let key_gap: AB::Expr = e(l.same_ctx) * (e(n.word) - e(l.word) - one.clone())
            + (one.clone() - e(l.same_ctx)) * (e(n.ctx) - e(l.ctx) - one.clone());
        builder
            .when_transition()
            .assert_zero(e(l.more) * (key_gap - e(l.g_lo) - e(l.g_hi) * c(1 << 16)));
        buses::U16.lookup_key(builder, [l.g_lo], bool1(e(l.more)));
        buses::U16.lookup_key(builder, [e(l.g_hi) * c(4)], bool1(e(l.more)));
        buses::U16.lookup_key(builder, [l.ctx], bool1(e(l.is_word)));
        builder.assert_zero(e(l.mult) * (one.clone() - e(l.is_word)));
        let word_entry = |word: AB::Expr, bytes: &[AB::Var; WORD_BYTES]| {
            [e(l.ctx), word]
                .into_iter()
                .chain(bytes.iter().map(|&b| e(b)))
                .collect::<Vec<AB::Expr>>()
        };
        buses::CALLDATA_WORD.table_entry(builder, word_entry(e(l.word), &l.a), l.mult);

        // ---- Loads below 2^29: offset = 32 word + k ----
        let mut shift_sum = AB::Expr::ZERO;
        let mut k = AB::Expr::ZERO;
        for (i, &f) in l.shift.iter().enumerate() {
            builder.assert_bool(f);
            shift_sum += e(f);
            k += e(f) * c(i as u32);
        }
        builder.assert_eq(shift_sum, l.is_in);
        let high: AB::Expr = l.off[2..].iter().map(|&x| e(x)).sum();
        builder.assert_zero(e(l.is_in) * high.clone());
        // Limb 1 below 2^13, so the offset is below 2^29 and equals 32 word + k as integers.
        buses::U16.lookup_key(builder, [e(l.off[1]) * c(8)], bool1(e(l.is_in)));
        builder
            .assert_zero(e(l.is_in) * (e(l.off[0]) + e(l.off[1]) * c(1 << 16) - base.clone() - k));
        buses::CALLDATA_WORD.lookup_key(builder, word_entry(e(l.word), &l.a), bool1(e(l.is_in)));
        buses::CALLDATA_WORD.lookup_key(
            builder,
            word_entry(e(l.word) + one.clone(), &l.b),
            bool1(e(l.is_in) - e(l.shift[0])),
        );

        // ---- Loads at 2^29 or more: a high limb is non-zero, or limb 1 is at least 2^13 ----
        builder.assert_zero(e(l.hi_nz) * (one.clone() - e(l.is_big)));
        builder.assert_zero(e(l.hi_nz) * (high.clone() * e(l.hi_inv) - one.clone()));
        builder.assert_zero(e(l.is_big) * (one.clone() - e(l.hi_nz)) * high);
        buses::U16.lookup_key(
            builder,
            [e(l.off[1]) - c(1 << 13)],
            bool1(e(l.is_big) - e(l.hi_nz)),
        );

        // ---- The pushed word: the 32 bytes from byte k of A on (into B); zero on big loads,
        // whose shift is all zero ----
        for j in 0..WORD_BYTES {
            let mut window = AB::Expr::ZERO;
            for (i, &f) in l.shift.iter().enumerate() {
                let x = i + j;
                let byte = if x < WORD_BYTES {
                    l.a[x]
                } else {
                    l.b[x - WORD_BYTES]
                };
                window += e(f) * e(byte);
            }
            builder.assert_eq(l.value[j], window);
        }
        let limbs = (0..WORD_BYTES / 2).map(|m| {
            e(l.value[WORD_BYTES - 2 - 2 * m]) * c(256) + e(l.value[WORD_BYTES - 1 - 2 * m])
        });
        let op_fields: Vec<AB::Expr> = [e(l.ctx)]
            .into_iter()
            .chain(l.off.iter().map(|&x| e(x)))
            .chain(limbs)
            .collect();
        buses::CALLDATA_LOAD.receive(builder, op_fields, bool1(load));
    }
}
