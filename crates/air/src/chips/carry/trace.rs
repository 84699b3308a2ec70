use p3_matrix::dense::RowMajorMatrix;

use super::air::carry_width;
use super::field::CarryField;
use super::{DATA, RATE, TokenKind};
use crate::chips::natural_height;
use crate::chips::stack_boundary::trace::{ResumeToken, StackToken};

/// A carried token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CarryToken {
    Stack(StackToken),
    Resume(ResumeToken),
    /// A memory word with its content.
    Memory {
        ctx: u32,
        word: u32,
        bytes: [u8; 32],
    },
}

impl CarryToken {
    pub fn kind(&self) -> TokenKind {
        match self {
            CarryToken::Stack(_) => TokenKind::Stack,
            CarryToken::Resume(_) => TokenKind::Resume,
            CarryToken::Memory { .. } => TokenKind::Memory,
        }
    }

    /// The token's data elements (`TokenKind::len` of them), as the senders' AIRs form them.
    pub fn data(&self) -> Vec<u32> {
        match self {
            CarryToken::Stack(t) => [t.ctx, t.slot]
                .into_iter()
                .chain(t.value.iter().map(|&v| v as u32))
                .chain([t.ts])
                .collect(),
            CarryToken::Resume(r) => r.to_vec(),
            CarryToken::Memory { ctx, word, bytes } => [*ctx, *word]
                .into_iter()
                .chain(
                    bytes
                        .chunks(3)
                        .map(|g| g.iter().rev().fold(0u32, |acc, &b| (acc << 8) | b as u32)),
                )
                .collect(),
        }
    }
}

/// A token's chunks: `[tag, 7 data elements]` each, the last one zero-padded.
pub fn chunks<F: CarryField>(token: &CarryToken) -> Vec<[F; RATE]> {
    let kind = token.kind();
    let data = token.data();
    debug_assert_eq!(data.len(), kind.data_len());
    data.chunks(DATA)
        .enumerate()
        .map(|(j, part)| {
            let mut c = [F::ZERO; RATE];
            c[0] = F::from_u32(kind.tag(j));
            for (x, &d) in c[1..].iter_mut().zip(part) {
                *x = F::from_u32(d);
            }
            c
        })
        .collect()
}

/// The chain's inputs `acc ‖ chunk` for `tokens`, and the final `acc` (zero if empty).
fn chain<F: CarryField>(tokens: &[CarryToken]) -> (Vec<[F; 16]>, [F; RATE]) {
    let mut acc = [F::ZERO; RATE];
    let mut inputs = Vec::new();
    for c in tokens.iter().flat_map(chunks) {
        let mut state = [F::ZERO; 16];
        state[..RATE].copy_from_slice(&acc);
        state[RATE..].copy_from_slice(&c);
        inputs.push(state);
        acc = compress(state);
    }
    (inputs, acc)
}

/// The commitment to a token sequence: the table's digest for it (zero if empty).
pub fn commitment<F: CarryField>(tokens: &[CarryToken]) -> [F; RATE] {
    chain(tokens).1
}

/// One row of the table: the permutation's input `acc ‖ chunk`, `is_in`, `is_out`, `pos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Row<F> {
    pub input: [F; 16],
    pub is_in: u32,
    pub is_out: u32,
    pub pos: usize,
}

/// The carry table for `incoming` then `outgoing`, padded to `height` rows (at least its
/// natural height), and its public values `[digest_in, digest_out]`.
pub fn generate<F: CarryField>(
    incoming: &[CarryToken],
    outgoing: &[CarryToken],
    height: usize,
) -> (RowMajorMatrix<F>, Vec<F>) {
    let (ins, d_in) = chain(incoming);
    let (outs, d_out) = chain(outgoing);
    let rows: Vec<Row<F>> = ins
        .iter()
        .enumerate()
        .map(|(pos, &input)| Row {
            input,
            is_in: 1,
            is_out: 0,
            pos,
        })
        .chain(outs.iter().enumerate().map(|(pos, &input)| Row {
            input,
            is_in: 0,
            is_out: 1,
            pos,
        }))
        .collect();
    let public = d_in.iter().chain(&d_out).copied().collect();
    (assemble(&rows, height), public)
}

/// The table of `rows`, padded to `height` rows (at least its natural height) with rows that
/// permute the zero state and are neither in nor out.
pub(crate) fn assemble<F: CarryField>(rows: &[Row<F>], height: usize) -> RowMajorMatrix<F> {
    let n = height.max(natural_height(rows.len()));
    let mut inputs: Vec<[F; 16]> = rows.iter().map(|r| r.input).collect();
    inputs.resize(n, [F::ZERO; 16]);
    let perm = F::permutation_rows(inputs);
    let (p2, width) = (F::P2_WIDTH, carry_width::<F>());
    let mut values = vec![F::ZERO; n * width];
    for (i, (out, p)) in values
        .chunks_exact_mut(width)
        .zip(perm.values.chunks_exact(p2))
        .enumerate()
    {
        out[..p2].copy_from_slice(p);
        if let Some(r) = rows.get(i) {
            out[p2] = F::from_u32(r.is_in);
            out[p2 + 1] = F::from_u32(r.is_out);
            out[p2 + 2] = F::from_usize(r.pos);
        }
    }
    RowMajorMatrix::new(values, width)
}

/// `acc ‖ chunk` → the first half of its permutation.
pub(crate) fn compress<F: CarryField>(input: [F; 16]) -> [F; RATE] {
    let out = F::permute(input);
    out[..RATE].try_into().expect("8 lanes")
}
