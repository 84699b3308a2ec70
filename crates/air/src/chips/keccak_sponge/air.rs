use core::borrow::Borrow;

use p3_air::{AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;

use super::columns::{
    CAPACITY_LIMBS, DIGEST_BYTES, NUM_SPONGE_COLS, RATE, RATE_LANES, RATE_LIMBS, SpongeCols,
};
use crate::buses;
use crate::chips::bool1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeccakSpongeAir;

/// The column index of every field of [`SpongeCols`].
pub fn col_map() -> SpongeCols<usize> {
    let idx: Vec<usize> = (0..NUM_SPONGE_COLS).collect();
    *Borrow::<SpongeCols<usize>>::borrow(&idx[..])
}

impl<F> BaseAir<F> for KeccakSpongeAir {
    fn width(&self) -> usize {
        NUM_SPONGE_COLS
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        // The chain to the next block: its flags, hash, index and state before.
        let m = col_map();
        let mut cols = vec![m.is_real, m.is_first, m.ctx, m.ts, m.offset, m.len, m.block];
        cols.extend(m.state_bytes);
        cols.extend(m.capacity);
        cols
    }
}

impl KeccakSpongeAir {
    pub fn eval<AB: InteractionBuilder>(&self, builder: &mut AB) {
        let main = builder.main();
        let l: &SpongeCols<AB::Var> = main.current_slice().borrow();
        let n: &SpongeCols<AB::Var> = main.next_slice().borrow();
        let one = AB::Expr::ONE;
        let c = |v: u32| AB::Expr::from_u32(v);
        let e = |v: AB::Var| -> AB::Expr { v.into() };

        // ---- Flags: first and last blocks are real ----
        for f in [l.is_real, l.is_first, l.is_last] {
            builder.assert_bool(f);
        }
        builder.assert_zero(e(l.is_first) * (one.clone() - e(l.is_real)));
        builder.assert_zero(e(l.is_last) * (one.clone() - e(l.is_real)));
        // A real block that is not the last continues on the next row.
        let cont: AB::Expr = e(l.is_real) - e(l.is_last);

        // ---- Padding: the last block holds the message's last `len - 136 block` (< 136)
        // bytes, the others 136 (their remainder minus 136 is range-checked) ----
        let rem: AB::Expr = e(l.len) - e(l.block) * c(RATE as u32);
        let mut pad_sum = AB::Expr::ZERO;
        let mut pad_pos = AB::Expr::ZERO;
        // is_msg[j] = [j < remaining bytes] on real rows.
        let mut is_msg: Vec<AB::Expr> = Vec::with_capacity(RATE);
        for (j, &p) in l.pad_at.iter().enumerate() {
            builder.assert_bool(p);
            pad_sum += e(p);
            pad_pos += e(p) * c(j as u32);
            is_msg.push(e(l.is_real) - pad_sum.clone());
        }
        builder.assert_eq(pad_sum, l.is_last);
        builder.assert_zero(e(l.is_last) * (pad_pos - rem.clone()));
        builder.assert_zero(
            cont.clone() * (rem.clone() - c(RATE as u32) - e(l.rem_lo) - e(l.rem_hi) * c(1 << 16)),
        );
        buses::U16.lookup_key(builder, [e(l.rem_lo)], bool1(cont.clone()));
        buses::U16.lookup_key(builder, [e(l.rem_hi) * c(4)], bool1(cont.clone()));
        // pad10*1 with Keccak's domain byte: 0x01 after the message, 0x80 in the last byte.
        for (j, m) in is_msg.iter().enumerate() {
            let end = if j == RATE - 1 {
                e(l.is_last) * c(0x80)
            } else {
                AB::Expr::ZERO
            };
            builder.assert_eq(l.padded[j], m.clone() * e(l.msg[j]) + e(l.pad_at[j]) + end);
        }

        // ---- Message lanes: each lane holding a message byte, from the bytes' source ----
        for lane in 0..RATE_LANES {
            let fields: Vec<AB::Expr> = [
                e(l.ctx),
                e(l.ts),
                e(l.offset),
                e(l.len),
                e(l.block) * c(RATE_LANES as u32) + c(lane as u32),
            ]
            .into_iter()
            .chain(l.msg[8 * lane..8 * lane + 8].iter().map(|&b| e(b)))
            .collect();
            buses::KECCAK_LANE.receive(builder, fields, bool1(is_msg[8 * lane].clone()));
        }

        // ---- Absorb: state XOR padded block (bytes; the AND table makes both bytes) ----
        for j in 0..RATE {
            buses::AND8.lookup_key(
                builder,
                [e(l.state_bytes[j]), e(l.padded[j]), e(l.and[j])],
                bool1(e(l.is_real)),
            );
        }
        let xor =
            |j: usize| -> AB::Expr { e(l.state_bytes[j]) + e(l.padded[j]) - e(l.and[j]) * c(2) };
        let absorbed: Vec<AB::Expr> = (0..RATE_LIMBS)
            .map(|m| xor(2 * m) + xor(2 * m + 1) * c(256))
            .chain(l.capacity.iter().map(|&x| e(x)))
            .collect();
        // The first block starts from the zero state.
        builder.assert_zero(e(l.is_first) * e(l.block));
        for &b in l.state_bytes.iter().chain(&l.capacity) {
            builder.assert_zero(e(l.is_first) * e(b));
        }
        buses::KECCAK_PERM.receive(
            builder,
            absorbed
                .into_iter()
                .chain(l.state_out.iter().map(|&x| e(x))),
            bool1(e(l.is_real)),
        );

        // ---- Digest: the first 32 bytes of the last state, as an EVM word ----
        for m in 0..DIGEST_BYTES / 2 {
            let (lo, hi) = (l.digest[2 * m], l.digest[2 * m + 1]);
            builder.assert_zero(e(l.is_last) * (e(l.state_out[m]) - e(lo) - e(hi) * c(256)));
            buses::BYTE_PAIR.lookup_key(builder, [e(lo), e(hi)], bool1(e(l.is_last)));
        }
        // Word limb i (little-endian) holds digest bytes 30 - 2i (high) and 31 - 2i.
        let word = (0..DIGEST_BYTES / 2)
            .map(|i| e(l.digest[30 - 2 * i]) * c(256) + e(l.digest[31 - 2 * i]));
        let g = &l.gas;
        buses::KECCAK_DIGEST.send(
            builder,
            [e(l.ctx), e(l.ts), e(l.offset), e(l.len)]
                .into_iter()
                .chain([e(g.mw), e(g.mw_next), e(g.cost)])
                .chain(word),
            bool1(e(l.is_last)),
        );

        // ---- Gas and memory of the step: 30 + 6 words + expansion to cover [offset, end)
        // where the length is not zero ----
        builder.assert_bool(g.has_len);
        builder.assert_bool(g.expand);
        builder.assert_zero(e(g.has_len) * (one.clone() - e(l.is_last)));
        builder.assert_zero(e(g.expand) * (one.clone() - e(g.has_len)));
        builder.assert_zero(e(l.is_last) * (e(l.len) * e(g.len_inv) - e(g.has_len)));
        builder.assert_zero(e(l.is_last) * e(l.len) * (one.clone() - e(g.has_len)));
        builder.assert_zero(e(l.is_last) * (e(g.words) * c(32) - e(l.len) - e(g.word_pad)));
        buses::U16.lookup_key(builder, [e(g.word_pad) * c(2048)], bool1(e(l.is_last)));
        let end: AB::Expr = e(l.offset) + e(l.len);
        builder.assert_zero(e(l.is_last) * (one.clone() - e(g.expand)) * (e(g.mw_next) - e(g.mw)));
        let gap: AB::Expr = e(g.expand) * (e(g.mw_next) * c(32) - end.clone())
            + (one.clone() - e(g.expand)) * (e(g.mw) * c(32) - end.clone());
        builder.assert_zero(e(g.has_len) * (gap - e(g.gap_lo) - e(g.gap_hi) * c(1 << 16)));
        builder.assert_zero(e(g.expand) * e(g.gap_hi));
        // Expanding: the gap is below 32 (2048 gap < 2^16); else below 2^30.
        buses::U16.lookup_key(
            builder,
            [e(g.gap_lo) * (one.clone() + e(g.expand) * c(2047))],
            bool1(e(g.has_len)),
        );
        buses::U16.lookup_key(builder, [e(g.gap_hi) * c(4)], bool1(e(g.has_len)));
        builder.assert_zero(
            e(g.expand)
                * (end - e(g.mw) * c(32) - one.clone() - e(g.grow_lo) - e(g.grow_hi) * c(1 << 16)),
        );
        buses::U16.lookup_key(builder, [e(g.grow_lo)], bool1(e(g.expand)));
        buses::U16.lookup_key(builder, [e(g.grow_hi) * c(4)], bool1(e(g.expand)));
        let mut quot: Vec<AB::Expr> = Vec::with_capacity(2);
        for (t, x) in [g.mw, g.mw_next].into_iter().enumerate() {
            let (lo, hi, s, r) = (g.sq_lo[t], g.sq_hi[t], g.sq_s[t], g.sq_r[t]);
            builder.assert_zero(e(l.is_last) * (e(x) - e(lo) - e(hi) * c(1 << 10)));
            builder.assert_zero(e(l.is_last) * (e(lo) * e(lo) - e(s) * c(512) - e(r)));
            buses::U16.lookup_key(builder, [e(lo) * c(64)], bool1(e(l.is_last)));
            buses::U16.lookup_key(builder, [e(hi) * c(64)], bool1(e(l.is_last)));
            buses::U16.lookup_key(builder, [e(r) * c(128)], bool1(e(l.is_last)));
            quot.push(e(hi) * e(hi) * c(1 << 11) + e(lo) * e(hi) * c(4) + e(s));
        }
        builder.assert_zero(
            e(l.is_last)
                * (e(g.cost)
                    - c(30)
                    - e(g.words) * c(6)
                    - (e(g.mw_next) - e(g.mw)) * c(3)
                    - quot[1].clone()
                    + quot[0].clone()),
        );

        // ---- Chain: a continuing block's next row is the same hash's next block, from its
        // state after; a block that is not a hash's first follows a continuing one ----
        let mut t = builder.when_transition();
        t.assert_zero(cont.clone() * (one.clone() - e(n.is_real)));
        t.assert_zero(cont.clone() * e(n.is_first));
        for (a, b) in [
            (n.ctx, l.ctx),
            (n.ts, l.ts),
            (n.offset, l.offset),
            (n.len, l.len),
        ] {
            t.assert_zero(cont.clone() * (e(a) - e(b)));
        }
        t.assert_zero(cont.clone() * (e(n.block) - e(l.block) - one.clone()));
        for m in 0..RATE_LIMBS {
            t.assert_zero(
                cont.clone()
                    * (e(n.state_bytes[2 * m]) + e(n.state_bytes[2 * m + 1]) * c(256)
                        - e(l.state_out[m])),
            );
        }
        for k in 0..CAPACITY_LIMBS {
            t.assert_zero(cont.clone() * (e(n.capacity[k]) - e(l.state_out[RATE_LIMBS + k])));
        }
        t.assert_zero(e(n.is_real) * (one.clone() - e(n.is_first)) * (one.clone() - cont.clone()));
        builder
            .when_first_row()
            .assert_zero(e(l.is_real) * (one.clone() - e(l.is_first)));
        builder.when_last_row().assert_zero(cont);
    }
}
