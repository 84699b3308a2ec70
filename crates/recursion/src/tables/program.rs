//! A straight-line program over a write-once memory, run by two tables on one LogUp bus
//! (design §1, first cut): `Const` writes constant words, `Alu` computes `out = a·b + c` in the
//! degree-4 extension from words it reads and writes its result. **The program is the
//! preprocessed columns** (addresses, constants, which rows are real), so it is fixed by the
//! verifying key; the values and the multiplicities are the witness.
//!
//! Bus `mem(addr, w0..w3)`: the writer of an address provides `(addr, value)` with
//! multiplicity = number of reads; each read looks it up once. The program writes every
//! address once (checked when it is run), so a read can only be balanced by the value written.

use std::collections::HashMap;
use std::sync::Arc;

use p3_air::{Air, BaseAir, WindowAccess};
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder, LookupBus};
use p3_matrix::dense::RowMajorMatrix;
use thiserror::Error;

use super::ext_alu::assert_mul_add;
use crate::config::{Challenge, Val};

/// The memory bus.
pub const MEMORY_BUS: LookupBus<'static> = LookupBus::new("recursion-memory");

/// Coordinates of a word (one extension element).
const D: usize = 4;

/// `out = a·b + c` over memory addresses: written to `out`, or, for an assertion, checked
/// against the word already at `out`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AluOp {
    pub a: u32,
    pub b: u32,
    pub c: u32,
    pub out: u32,
    pub assert: bool,
}

/// A straight-line program: constant words, hinted words (values supplied when it runs: proof
/// elements, inverses), then ALU operations in order.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub constants: Vec<(u32, Challenge)>,
    pub hints: Vec<u32>,
    /// Words equal to one of the proof's own public values: `(address, index)`.
    pub publics: Vec<(u32, usize)>,
    pub alu: Vec<AluOp>,
}

/// The main traces of a run: `Const`, `Hint`, `Alu`.
pub type ProgramTraces = [RowMajorMatrix<Val>; 3];

/// Why a program cannot run.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ProgramError {
    #[error("ALU operation {op} reads address {addr} before anything writes it")]
    ReadBeforeWrite { op: usize, addr: u32 },
    #[error("address {addr} is written twice")]
    WrittenTwice { addr: u32 },
    #[error("ALU assertion {op} fails: a·b + c differs from the word at address {addr}")]
    AssertionFailed { op: usize, addr: u32 },
    #[error("address {addr} is public value {index}, but there are {count}")]
    PublicIndex {
        addr: u32,
        index: usize,
        count: usize,
    },
    #[error("{given} hint values for {expected} hinted addresses")]
    HintCount { expected: usize, given: usize },
}

/// The hint table: preprocessed `[addr]`, main `[v0..v3, multiplicity]`.
#[derive(Clone, Debug)]
pub struct HintAir {
    preprocessed: Arc<RowMajorMatrix<Val>>,
}

pub const HINT_PREPROCESSED_WIDTH: usize = 1;

/// The public-value table: preprocessed `[addr, sel_0..sel_{n-1}]` (a one-hot selector of the
/// public value), main `[value, multiplicity]`; `value = Σ_k sel_k · pv_k`, written as the word
/// `(value, 0, 0, 0)`. The proof's public values are thus words the program reads.
#[derive(Clone, Debug)]
pub struct PublicAir {
    preprocessed: Arc<RowMajorMatrix<Val>>,
    num_public_values: usize,
}

pub const PUBLIC_WIDTH: usize = 2;
pub const HINT_WIDTH: usize = D + 1;

/// The constant table: preprocessed `[addr, v0..v3]`, main `[multiplicity]`.
#[derive(Clone, Debug)]
pub struct ConstAir {
    preprocessed: Arc<RowMajorMatrix<Val>>,
}

/// The ALU table: preprocessed `[addr_a, addr_b, addr_c, addr_out, is_real, is_assert]`, main
/// `[a(4), b(4), c(4), out(4), out_multiplicity]`.
#[derive(Clone, Debug)]
pub struct AluAir {
    preprocessed: Arc<RowMajorMatrix<Val>>,
}

