//! The Poseidon2 table **on the memory bus**: one width-16 permutation per row
//! (`p3_poseidon2_air`, the round constants of the MMCS and challenger permutation, as
//! [`super::poseidon2`]), whose 16 input lanes are read from memory and whose 16 output lanes
//! are written to memory, each lane one base word `(v, 0, 0, 0)`.
//!
//! - Preprocessed (the program): `in_addr[16]`, `out_addr[16]`, `is_real`, `merkle`,
//!   `dir_addr`.
//! - Main: the permutation's 164 columns, then `read[16]` (the words read, in lane order),
//!   `dir`, `out_multiplicity[16]`.
//!
//! Lane `i` reads `mem(in_addr_i, read_i, 0, 0, 0)`. Reading a word as `(v, 0, 0, 0)` is what
//! makes it a base element: a hinted coefficient with a nonzero upper coordinate has no
//! matching write. In **Merkle mode** only lanes 0..8 (the current node's digest) are read;
//! lanes 8..16 are the sibling, a free witness of the row (any prover-chosen sibling is what a
//! Merkle proof allows; the root check decides), which saves 8 hinted words per level. The row
//! also reads the bit `dir` from `dir_addr`, and the permutation's input is `read` when
//! `dir = 0` and its two halves swapped when `dir = 1` (`node‖sibling` or `sibling‖node`): the
//! query's index bit chooses the side with no ALU select. Outside Merkle mode `dir` is zero.
//! Output lane `i` writes `mem(out_addr_i, y_i, 0, 0, 0)` with a witness multiplicity; that is
//! sound because every address has one writer, as for the `Alu` table's out multiplicity (an
//! unread lane has multiplicity 0). Padding rows read nothing and write nothing (their
//! multiplicities are constrained to zero).
//!
//! A **digest check** row (preprocessed `check = 1`: the last hash of a Merkle path) writes no
//! output: lanes 0..8 *read* `mem(out_addr_i, y_i, 0, 0, 0)` instead, where `out_addr` are the
//! words of the root the path must reach, so the path's end is compared with the commitment on
//! the bus rather than by eight `Alu` assertions. The lane's interaction is the write's, with
//! multiplicity `m_i − check` and `check·m_i = 0` (no write may cancel the read); lanes 8..16
//! of such a row carry address 0 and multiplicity 0.
//!
//! Degree: the permutation is degree 3; the swap `read_i + dir·(read_j − read_i)` is degree 2;
//! `dir·(dir − 1)`, `(1 − merkle)·dir`, `(1 − is_real)·out_multiplicity_i` and `check·m_i` are degree 2. Interactions: 16 reads (8 in Merkle mode),
//! 16 writes and one direction read, 33 per row (p3-batch-stark packs two per LogUp column at degree 3).

use super::padded_rows;
use std::sync::Arc;

use p3_air::{Air, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;
use p3_uni_stark::SubAirBuilder;

use super::poseidon2::{Poseidon2Air16, Poseidon2Table, WIDTH};
use super::program::MEMORY_BUS;
use crate::config::Val;

/// One permutation over memory words: lane `i` reads `inputs[i]` and writes `outputs[i]`.
/// With `direction`, the row is in Merkle mode: only `inputs[..8]` (the node) are read, lanes
/// 8..16 take the next Merkle sibling of the program's witness (`inputs[8..]` are unused, 0),
/// and the bit at `direction` swaps the halves. With `check_digest`, `outputs[..8]` are words
/// already written that the first 8 output lanes must equal (read, not written), and
/// `outputs[8..]` are 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Poseidon2Op {
    pub inputs: [u32; WIDTH],
    pub outputs: [u32; WIDTH],
    pub direction: Option<u32>,
    pub check_digest: bool,
}

/// Half the state: a digest, or the sponge rate.
pub const HALF: usize = WIDTH / 2;

