use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;

use super::field::CarryField;
use super::{DATA, RATE, TokenKind};
use crate::buses;
use crate::chips::bool1;

/// The table's columns over `F`: the permutation, then `is_in`, `is_out`, `pos`.
pub const fn carry_width<F: CarryField>() -> usize {
    F::P2_WIDTH + 3
}
/// Public values: `digest_in[8]`, `digest_out[8]`.
pub const NUM_CARRY_PUBLIC: usize = 2 * RATE;

/// The carried-state commitment table (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CarryAir;

impl<F: CarryField> BaseAir<F> for CarryAir {
    fn width(&self) -> usize {
        carry_width::<F>()
    }
    fn num_public_values(&self) -> usize {
        NUM_CARRY_PUBLIC
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        // The next row's `acc`, flags and position.
        let p = F::P2_WIDTH;
        (0..RATE).chain([p, p + 1, p + 2]).collect()
    }
}

impl<AB: InteractionBuilder> Air<AB> for CarryAir
where
    AB::F: CarryField,
{
    fn eval(&self, builder: &mut AB) {
        AB::F::eval_permutation(builder);
        let p2 = AB::F::P2_WIDTH;
        let (is_in_col, is_out_col, pos_col) = (p2, p2 + 1, p2 + 2);
        let main = builder.main();
        let l: Vec<AB::Var> = main.current_slice().to_vec();
        let n: Vec<AB::Var> = main.next_slice().to_vec();
        let pv: Vec<AB::Expr> = builder.public_values().iter().map(|&x| x.into()).collect();
        let (d_in, d_out) = pv.split_at(RATE);
        let e = |v: AB::Var| -> AB::Expr { v.into() };
        let one = AB::Expr::ONE;
        // `acc` is the input's first half, the absorbed chunk its second; `out` the first half
        // of the last round's state.
        let out = &l[p2 - 16..p2 - 16 + RATE];
        let (is_in, is_out, pos) = (e(l[is_in_col]), e(l[is_out_col]), e(l[pos_col]));
        let (n_in, n_out, n_pos) = (e(n[is_in_col]), e(n[is_out_col]), e(n[pos_col]));

        builder.assert_bool(is_in.clone());
        builder.assert_bool(is_out.clone());
        builder.assert_zero(is_in.clone() * is_out.clone());
        let active = is_in.clone() + is_out.clone();

        // The first row starts a chain at position 0 from `acc = 0`; without in rows (they
        // come first) the in digest is empty, and without any rows the out digest too.
        {
            let mut first = builder.when_first_row();
            first.assert_zero(pos.clone());
            for i in 0..RATE {
                first.assert_zero(active.clone() * e(l[i]));
                first.assert_zero((one.clone() - is_in.clone()) * d_in[i].clone());
                first.assert_zero(
                    (one.clone() - is_in.clone())
                        * (one.clone() - is_out.clone())
                        * d_out[i].clone(),
                );
            }
        }

        // Rows come as in rows, out rows, padding (neither). That order needs no constraint of
        // its own: an out block after padding, or a second in block, would leave a digest
        // forced to zero by the rules above and below, or two chain ends equal to one digest.
        {
            let mut t = builder.when_transition();
            // Within a direction the chain and the positions continue; the out chain starts
            // afresh after the in rows.
            let cont = n_in.clone() + n_out.clone() * is_out.clone();
            let fresh = n_out.clone() * is_in.clone();
            t.assert_zero(cont.clone() * (n_pos.clone() - pos.clone() - one.clone()));
            t.assert_zero(fresh.clone() * n_pos.clone());
            // A block's last row holds its digest; in rows followed by no out rows leave the
            // out digest empty.
            let end_in = is_in.clone() * (one.clone() - n_in.clone());
            let end_out = is_out.clone() * (one.clone() - n_out.clone());
            for i in 0..RATE {
                t.assert_zero(cont.clone() * (e(n[i]) - e(out[i])));
                t.assert_zero(fresh.clone() * e(n[i]));
                t.assert_zero(end_in.clone() * (e(out[i]) - d_in[i].clone()));
                t.assert_zero(end_out.clone() * (e(out[i]) - d_out[i].clone()));
                t.assert_zero(end_in.clone() * (one.clone() - n_out.clone()) * d_out[i].clone());
            }
        }
        {
            let mut last = builder.when_last_row();
            for i in 0..RATE {
                last.assert_zero(is_in.clone() * (e(out[i]) - d_in[i].clone()));
                last.assert_zero(is_out.clone() * (e(out[i]) - d_out[i].clone()));
                last.assert_zero(is_in.clone() * d_out[i].clone());
            }
        }

        // Each active row absorbs the chunk received at its direction and position.
        let msg: Vec<AB::Expr> = [is_out, pos]
            .into_iter()
            .chain(l[RATE..16].iter().map(|&x| e(x)))
            .collect();
        buses::CARRY.receive(builder, msg, bool1(active));
    }
}

/// Send a token's chunks on the `carry` bus: chunk `j` at position `pos + j` in direction
/// `dir` (0 in, 1 out), with multiplicity `count` (a boolean column). `data` are the token's
/// elements in [`super::CarryToken::data`]'s order.
pub fn send_token<AB: InteractionBuilder>(
    builder: &mut AB,
    dir: AB::Expr,
    pos: AB::Expr,
    kind: TokenKind,
    data: &[AB::Expr],
    count: AB::Expr,
) {
    debug_assert_eq!(data.len(), kind.data_len());
    for (j, part) in data.chunks(DATA).enumerate() {
        let msg: Vec<AB::Expr> = [
            dir.clone(),
            pos.clone() + AB::Expr::from_usize(j),
            AB::Expr::from_u32(kind.tag(j)),
        ]
        .into_iter()
        .chain(part.iter().cloned())
        .chain(core::iter::repeat_n(AB::Expr::ZERO, DATA - part.len()))
        .collect();
        buses::CARRY.send(builder, msg, bool1(count.clone()));
    }
}

/// A memory word's 32 byte expressions as the 11 data groups of [`super::CarryToken::data`].
pub fn memory_groups<E: PrimeCharacteristicRing + Clone>(bytes: &[E]) -> Vec<E> {
    bytes
        .chunks(3)
        .map(|g| {
            g.iter()
                .rev()
                .fold(E::ZERO, |acc, b| acc * E::from_u32(256) + b.clone())
        })
        .collect()
}