/// Preprocessed widths.
pub const CONST_PREPROCESSED_WIDTH: usize = 1 + D;
pub const ALU_PREPROCESSED_WIDTH: usize = 6;
/// Main widths.
pub const CONST_WIDTH: usize = 1;
pub const ALU_WIDTH: usize = 4 * D + 1;

fn padded_rows(n: usize) -> usize {
    n.next_power_of_two().max(4)
}

fn word(v: Challenge) -> [Val; D] {
    let c = v.as_basis_coefficients_slice();
    [c[0], c[1], c[2], c[3]]
}

impl Program {
    /// The two tables with this program as their preprocessed columns (padding rows write
    /// nothing and read nothing).
    pub fn airs(&self) -> (ConstAir, HintAir, AluAir) {
        let hint_rows = padded_rows(self.hints.len());
        let mut hint_addrs = vec![Val::ZERO; hint_rows];
        for (slot, &addr) in hint_addrs.iter_mut().zip(&self.hints) {
            *slot = Val::from_u32(addr);
        }
        let hints = HintAir {
            preprocessed: Arc::new(RowMajorMatrix::new(hint_addrs, HINT_PREPROCESSED_WIDTH)),
        };
        let const_rows = padded_rows(self.constants.len());
        let mut values = vec![Val::ZERO; const_rows * CONST_PREPROCESSED_WIDTH];
        for (row, &(addr, v)) in self.constants.iter().enumerate() {
            let r = &mut values[row * CONST_PREPROCESSED_WIDTH..][..CONST_PREPROCESSED_WIDTH];
            r[0] = Val::from_u32(addr);
            r[1..].copy_from_slice(&word(v));
        }
        let consts = RowMajorMatrix::new(values, CONST_PREPROCESSED_WIDTH);

        let alu_rows = padded_rows(self.alu.len());
        let mut values = vec![Val::ZERO; alu_rows * ALU_PREPROCESSED_WIDTH];
        for (row, op) in self.alu.iter().enumerate() {
            let r = &mut values[row * ALU_PREPROCESSED_WIDTH..][..ALU_PREPROCESSED_WIDTH];
            for (slot, addr) in r.iter_mut().zip([op.a, op.b, op.c, op.out]) {
                *slot = Val::from_u32(addr);
            }
            r[4] = Val::ONE;
            r[5] = Val::from_bool(op.assert);
        }
        let alu = RowMajorMatrix::new(values, ALU_PREPROCESSED_WIDTH);
        (
            ConstAir {
                preprocessed: Arc::new(consts),
            },
            hints,
            AluAir {
                preprocessed: Arc::new(alu),
            },
        )
    }

    /// The public-value table for a proof with `num_public_values` public values.
    pub fn public_air(&self, num_public_values: usize) -> PublicAir {
        let width = 1 + num_public_values;
        let rows = padded_rows(self.publics.len());
        let mut values = vec![Val::ZERO; rows * width];
        for (row, &(addr, index)) in self.publics.iter().enumerate() {
            values[row * width] = Val::from_u32(addr);
            if index < num_public_values {
                values[row * width + 1 + index] = Val::ONE;
            }
        }
        PublicAir {
            preprocessed: Arc::new(RowMajorMatrix::new(values, width)),
            num_public_values,
        }
    }

    /// Run the program with these values for its hinted addresses: the main traces of the
    /// three tables (values and multiplicities), and the final memory. A failing assertion is
    /// an error naming its operation. (A program that reads public values runs with
    /// [`Self::execute_with_publics`].)
    pub fn execute(
        &self,
        hint_values: &[Challenge],
    ) -> Result<(ProgramTraces, HashMap<u32, Challenge>), ProgramError> {
        self.execute_with_publics(hint_values, &[])
            .map(|(traces, _, memory)| (traces, memory))
    }

    /// [`Self::execute`] with the proof's public values: also the public-value table's trace.
    #[allow(clippy::type_complexity)]
    pub fn execute_with_publics(
        &self,
        hint_values: &[Challenge],
        public_values: &[Val],
    ) -> Result<(ProgramTraces, RowMajorMatrix<Val>, HashMap<u32, Challenge>), ProgramError> {
        self.run(hint_values, public_values, true)
    }