/// Preprocessed columns: `in_addr[16]`, `out_addr[16]`, `is_real`, `merkle`, `dir_addr`,
/// `check`.
pub const POSEIDON2_BUS_PREPROCESSED_WIDTH: usize = 2 * WIDTH + 4;
const PREP_IS_REAL: usize = 2 * WIDTH;
const PREP_MERKLE: usize = 2 * WIDTH + 1;
const PREP_DIR_ADDR: usize = 2 * WIDTH + 2;
const PREP_CHECK: usize = 2 * WIDTH + 3;

/// The permutation's columns (164).
pub fn permutation_width() -> usize {
    BaseAir::<Val>::width(&Poseidon2Table::default().air)
}

/// Main columns after the permutation's: `read[16]`, `dir`, `out_multiplicity[16]`.
pub const POSEIDON2_BUS_EXTRA_WIDTH: usize = 2 * WIDTH + 1;

/// What one executed row holds besides the permutation: the words read (lane order, before
/// any swap), the direction bit, and how often each output is read.
#[derive(Clone, Copy, Debug)]
pub struct Poseidon2Row {
    pub read: [Val; WIDTH],
    pub dir: Val,
    pub out_multiplicity: [Val; WIDTH],
}

impl Poseidon2Row {
    /// The permutation's input: `read`, or its halves swapped when `dir = 1`.
    pub fn permutation_input(&self) -> [Val; WIDTH] {
        core::array::from_fn(|i| {
            let j = (i + HALF) % WIDTH;
            self.read[i] + self.dir * (self.read[j] - self.read[i])
        })
    }
}

/// The table: the permutation AIR plus the program of its rows.
#[derive(Clone)]
pub struct Poseidon2BusAir {
    permutation: Poseidon2Air16,
    preprocessed: Arc<RowMajorMatrix<Val>>,
}

impl core::fmt::Debug for Poseidon2BusAir {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Poseidon2BusAir")
            .field(
                "rows",
                &(self.preprocessed.values.len() / POSEIDON2_BUS_PREPROCESSED_WIDTH),
            )
            .finish()
    }
}

impl Poseidon2BusAir {
    /// The table whose preprocessed columns are these operations, in order.
    /// `rows`: the table's height (at least the operations' rows, a power of two).
    pub fn new(ops: &[Poseidon2Op], rows: usize) -> Self {
        let w = POSEIDON2_BUS_PREPROCESSED_WIDTH;
        debug_assert!(rows >= padded_rows(ops.len()));
        let mut values = vec![Val::ZERO; rows * w];
        for (row, op) in ops.iter().enumerate() {
            let r = &mut values[row * w..][..w];
            for (slot, &addr) in r.iter_mut().zip(op.inputs.iter().chain(&op.outputs)) {
                *slot = Val::from_u32(addr);
            }
            if op.direction.is_some() {
                // The sibling lanes are not read.
                r[HALF..WIDTH].fill(Val::ZERO);
            }
            r[PREP_IS_REAL] = Val::ONE;
            if let Some(addr) = op.direction {
                r[PREP_MERKLE] = Val::ONE;
                r[PREP_DIR_ADDR] = Val::from_u32(addr);
            }
            r[PREP_CHECK] = Val::from_bool(op.check_digest);
        }
        Self {
            permutation: Poseidon2Table::default().air,
            preprocessed: Arc::new(RowMajorMatrix::new(values, w)),
        }
    }

    /// The main trace of executed rows (padding rows permute the zero state and touch nothing).
    pub fn trace(rows: &[Poseidon2Row], height: usize) -> RowMajorMatrix<Val> {
        let n = height;
        debug_assert!(n >= padded_rows(rows.len()));
        let mut inputs: Vec<[Val; WIDTH]> =
            rows.iter().map(Poseidon2Row::permutation_input).collect();
        // Padding rows permute the zero state (the permutation table pads the same way).
        inputs.resize(n, [Val::ZERO; WIDTH]);
        let permutation = Poseidon2Table::default().trace(&inputs);
        let pw = permutation.width;
        debug_assert_eq!(permutation.values.len(), n * pw);
        let width = pw + POSEIDON2_BUS_EXTRA_WIDTH;
        let mut values = vec![Val::ZERO; n * width];
        for (row, (out, perm)) in values
            .chunks_exact_mut(width)
            .zip(permutation.values.chunks_exact(pw))
            .enumerate()
        {
            out[..pw].copy_from_slice(perm);
            if let Some(r) = rows.get(row) {
                out[pw..pw + WIDTH].copy_from_slice(&r.read);
                out[pw + WIDTH] = r.dir;
                out[pw + WIDTH + 1..].copy_from_slice(&r.out_multiplicity);
            } else {
                // A padding row "reads" what its permutation takes in (the zero state).
                out[pw..pw + WIDTH].copy_from_slice(&perm[..WIDTH]);
            }
        }
        RowMajorMatrix::new(values, width)
    }
}

