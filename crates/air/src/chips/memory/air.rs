use core::borrow::Borrow;

use p3_air::{AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;

use super::columns::{MemoryCols, NUM_MEMORY_COLS, WORD_BYTES};
use crate::buses;
use crate::chips::bool1;
use crate::chips::carry::air::memory_groups;
use crate::chips::carry::{DIR_IN, DIR_OUT, TokenKind, send_token};
use crate::opcodes;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryAir;

impl<F> BaseAir<F> for MemoryAir {
    fn width(&self) -> usize {
        NUM_MEMORY_COLS
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        // is_bound, ctx, word (the sorted bound rows compare keys with the next row).
        vec![4, 5, 6]
    }
}

impl MemoryAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let main = builder.main();
        let l: &MemoryCols<AB::Var> = main.current_slice().borrow();
        let n: &MemoryCols<AB::Var> = main.next_slice().borrow();
        let one = AB::Expr::ONE;
        let c = |v: u32| AB::Expr::from_u32(v);
        let e = |v: AB::Var| -> AB::Expr { v.into() };

        // ---- Row kinds ----
        for f in [
            l.is_load,
            l.is_store,
            l.is_store8,
            l.is_chunk,
            l.is_bound,
            l.carried,
            l.more,
            l.same_ctx,
            l.start_before,
            l.end_after,
            l.out,
            l.dead,
        ] {
            builder.assert_bool(f);
        }
        let is_op: AB::Expr = e(l.is_load) + e(l.is_store) + e(l.is_store8);
        let acc: AB::Expr = is_op.clone() + e(l.is_chunk);
        let real: AB::Expr = acc.clone() + e(l.is_bound);
        builder.assert_bool(real.clone());

        // ---- Shift k: one-hot on accesses; P_i = [i >= k] ----
        let mut shift_sum = AB::Expr::ZERO;
        let mut k = AB::Expr::ZERO;
        let mut prefix: Vec<AB::Expr> = Vec::with_capacity(WORD_BYTES);
        for (i, &f) in l.shift.iter().enumerate() {
            builder.assert_bool(f);
            shift_sum += e(f);
            k += e(f) * c(i as u32);
            prefix.push(shift_sum.clone());
        }
        builder.assert_eq(shift_sum, acc.clone());

        // ---- Word index: below 2^24, so keys and offsets do not wrap ----
        builder.assert_eq(l.word, e(l.word_lo) + e(l.word_hi) * c(1 << 16));
        buses::U16.lookup_key(builder, [l.word_lo], bool1(real.clone()));
        buses::U16.lookup_key(builder, [e(l.word_hi) * c(256)], bool1(real.clone()));
        let base: AB::Expr = e(l.word) * c(WORD_BYTES as u32);

        // ---- Timestamps: every access follows the previous token of its words ----
        builder.assert_zero(
            acc.clone()
                * (e(l.ts) - e(l.ts_a) - one.clone() - e(l.da_lo) - e(l.da_hi) * c(1 << 16)),
        );
        let touch_b: AB::Expr = (e(l.is_load) + e(l.is_store)) * (one.clone() - e(l.shift[0]));
        builder.assert_zero(
            touch_b.clone()
                * (e(l.ts) - e(l.ts_b) - one.clone() - e(l.db_lo) - e(l.db_hi) * c(1 << 16)),
        );
        buses::U16.lookup_key(builder, [l.da_lo], bool1(acc.clone() + e(l.more)));
        buses::U16.lookup_key(builder, [e(l.da_hi) * c(4)], bool1(acc.clone() + e(l.more)));
        let db_used: AB::Expr = touch_b.clone() + e(l.is_chunk) * e(l.start_before);
        buses::U16.lookup_key(builder, [l.db_lo], bool1(db_used.clone()));
        buses::U16.lookup_key(builder, [e(l.db_hi) * c(4)], bool1(db_used));

        // ---- Bytes an access may change ----
        // E_i = [i <= last byte of the area in word A] (chunk rows: `value` is its one-hot).
        let mut suffix: Vec<AB::Expr> = vec![AB::Expr::ZERO; WORD_BYTES];
        let mut acc_e = AB::Expr::ZERO;
        for i in (0..WORD_BYTES).rev() {
            acc_e += e(l.value[i]);
            suffix[i] = acc_e.clone();
        }
        for i in 0..WORD_BYTES {
            let da: AB::Expr = e(l.new_a[i]) - e(l.old_a[i]);
            let db: AB::Expr = e(l.new_b[i]) - e(l.old_b[i]);
            builder.assert_zero(e(l.is_load) * da.clone());
            builder.assert_zero(e(l.is_load) * db.clone());
            builder.assert_zero(e(l.is_store) * (one.clone() - prefix[i].clone()) * da.clone());
            builder.assert_zero(e(l.is_store) * prefix[i].clone() * db);
            builder.assert_zero(e(l.is_store8) * (one.clone() - e(l.shift[i])) * da.clone());
            builder.assert_zero(
                e(l.is_chunk) * (one.clone() - prefix[i].clone() * suffix[i].clone()) * da,
            );
        }

        // ---- The value of a load or store is the 32 bytes from byte k of A on (into B) ----
        let ld_st: AB::Expr = e(l.is_load) + e(l.is_store);
        for j in 0..WORD_BYTES {
            let mut window = AB::Expr::ZERO;
            for (i, &f) in l.shift.iter().enumerate() {
                let x = i + j;
                let byte = if x < WORD_BYTES {
                    l.new_a[x]
                } else {
                    l.new_b[x - WORD_BYTES]
                };
                window += e(f) * e(byte);
            }
            builder.assert_zero(ld_st.clone() * (e(l.value[j]) - window));
        }
        // MSTORE8 writes the value's lowest byte at byte k.
        let at_k: AB::Expr = l
            .shift
            .iter()
            .zip(&l.new_a)
            .map(|(&f, &b)| e(f) * e(b))
            .sum();
        builder.assert_zero(e(l.is_store8) * (at_k - e(l.value[WORD_BYTES - 1])));

        // ---- The CPU's op: offset = 32 word + k, value limbs from the bytes ----
        let offset: AB::Expr = base.clone() + k.clone();
        let off_lo: AB::Expr = offset - e(l.off_hi) * c(1 << 16);
        let opcode: AB::Expr = e(l.is_load) * c(opcodes::MLOAD as u32)
            + e(l.is_store) * c(opcodes::MSTORE as u32)
            + e(l.is_store8) * c(opcodes::MSTORE8 as u32);
        let limbs = (0..WORD_BYTES / 2).map(|m| {
            e(l.value[WORD_BYTES - 2 - 2 * m]) * c(256) + e(l.value[WORD_BYTES - 1 - 2 * m])
        });
        let op_fields: Vec<AB::Expr> = [e(l.ctx), e(l.ts), opcode, off_lo, e(l.off_hi)]
            .into_iter()
            .chain(limbs)
            .chain([e(l.mw), e(l.mw_next), e(l.cost)])
            .collect();

        // ---- Memory expansion: the size after the access covers it, the gas is
        // 3 + 3 (words after - words before) + (words after^2 - words before^2) / 512 ----
        builder.assert_bool(l.expand);
        builder.assert_zero(e(l.expand) * (one.clone() - is_op.clone()));
        let end: AB::Expr = base.clone() + k.clone() + c(WORD_BYTES as u32)
            - e(l.is_store8) * c(WORD_BYTES as u32 - 1);
        builder.assert_zero(is_op.clone() * (one.clone() - e(l.expand)) * (e(l.mw_next) - e(l.mw)));
        let gap: AB::Expr = e(l.expand) * (e(l.mw_next) * c(32) - end.clone())
            + (one.clone() - e(l.expand)) * (e(l.mw) * c(32) - end.clone());
        builder.assert_zero(is_op.clone() * (gap - e(l.gap_lo) - e(l.gap_hi) * c(1 << 16)));
        builder.assert_zero(e(l.expand) * e(l.gap_hi));
        // Expanding: the gap is below 32 (2048 gap < 2^16); else below 2^30.
        buses::U16.lookup_key(
            builder,
            [e(l.gap_lo) * (one.clone() + e(l.expand) * c(2047))],
            bool1(is_op.clone()),
        );
        buses::U16.lookup_key(builder, [e(l.gap_hi) * c(4)], bool1(is_op.clone()));
        builder.assert_zero(
            e(l.expand)
                * (end - e(l.mw) * c(32) - one.clone() - e(l.grow_lo) - e(l.grow_hi) * c(1 << 16)),
        );
        buses::U16.lookup_key(builder, [l.grow_lo], bool1(e(l.expand)));
        buses::U16.lookup_key(builder, [e(l.grow_hi) * c(4)], bool1(e(l.expand)));
        let mut quot: Vec<AB::Expr> = Vec::with_capacity(2);
        for (t, x) in [l.mw, l.mw_next].into_iter().enumerate() {
            let (lo, hi, s, r) = (l.sq_lo[t], l.sq_hi[t], l.sq_s[t], l.sq_r[t]);
            builder.assert_zero(is_op.clone() * (e(x) - e(lo) - e(hi) * c(1 << 10)));
            builder.assert_zero(is_op.clone() * (e(lo) * e(lo) - e(s) * c(512) - e(r)));
            buses::U16.lookup_key(builder, [e(lo) * c(64)], bool1(is_op.clone()));
            buses::U16.lookup_key(builder, [e(hi) * c(64)], bool1(is_op.clone()));
            buses::U16.lookup_key(builder, [e(r) * c(128)], bool1(is_op.clone()));
            quot.push(e(hi) * e(hi) * c(1 << 11) + e(lo) * e(hi) * c(4) + e(s));
        }
        builder.assert_zero(
            is_op.clone()
                * (e(l.cost) - c(3) - (e(l.mw_next) - e(l.mw)) * c(3) - quot[1].clone()
                    + quot[0].clone()),
        );
        buses::MEMORY_OP.receive(builder, op_fields, bool1(is_op.clone()));
        // The offset's high limb below 2^13 (op rows) / the context below 2^16 (bound rows).
        buses::U16.lookup_key(
            builder,
            [is_op.clone() * e(l.off_hi) * c(8) + e(l.is_bound) * e(l.ctx)],
            bool1(is_op.clone() + e(l.is_bound)),
        );

        // ---- Written bytes are bytes (stores, chunks, carried initial content) ----
        let chunk_or_bound: AB::Expr = e(l.is_chunk) + e(l.is_bound);
        for m in 0..WORD_BYTES / 2 {
            let pick = |x: usize| -> AB::Expr {
                e(l.value[x]) + chunk_or_bound.clone() * (e(l.new_a[x]) - e(l.value[x]))
            };
            let mut mult: AB::Expr = e(l.is_store) + e(l.is_chunk) + e(l.carried);
            if m == WORD_BYTES / 2 - 1 {
                mult += e(l.is_store8);
            }
            buses::BYTE_PAIR.lookup_key(builder, [pick(2 * m + 1), pick(2 * m)], bool1(mult));
        }

        // ---- Chunks: word A's part of the step's area [start, end) ----
        let mut g_sum = AB::Expr::ZERO;
        let mut last = AB::Expr::ZERO;
        for (j, &g) in l.value.iter().enumerate() {
            builder.assert_zero(e(l.is_chunk) * e(g) * (e(g) - one.clone()));
            g_sum += e(g);
            last += e(g) * c(j as u32 + 1);
        }
        builder.assert_zero(e(l.is_chunk) * (g_sum - one.clone()));
        builder.assert_zero(e(l.start_before) * (one.clone() - e(l.is_chunk)));
        builder.assert_zero(e(l.end_after) * (one.clone() - e(l.is_chunk)));
        // It starts at byte k of A, or before A (then k = 0 and 32 word - start >= 0).
        builder.assert_zero(
            e(l.is_chunk) * (one.clone() - e(l.start_before)) * (e(l.start) - base.clone() - k),
        );
        builder.assert_zero(e(l.start_before) * (one.clone() - e(l.shift[0])));
        builder.assert_zero(
            e(l.start_before) * (base.clone() - e(l.start) - e(l.db_lo) - e(l.db_hi) * c(1 << 16)),
        );
        // It ends after byte `last - 1` of A, or after A (then the last byte is 31 and
        // end - 32 word - 32 >= 0).
        builder.assert_zero(
            e(l.is_chunk) * (one.clone() - e(l.end_after)) * (e(l.end) - base.clone() - last),
        );
        builder.assert_zero(e(l.end_after) * (one.clone() - e(l.value[WORD_BYTES - 1])));
        builder.assert_zero(
            e(l.end_after)
                * (e(l.end)
                    - base.clone()
                    - c(WORD_BYTES as u32)
                    - e(l.de_lo)
                    - e(l.de_hi) * c(1 << 16)),
        );
        buses::U16.lookup_key(builder, [l.de_lo], bool1(e(l.end_after)));
        buses::U16.lookup_key(builder, [e(l.de_hi) * c(4)], bool1(e(l.end_after)));
        buses::MEMORY_AREA.lookup_key(builder, [l.ctx, l.ts, l.start, l.end], bool1(e(l.is_chunk)));

        // ---- Bound rows: initial content zero unless carried (which needs allow_init) ----
        builder.assert_zero(e(l.is_bound) * e(l.ts));
        builder.assert_zero(e(l.carried) * (one.clone() - e(l.is_bound)));
        for &b in &l.new_a {
            builder.assert_zero(e(l.is_bound) * (one.clone() - e(l.carried)) * e(b));
        }
        buses::MEMORY_CARRY.lookup_key(builder, [one.clone()], bool1(e(l.carried)));
        // Carried words are tokens of the carry table's commitments (`chips::carry`): the
        // initial content taken in, the final content handed on. Only bound rows hand on (one
        // per word, so none twice); a word whose context may still run must be handed on unless
        // it ends zero (which the next shard reads anyway): a row neither carried out nor of a
        // context that ended in the shard (`dead`, looked up from its last CPU step) ends zero.
        builder.assert_zero(e(l.out) * (one.clone() - e(l.is_bound)));
        let final_sum: AB::Expr = l.old_a.iter().map(|&b| e(b)).sum();
        builder.assert_zero((e(l.is_bound) - e(l.out) - e(l.dead)) * final_sum);
        buses::CONTEXT_END.lookup_key(builder, [l.ctx], bool1(e(l.dead)));
        let carried_token = |bytes: &[AB::Var; WORD_BYTES]| -> Vec<AB::Expr> {
            let b: Vec<AB::Expr> = bytes.iter().map(|&x| e(x)).collect();
            [e(l.ctx), e(l.word)]
                .into_iter()
                .chain(memory_groups(&b))
                .collect()
        };
        send_token(
            builder,
            AB::Expr::from_u32(DIR_IN),
            e(l.pos_in),
            TokenKind::Memory,
            &carried_token(&l.new_a),
            e(l.carried),
        );
        send_token(
            builder,
            AB::Expr::from_u32(DIR_OUT),
            e(l.pos_out),
            TokenKind::Memory,
            &carried_token(&l.old_a),
            e(l.out),
        );
        // Bound rows come first, with strictly increasing (context, word): one init and one
        // final token per word.
        builder
            .when_transition()
            .assert_zero(e(n.is_bound) * (one.clone() - e(l.is_bound)));
        builder
            .when_transition()
            .assert_eq(l.more, e(l.is_bound) * e(n.is_bound));
        builder.when_last_row().assert_zero(l.more);
        builder.assert_zero(e(l.same_ctx) * (one.clone() - e(l.more)));
        builder
            .when_transition()
            .assert_zero(e(l.same_ctx) * (e(n.ctx) - e(l.ctx)));
        let key_gap: AB::Expr = e(l.same_ctx) * (e(n.word) - e(l.word) - one.clone())
            + (one.clone() - e(l.same_ctx)) * (e(n.ctx) - e(l.ctx) - one.clone());
        builder
            .when_transition()
            .assert_zero(e(l.more) * (key_gap - e(l.da_lo) - e(l.da_hi) * c(1 << 16)));

        // ---- The memory bus: each access takes its words' tokens and puts back new ones ----
        let token = |word: AB::Expr, bytes: &[AB::Var; WORD_BYTES], ts: AB::Var| {
            [e(l.ctx), word]
                .into_iter()
                .chain(bytes.iter().map(|&b| e(b)))
                .chain([e(ts)])
                .collect::<Vec<AB::Expr>>()
        };
        buses::MEMORY.send(
            builder,
            token(e(l.word), &l.new_a, l.ts),
            bool1(real.clone()),
        );
        buses::MEMORY.receive(builder, token(e(l.word), &l.old_a, l.ts_a), bool1(real));
        let word_b: AB::Expr = e(l.word) + one.clone();
        buses::MEMORY.send(
            builder,
            token(word_b.clone(), &l.new_b, l.ts),
            bool1(touch_b.clone()),
        );
        buses::MEMORY.receive(builder, token(word_b, &l.old_b, l.ts_b), bool1(touch_b));
    }
}