    /// [`Self::execute`] with failing assertions forced through: the traces a cheating prover
    /// would commit to (for tests that the tables then do not verify).
    pub fn execute_forced(
        &self,
        hint_values: &[Challenge],
    ) -> Result<(ProgramTraces, HashMap<u32, Challenge>), ProgramError> {
        self.run(hint_values, &[], false)
            .map(|(traces, _, memory)| (traces, memory))
    }

    #[allow(clippy::type_complexity)]
    fn run(
        &self,
        hint_values: &[Challenge],
        public_values: &[Val],
        check_assertions: bool,
    ) -> Result<(ProgramTraces, RowMajorMatrix<Val>, HashMap<u32, Challenge>), ProgramError> {
        if hint_values.len() != self.hints.len() {
            return Err(ProgramError::HintCount {
                expected: self.hints.len(),
                given: hint_values.len(),
            });
        }
        let mut memory: HashMap<u32, Challenge> = HashMap::new();
        let mut reads: HashMap<u32, u64> = HashMap::new();
        let publics = self
            .publics
            .iter()
            .map(|&(addr, index)| {
                let v = public_values.get(index).ok_or(ProgramError::PublicIndex {
                    addr,
                    index,
                    count: public_values.len(),
                })?;
                Ok((addr, Challenge::from(*v)))
            })
            .collect::<Result<Vec<_>, ProgramError>>()?;
        let writes = self
            .constants
            .iter()
            .copied()
            .chain(self.hints.iter().copied().zip(hint_values.iter().copied()))
            .chain(publics.iter().copied());
        for (addr, v) in writes {
            if memory.insert(addr, v).is_some() {
                return Err(ProgramError::WrittenTwice { addr });
            }
        }
        let mut alu_values = Vec::with_capacity(self.alu.len());
        for (i, op) in self.alu.iter().enumerate() {
            let mut read = |addr: u32| {
                let v = *memory
                    .get(&addr)
                    .ok_or(ProgramError::ReadBeforeWrite { op: i, addr })?;
                *reads.entry(addr).or_default() += 1;
                Ok(v)
            };
            let (a, b, c) = (read(op.a)?, read(op.b)?, read(op.c)?);
            let out = a * b + c;
            if op.assert {
                let expected = read(op.out)?;
                if check_assertions && out != expected {
                    return Err(ProgramError::AssertionFailed {
                        op: i,
                        addr: op.out,
                    });
                }
            } else if memory.insert(op.out, out).is_some() {
                return Err(ProgramError::WrittenTwice { addr: op.out });
            }
            alu_values.push((a, b, c, out));
        }
        let count = |addr: u32| Val::from_u64(reads.get(&addr).copied().unwrap_or(0));

        let mut consts = vec![Val::ZERO; padded_rows(self.constants.len()) * CONST_WIDTH];
        for (row, &(addr, _)) in self.constants.iter().enumerate() {
            consts[row] = count(addr);
        }
        let mut alu = vec![Val::ZERO; padded_rows(self.alu.len()) * ALU_WIDTH];
        for (row, (op, &(a, b, c, out))) in self.alu.iter().zip(&alu_values).enumerate() {
            let r = &mut alu[row * ALU_WIDTH..][..ALU_WIDTH];
            for (k, x) in [a, b, c, out].into_iter().enumerate() {
                r[k * D..(k + 1) * D].copy_from_slice(&word(x));
            }
            // An assertion writes nothing.
            r[4 * D] = if op.assert { Val::ZERO } else { count(op.out) };
        }
        let mut hints = vec![Val::ZERO; padded_rows(self.hints.len()) * HINT_WIDTH];
        for (row, (&addr, &v)) in self.hints.iter().zip(hint_values).enumerate() {
            let r = &mut hints[row * HINT_WIDTH..][..HINT_WIDTH];
            r[..D].copy_from_slice(&word(v));
            r[D] = count(addr);
        }
        let mut public = vec![Val::ZERO; padded_rows(self.publics.len()) * PUBLIC_WIDTH];
        for (row, &(addr, v)) in publics.iter().enumerate() {
            public[row * PUBLIC_WIDTH] = v.as_basis_coefficients_slice()[0];
            public[row * PUBLIC_WIDTH + 1] = count(addr);
        }
        Ok((
            [
                RowMajorMatrix::new(consts, CONST_WIDTH),
                RowMajorMatrix::new(hints, HINT_WIDTH),
                RowMajorMatrix::new(alu, ALU_WIDTH),
            ],
            RowMajorMatrix::new(public, PUBLIC_WIDTH),
            memory,
        ))
    }
}