impl BaseAir<Val> for Poseidon2BusAir {
    fn width(&self) -> usize {
        BaseAir::<Val>::width(&self.permutation) + POSEIDON2_BUS_EXTRA_WIDTH
    }
    fn preprocessed_width(&self) -> usize {
        POSEIDON2_BUS_PREPROCESSED_WIDTH
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        Some((*self.preprocessed).clone())
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        vec![]
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for Poseidon2BusAir {
    fn eval(&self, builder: &mut AB) {
        let pw = BaseAir::<Val>::width(&self.permutation);
        // The permutation, on its own columns.
        {
            let mut sub: SubAirBuilder<'_, AB, Poseidon2Air16, AB::Var> =
                SubAirBuilder::new(builder, 0..pw);
            self.permutation.eval(&mut sub);
        }
        let main = builder.main();
        let row: Vec<AB::Var> = main.current_slice().to_vec();
        let prep: Vec<AB::Var> = builder.preprocessed().current_slice().to_vec();
        // `Poseidon2Cols` begins with the permutation's input state.
        let input = &row[..WIDTH];
        let output_start = pw - WIDTH;
        let output = &row[output_start..pw];
        let read = &row[pw..pw + WIDTH];
        let dir = row[pw + WIDTH];
        let out_multiplicity = &row[pw + WIDTH + 1..];
        let (is_real, merkle, dir_addr, check) = (
            prep[PREP_IS_REAL],
            prep[PREP_MERKLE],
            prep[PREP_DIR_ADDR],
            prep[PREP_CHECK],
        );

        // The direction: a bit, zero outside Merkle mode.
        builder.assert_bool(dir);
        builder.assert_zero((AB::Expr::ONE - merkle.into()) * dir.into());
        // input = read, halves swapped when dir = 1.
        for i in 0..WIDTH {
            let j = (i + HALF) % WIDTH;
            builder.assert_eq(
                input[i],
                read[i].into() + dir.into() * (read[j].into() - read[i].into()),
            );
        }

        let zero = || AB::Expr::ZERO;
        for (i, &r) in read.iter().enumerate() {
            // The sibling half of a Merkle row is not read.
            let reads: AB::Expr = if i < HALF {
                is_real.into()
            } else {
                is_real.into() - merkle.into()
            };
            MEMORY_BUS.lookup_key(
                builder,
                [prep[i].into(), r.into(), zero(), zero(), zero()],
                Count::bounded(reads, 1),
            );
        }
        MEMORY_BUS.lookup_key(
            builder,
            [dir_addr.into(), dir.into(), zero(), zero(), zero()],
            Count::bounded(merkle.into(), 1),
        );
        // A padding row writes nothing (its addresses are 0, which hand-written programs use).
        for &m in out_multiplicity {
            builder.assert_zero((AB::Expr::ONE - is_real.into()) * m.into());
        }
        for (i, (&y, &m)) in output.iter().zip(out_multiplicity).enumerate() {
            // A digest-check row reads the digest lanes (multiplicity −1) and writes nothing.
            let multiplicity: AB::Expr = if i < HALF {
                builder.assert_zero(check.into() * m.into());
                m.into() - check.into()
            } else {
                m.into()
            };
            MEMORY_BUS.table_entry(
                builder,
                [prep[WIDTH + i].into(), y.into(), zero(), zero(), zero()],
                multiplicity,
            );
        }
    }
}