impl BaseAir<Val> for ConstAir {
    fn width(&self) -> usize {
        CONST_WIDTH
    }
    fn preprocessed_width(&self) -> usize {
        CONST_PREPROCESSED_WIDTH
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

impl<AB: InteractionBuilder<F = Val>> Air<AB> for ConstAir {
    fn eval(&self, builder: &mut AB) {
        let prep = builder.preprocessed();
        let fixed: Vec<AB::Var> = prep.current_slice().to_vec();
        let multiplicity = builder.main().current_slice()[0];
        MEMORY_BUS.table_entry(builder, fixed, multiplicity);
    }
}

impl BaseAir<Val> for HintAir {
    fn width(&self) -> usize {
        HINT_WIDTH
    }
    fn preprocessed_width(&self) -> usize {
        HINT_PREPROCESSED_WIDTH
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

impl<AB: InteractionBuilder<F = Val>> Air<AB> for HintAir {
    fn eval(&self, builder: &mut AB) {
        let addr = builder.preprocessed().current_slice()[0];
        let row: Vec<AB::Var> = builder.main().current_slice().to_vec();
        let key = core::iter::once(addr).chain(row[..D].iter().copied());
        MEMORY_BUS.table_entry(builder, key, row[D]);
    }
}

impl BaseAir<Val> for PublicAir {
    fn width(&self) -> usize {
        PUBLIC_WIDTH
    }
    fn num_public_values(&self) -> usize {
        self.num_public_values
    }
    fn preprocessed_width(&self) -> usize {
        1 + self.num_public_values
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

impl<AB: InteractionBuilder<F = Val>> Air<AB> for PublicAir {
    fn eval(&self, builder: &mut AB) {
        let prep: Vec<AB::Var> = builder.preprocessed().current_slice().to_vec();
        let pvs: Vec<AB::PublicVar> = builder.public_values().to_vec();
        let row: Vec<AB::Var> = builder.main().current_slice().to_vec();
        let selected = prep[1..]
            .iter()
            .zip(&pvs)
            .fold(AB::Expr::ZERO, |acc, (&sel, &pv)| {
                acc + sel.into() * pv.into()
            });
        builder.assert_eq(row[0], selected);
        let key: [AB::Expr; 1 + D] = [
            prep[0].into(),
            row[0].into(),
            AB::Expr::ZERO,
            AB::Expr::ZERO,
            AB::Expr::ZERO,
        ];
        MEMORY_BUS.table_entry(builder, key, row[1]);
    }
}

impl BaseAir<Val> for AluAir {
    fn width(&self) -> usize {
        ALU_WIDTH
    }
    fn preprocessed_width(&self) -> usize {
        ALU_PREPROCESSED_WIDTH
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

impl<AB: InteractionBuilder<F = Val>> Air<AB> for AluAir {
    fn eval(&self, builder: &mut AB) {
        let prep: Vec<AB::Var> = builder.preprocessed().current_slice().to_vec();
        let row: Vec<AB::Var> = builder.main().current_slice().to_vec();
        let (a, b, c, out) = (
            &row[..D],
            &row[D..2 * D],
            &row[2 * D..3 * D],
            &row[3 * D..4 * D],
        );
        assert_mul_add(builder, a, b, c, out);
        let is_real = prep[4];
        for (addr, operand) in [(prep[0], a), (prep[1], b), (prep[2], c)] {
            let key = core::iter::once(addr).chain(operand.iter().copied());
            MEMORY_BUS.lookup_key(builder, key, Count::bounded(is_real.into(), 1));
        }
        // A writing row provides `out`; an asserting row reads it (and may not write: a write
        // of its own would balance its read).
        let (is_assert, out_multiplicity) = (prep[5], row[4 * D]);
        builder.assert_zero(is_assert * out_multiplicity);
        let key: Vec<AB::Var> = core::iter::once(prep[3])
            .chain(out.iter().copied())
            .collect();
        MEMORY_BUS.table_entry(builder, key.clone(), out_multiplicity);
        MEMORY_BUS.lookup_key(builder, key, Count::bounded(is_assert.into(), 1));
    }
}
