//! A straight-line program over a write-once memory, run by two tables on one LogUp bus
//! (design §1, first cut): `Const` writes constant words, `Alu` computes `out = a·b + c` in the
//! degree-4 extension from words it reads and writes its result. **The program is the
//! preprocessed columns** (addresses, constants, which rows are real), so it is fixed by the
//! verifying key; the values and the multiplicities are the witness.
//!
//! Bus `mem(addr, w0..w3)`: the writer of an address provides `(addr, value)` with
//! multiplicity = number of reads; each read looks it up once. The program writes every
//! address once (checked when it is run), so a read can only be balanced by the value written.

use super::padded_rows;
use std::collections::HashMap;
use std::sync::Arc;

use p3_air::{Air, BaseAir, WindowAccess};
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder, LookupBus};
use p3_matrix::dense::RowMajorMatrix;
use thiserror::Error;

use p3_symmetric::Permutation;
use slotproof_prover::ProverField;

use super::RecursionAir;
use super::base_hint::{BaseHintAir, base_hint_rows};
use super::decompose::{DecomposeAir, DecomposeOp};
use super::ext_alu::assert_mul_add;
use super::horner_bus::{HORNER_LANES, HornerBusAir, HornerOp, horner_rows, horner_value};
use super::poseidon2::WIDTH;
use super::poseidon2_bus::{HALF, Poseidon2BusAir, Poseidon2Op, Poseidon2Row};
use crate::config::{Challenge, Val};

/// The memory bus.
pub const MEMORY_BUS: LookupBus<'static> = LookupBus::new("recursion-memory");

/// Coordinates of a word (one extension element).
const D: usize = 4;

/// `out = a·b + c` over memory addresses: written to `out`, or, for an assertion, checked
/// against the word already at `out`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AluOp {
    pub a: u32,
    pub b: u32,
    pub c: u32,
    pub out: u32,
    pub assert: bool,
}

/// One operation of a program, in execution order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Op {
    /// An `Alu` row.
    Alu(AluOp),
    /// A row of the Poseidon2 bus table.
    Poseidon2(Poseidon2Op),
    /// An α-reduction: a chain of rows of the Horner table.
    Horner(HornerOp),
    /// A word split into its base coordinates: a row of the decompose table.
    Decompose(DecomposeOp),
}

/// A straight-line program: constant words, hinted words (values supplied when it runs: proof
/// elements, inverses), public-value words, then the operations in execution order (each reads
/// only words written before it).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Program {
    pub constants: Vec<(u32, Challenge)>,
    pub hints: Vec<u32>,
    /// Words equal to one of the proof's own public values: `(address, index)`.
    pub publics: Vec<(u32, usize)>,
    pub ops: Vec<Op>,
    /// The value addresses of the Horner operations (each names its range).
    pub horner_values: Vec<u32>,
    /// Hinted base words (the base-hint table): their values follow the `Hint` table's.
    pub base_hints: Vec<u32>,
    /// Where each phase of the verifier begins: its name and the index of its first op (a
    /// breakdown of the rows, not part of the circuit: not encoded).
    #[serde(skip)]
    pub phases: Vec<(&'static str, usize)>,
    /// The fewest rows of each table, in [`TABLE_NAMES`] order (0: no minimum beyond
    /// [`padded_rows`]): a fixed shape, so that programs of one layer have one height profile
    /// ([`Self::pad_to`]).
    pub min_rows: [usize; NUM_TABLES],
}

/// A table of a program is taller than the shape it is padded to.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("table {table} has {rows} rows, more than the shape's {limit}")]
pub struct ShapeOverflow {
    pub table: &'static str,
    pub rows: usize,
    pub limit: usize,
}

/// The rows one phase of the verifier adds to the op tables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhaseRows {
    pub phase: &'static str,
    pub alu: usize,
    pub poseidon2: usize,
    pub horner: usize,
    pub decompose: usize,
}

/// The main traces of a run: `Const`, `Hint`, `Alu`.
pub type ProgramTraces = [RowMajorMatrix<Val>; 3];

/// Every table of a run, ready for the prover: the AIRs (the program as their preprocessed
/// columns), their main traces and public values (in the same order: `Const`, `Hint`,
/// `Public`, `Alu`, `Poseidon2Bus`), and the final memory.
#[derive(Clone, Debug)]
pub struct ProgramRun {
    pub airs: Vec<RecursionAir>,
    pub traces: Vec<RowMajorMatrix<Val>>,
    pub public_values: Vec<Vec<Val>>,
    pub memory: HashMap<u32, Challenge>,
}

impl ProgramRun {
    /// Each table's log height (what the prover's key generation takes).
    pub fn degree_bits(&self) -> Vec<usize> {
        self.traces
            .iter()
            .map(|t| (t.values.len() / t.width).trailing_zeros() as usize)
            .collect()
    }

    /// Rows per table (padded), in table order.
    pub fn rows(&self) -> Vec<usize> {
        self.traces
            .iter()
            .map(|t| t.values.len() / t.width)
            .collect()
    }
}

impl Program {
    /// Used rows per table, in [`TABLE_NAMES`] order.
    pub fn used_rows(&self) -> [usize; NUM_TABLES] {
        [
            self.constants.len(),
            self.hints.len(),
            self.publics.len(),
            self.alu().count(),
            self.poseidon2().count(),
            horner_rows(self.horner()),
            base_hint_rows(self.base_hints.len()),
            self.decompose().count(),
        ]
    }

    /// Rows per table as committed: the used rows padded to a power of two, and to at least
    /// [`Self::min_rows`].
    pub fn table_rows(&self) -> [usize; NUM_TABLES] {
        let used = self.used_rows();
        core::array::from_fn(|t| padded_rows(used[t]).max(self.min_rows[t]))
    }

    /// Pad every table to exactly `2^log_rows[t]` rows; an error names a table that is
    /// already taller.
    pub fn pad_to(&mut self, log_rows: &[usize; NUM_TABLES]) -> Result<(), ShapeOverflow> {
        let used = self.used_rows();
        for t in 0..NUM_TABLES {
            let limit = 1 << log_rows[t];
            if padded_rows(used[t]) > limit {
                return Err(ShapeOverflow {
                    table: TABLE_NAMES[t],
                    rows: used[t],
                    limit,
                });
            }
        }
        self.min_rows = core::array::from_fn(|t| 1 << log_rows[t]);
        Ok(())
    }

    /// Rows of the `Alu`, `Poseidon2Bus` and `Horner` tables per phase, summed over repeated
    /// phases (a node verifies several proofs), in order of first appearance; ops before the
    /// first mark are the phase `"setup"`.
    pub fn rows_by_phase(&self) -> Vec<PhaseRows> {
        let mut marks: Vec<(&'static str, usize)> = vec![("setup", 0)];
        marks.extend(self.phases.iter().copied());
        let mut totals: Vec<PhaseRows> = Vec::new();
        for (k, &(phase, start)) in marks.iter().enumerate() {
            let end = marks.get(k + 1).map_or(self.ops.len(), |&(_, e)| e);
            let index = match totals.iter().position(|t| t.phase == phase) {
                Some(i) => i,
                None => {
                    totals.push(PhaseRows {
                        phase,
                        ..PhaseRows::default()
                    });
                    totals.len() - 1
                }
            };
            for op in &self.ops[start.min(end)..end] {
                let t = &mut totals[index];
                match op {
                    Op::Alu(_) => t.alu += 1,
                    Op::Poseidon2(_) => t.poseidon2 += 1,
                    Op::Horner(h) => t.horner += horner_rows(core::iter::once(h)),
                    Op::Decompose(_) => t.decompose += 1,
                }
            }
        }
        totals.retain(|t| t.alu + t.poseidon2 + t.horner + t.decompose > 0);
        totals
    }
}

/// Tables of a program.
pub const NUM_TABLES: usize = 8;
/// Each table's index in [`TABLE_NAMES`].
const CONST: usize = 0;
const HINT: usize = 1;
const PUBLIC: usize = 2;
const ALU: usize = 3;
const POSEIDON2: usize = 4;
const HORNER: usize = 5;
const BASE_HINT: usize = 6;
const DECOMPOSE: usize = 7;

/// The tables of [`ProgramRun`], in order.
pub const TABLE_NAMES: [&str; NUM_TABLES] = [
    "Const",
    "Hint",
    "Public",
    "Alu",
    "Poseidon2Bus",
    "Horner",
    "BaseHint",
    "Decompose",
];

/// Why a program cannot run.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ProgramError {
    #[error("operation {op} reads address {addr} before anything writes it")]
    ReadBeforeWrite { op: usize, addr: u32 },
    #[error("Poseidon2 operation {op} reads address {addr}, which holds no base word")]
    NotABaseWord { op: usize, addr: u32 },
    #[error("the base hint at address {addr} is given a value outside the base field")]
    BaseHintNotBase { addr: u32 },
    #[error(
        "Poseidon2 operation {op} reads its Merkle direction at address {addr}, which holds no bit"
    )]
    NotABit { op: usize, addr: u32 },
    #[error("address {addr} is written twice")]
    WrittenTwice { addr: u32 },
    #[error("ALU assertion {op} fails: a·b + c differs from the word at address {addr}")]
    AssertionFailed { op: usize, addr: u32 },
    #[error(
        "Poseidon2 digest check {op} fails: output lane {lane} differs from the word at address {addr}"
    )]
    DigestMismatch { op: usize, lane: usize, addr: u32 },
    #[error("Poseidon2 digest check {op} writes its upper lanes (they must be address 0)")]
    DigestCheckWrites { op: usize },
    #[error("address {addr} is public value {index}, but there are {count}")]
    PublicIndex {
        addr: u32,
        index: usize,
        count: usize,
    },
    #[error("address 0 is reserved for padding rows, but {} uses it", match op { Some(i) => format!("operation {i}"), None => "a constant, hint or public word".to_string() })]
    ReservedAddress { op: Option<usize> },
    #[error("Poseidon2 operation {op}: a Merkle sibling value is not a base element")]
    MerkleSiblingNotBase { op: usize },
    #[error("{given} hint values for {expected} (hinted addresses, then 8 per Merkle row)")]
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

fn word(v: Challenge) -> [Val; D] {
    let c = v.as_basis_coefficients_slice();
    [c[0], c[1], c[2], c[3]]
}

/// The main traces of one run, every table.
struct Traces {
    consts: RowMajorMatrix<Val>,
    hints: RowMajorMatrix<Val>,
    public: RowMajorMatrix<Val>,
    alu: RowMajorMatrix<Val>,
    poseidon2: RowMajorMatrix<Val>,
    horner: RowMajorMatrix<Val>,
    base_hints: RowMajorMatrix<Val>,
    decompose: RowMajorMatrix<Val>,
    memory: HashMap<u32, Challenge>,
}

impl Program {
    /// The `Alu` operations, in order.
    pub fn alu(&self) -> impl Iterator<Item = &AluOp> {
        self.ops.iter().filter_map(|op| match op {
            Op::Alu(a) => Some(a),
            _ => None,
        })
    }

    /// The Horner operations, in order.
    pub fn horner(&self) -> impl Iterator<Item = &HornerOp> {
        self.ops.iter().filter_map(|op| match op {
            Op::Horner(h) => Some(h),
            _ => None,
        })
    }

    /// The Horner table with this program's reductions as its preprocessed columns.
    pub fn horner_air(&self) -> HornerBusAir {
        let ops: Vec<HornerOp> = self.horner().copied().collect();
        HornerBusAir::new(&ops, &self.horner_values, self.table_rows()[HORNER])
    }

    /// The coordinate splits, in order.
    pub fn decompose(&self) -> impl Iterator<Item = &DecomposeOp> {
        self.ops.iter().filter_map(|op| match op {
            Op::Decompose(d) => Some(d),
            _ => None,
        })
    }

    /// The Poseidon2 operations, in order.
    pub fn poseidon2(&self) -> impl Iterator<Item = &Poseidon2Op> {
        self.ops.iter().filter_map(|op| match op {
            Op::Poseidon2(p) => Some(p),
            _ => None,
        })
    }

    /// The three tables with this program as their preprocessed columns (padding rows write
    /// nothing and read nothing).
    pub fn airs(&self) -> (ConstAir, HintAir, AluAir) {
        let rows = self.table_rows();
        let hint_rows = rows[HINT];
        let mut hint_addrs = vec![Val::ZERO; hint_rows];
        for (slot, &addr) in hint_addrs.iter_mut().zip(&self.hints) {
            *slot = Val::from_u32(addr);
        }
        let hints = HintAir {
            preprocessed: Arc::new(RowMajorMatrix::new(hint_addrs, HINT_PREPROCESSED_WIDTH)),
        };
        let const_rows = rows[CONST];
        let mut values = vec![Val::ZERO; const_rows * CONST_PREPROCESSED_WIDTH];
        for (row, &(addr, v)) in self.constants.iter().enumerate() {
            let r = &mut values[row * CONST_PREPROCESSED_WIDTH..][..CONST_PREPROCESSED_WIDTH];
            r[0] = Val::from_u32(addr);
            r[1..].copy_from_slice(&word(v));
        }
        let consts = RowMajorMatrix::new(values, CONST_PREPROCESSED_WIDTH);

        let alu_ops: Vec<&AluOp> = self.alu().collect();
        let alu_rows = rows[ALU];
        let mut values = vec![Val::ZERO; alu_rows * ALU_PREPROCESSED_WIDTH];
        for (row, op) in alu_ops.iter().enumerate() {
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
        let rows = self.table_rows()[PUBLIC];
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

    /// The Poseidon2 bus table with this program's permutations as its preprocessed columns.
    pub fn poseidon2_air(&self) -> Poseidon2BusAir {
        let ops: Vec<Poseidon2Op> = self.poseidon2().copied().collect();
        Poseidon2BusAir::new(&ops, self.table_rows()[POSEIDON2])
    }

    /// Every table's AIR, in [`TABLE_NAMES`] order, for a proof with `num_public_values`
    /// public values: what the recursion layer's verifying key is made of.
    pub fn all_airs(&self, num_public_values: usize) -> Vec<RecursionAir> {
        let rows = self.table_rows();
        let (consts, hints, alu) = self.airs();
        vec![
            RecursionAir::Const(consts),
            RecursionAir::Hint(hints),
            RecursionAir::Public(self.public_air(num_public_values)),
            RecursionAir::Alu(alu),
            RecursionAir::Poseidon2Bus(Box::new(self.poseidon2_air())),
            RecursionAir::HornerBus(Box::new(self.horner_air())),
            RecursionAir::BaseHint(BaseHintAir::new(&self.base_hints, rows[BASE_HINT])),
            RecursionAir::Decompose(DecomposeAir::new(
                &self.decompose().copied().collect::<Vec<_>>(),
                rows[DECOMPOSE],
            )),
        ]
    }

    /// Run the program and return every table ([`ProgramRun`]): the AIRs, main traces and
    /// public values the prover takes in one batch. `hint_values` are the values of the hinted
    /// addresses, in order, followed by the 8 sibling values of each Merkle-mode Poseidon2 row
    /// (what [`crate::build::Build::finish`] returns). `public_values` are the recursion
    /// proof's own public values. A failing assertion is an error naming its operation.
    pub fn run_tables(
        &self,
        hint_values: &[Challenge],
        public_values: &[Val],
    ) -> Result<ProgramRun, ProgramError> {
        self.tables(hint_values, public_values, true)
    }

    /// [`Self::run_tables`] with failing assertions forced through: the tables a cheating
    /// prover would commit to (for tests that they do not verify).
    pub fn run_tables_forced(
        &self,
        hint_values: &[Challenge],
        public_values: &[Val],
    ) -> Result<ProgramRun, ProgramError> {
        self.tables(hint_values, public_values, false)
    }

    fn tables(
        &self,
        hint_values: &[Challenge],
        public_values: &[Val],
        check_assertions: bool,
    ) -> Result<ProgramRun, ProgramError> {
        let t = self.run(hint_values, public_values, check_assertions)?;
        let n = public_values.len();
        Ok(ProgramRun {
            airs: self.all_airs(n),
            traces: vec![
                t.consts,
                t.hints,
                t.public,
                t.alu,
                t.poseidon2,
                t.horner,
                t.base_hints,
                t.decompose,
            ],
            // Only the `Public` table has public values.
            public_values: TABLE_NAMES
                .iter()
                .map(|&name| {
                    if name == "Public" {
                        public_values.to_vec()
                    } else {
                        Vec::new()
                    }
                })
                .collect(),
            memory: t.memory,
        })
    }

    /// Run the program with these values for its hinted addresses: the main traces of the
    /// `Const`, `Hint` and `Alu` tables (values and multiplicities), and the final memory. A
    /// failing assertion is an error naming its operation. (A program with public values or
    /// Poseidon2 operations runs with [`Self::run_tables`].)
    pub fn execute(
        &self,
        hint_values: &[Challenge],
    ) -> Result<(ProgramTraces, HashMap<u32, Challenge>), ProgramError> {
        self.run(hint_values, &[], true)
            .map(|t| ([t.consts, t.hints, t.alu], t.memory))
    }

    /// [`Self::execute`] with the proof's public values: also the public-value table's trace.
    #[allow(clippy::type_complexity)]
    pub fn execute_with_publics(
        &self,
        hint_values: &[Challenge],
        public_values: &[Val],
    ) -> Result<(ProgramTraces, RowMajorMatrix<Val>, HashMap<u32, Challenge>), ProgramError> {
        self.run(hint_values, public_values, true)
            .map(|t| ([t.consts, t.hints, t.alu], t.public, t.memory))
    }

    /// [`Self::execute`] with failing assertions forced through: the traces a cheating prover
    /// would commit to (for tests that the tables then do not verify).
    pub fn execute_forced(
        &self,
        hint_values: &[Challenge],
    ) -> Result<(ProgramTraces, HashMap<u32, Challenge>), ProgramError> {
        self.run(hint_values, &[], false)
            .map(|t| ([t.consts, t.hints, t.alu], t.memory))
    }

    /// Padding rows of every table carry address 0 with values and multiplicities nothing
    /// constrains, so no word of a program may live there.
    fn check_reserved_address(&self) -> Result<(), ProgramError> {
        let words = self.constants.iter().map(|&(a, _)| a);
        let words = words
            .chain(self.hints.iter().copied())
            .chain(self.base_hints.iter().copied());
        if words
            .chain(self.publics.iter().map(|&(a, _)| a))
            .any(|a| a == 0)
        {
            return Err(ProgramError::ReservedAddress { op: None });
        }
        for (i, op) in self.ops.iter().enumerate() {
            let uses_zero = match op {
                Op::Alu(a) => [a.a, a.b, a.c, a.out].contains(&0),
                Op::Poseidon2(p) => {
                    // A Merkle row's sibling lanes are not addresses.
                    let read = if p.direction.is_some() { HALF } else { WIDTH };
                    // A digest check's upper lanes write nothing (address 0).
                    let written = if p.check_digest { HALF } else { WIDTH };
                    p.inputs[..read].contains(&0)
                        || p.outputs[..written].contains(&0)
                        || p.direction == Some(0)
                }
                Op::Horner(h) => {
                    h.alpha == 0 || h.out == 0 || h.values(&self.horner_values).contains(&0)
                }
                Op::Decompose(d) => d.word == 0 || d.coordinates.contains(&0),
            };
            if uses_zero {
                return Err(ProgramError::ReservedAddress { op: Some(i) });
            }
        }
        Ok(())
    }

    fn run(
        &self,
        hint_values: &[Challenge],
        public_values: &[Val],
        check_assertions: bool,
    ) -> Result<Traces, ProgramError> {
        self.check_reserved_address()?;
        // The Hint table's values, the base hints', then 8 sibling values per Merkle-mode
        // Poseidon2 row.
        let merkle_rows = self.poseidon2().filter(|p| p.direction.is_some()).count();
        let expected = self.hints.len() + self.base_hints.len() + HALF * merkle_rows;
        if hint_values.len() != expected {
            return Err(ProgramError::HintCount {
                expected,
                given: hint_values.len(),
            });
        }
        let (hint_values, rest) = hint_values.split_at(self.hints.len());
        let (base_values, sibling_values) = rest.split_at(self.base_hints.len());
        let base_values = base_values
            .iter()
            .zip(&self.base_hints)
            .map(|(v, &addr)| {
                let w = word(*v);
                if w[1..] != [Val::ZERO; D - 1] {
                    return Err(ProgramError::BaseHintNotBase { addr });
                }
                Ok(w[0])
            })
            .collect::<Result<Vec<Val>, ProgramError>>()?;
        let mut siblings = sibling_values.chunks_exact(HALF);
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
            .chain(
                self.base_hints
                    .iter()
                    .copied()
                    .zip(base_values.iter().map(|&v| Challenge::from(v))),
            )
            .chain(publics.iter().copied());
        for (addr, v) in writes {
            if memory.insert(addr, v).is_some() {
                return Err(ProgramError::WrittenTwice { addr });
            }
        }
        let perm = Val::default_poseidon2_16();
        let mut alu_values = Vec::new();
        let mut poseidon2_rows: Vec<Poseidon2Row> = Vec::new();
        let mut horner_runs: Vec<(HornerOp, Challenge, Vec<Val>)> = Vec::new();
        let mut decompositions: Vec<[Val; D]> = Vec::new();
        for (i, op) in self.ops.iter().enumerate() {
            let mut read = |addr: u32| {
                let v = *memory
                    .get(&addr)
                    .ok_or(ProgramError::ReadBeforeWrite { op: i, addr })?;
                *reads.entry(addr).or_default() += 1;
                Ok(v)
            };
            match op {
                Op::Alu(op) => {
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
                    alu_values.push((*op, a, b, c, out));
                }
                Op::Poseidon2(p) => {
                    // Each lane reads a base word (the table reads `(v, 0, 0, 0)`).
                    let mut lanes = [Val::ZERO; WIDTH];
                    let read_lanes = if p.direction.is_some() { HALF } else { WIDTH };
                    for (lane, &addr) in lanes.iter_mut().zip(&p.inputs).take(read_lanes) {
                        let w = word(read(addr)?);
                        if check_assertions && w[1..] != [Val::ZERO; D - 1] {
                            return Err(ProgramError::NotABaseWord { op: i, addr });
                        }
                        *lane = w[0];
                    }
                    if p.direction.is_some() {
                        // The hint lengths were checked: one sibling per Merkle row.
                        let sibling = siblings.next().unwrap_or(&[]);
                        for (lane, v) in lanes[HALF..].iter_mut().zip(sibling) {
                            let w = word(*v);
                            if w[1..] != [Val::ZERO; D - 1] {
                                return Err(ProgramError::MerkleSiblingNotBase { op: i });
                            }
                            *lane = w[0];
                        }
                    }
                    let dir = match p.direction {
                        Some(addr) => {
                            let w = word(read(addr)?);
                            if check_assertions
                                && (w[1..] != [Val::ZERO; D - 1]
                                    || w[0] * (w[0] - Val::ONE) != Val::ZERO)
                            {
                                return Err(ProgramError::NotABit { op: i, addr });
                            }
                            w[0]
                        }
                        None => Val::ZERO,
                    };
                    let row = Poseidon2Row {
                        read: lanes,
                        dir,
                        out_multiplicity: [Val::ZERO; WIDTH],
                    };
                    let output = perm.permute(row.permutation_input());
                    if p.check_digest {
                        if p.outputs[HALF..].iter().any(|&a| a != 0) {
                            return Err(ProgramError::DigestCheckWrites { op: i });
                        }
                        for (lane, (&addr, &y)) in p.outputs.iter().zip(&output).enumerate() {
                            if lane < HALF && read(addr)? != Challenge::from(y) && check_assertions
                            {
                                return Err(ProgramError::DigestMismatch { op: i, lane, addr });
                            }
                        }
                    } else {
                        for (&addr, &y) in p.outputs.iter().zip(&output) {
                            if memory.insert(addr, Challenge::from(y)).is_some() {
                                return Err(ProgramError::WrittenTwice { addr });
                            }
                        }
                    }
                    poseidon2_rows.push(row);
                }
                Op::Horner(h) => {
                    // Every row of the chain reads α.
                    let alpha = read(h.alpha)?;
                    for _ in 1..h.len as usize / HORNER_LANES {
                        let _ = read(h.alpha)?;
                    }
                    let mut values = Vec::with_capacity(h.len as usize);
                    for &addr in h.values(&self.horner_values) {
                        let w = word(read(addr)?);
                        // The table reads `(v, 0, 0, 0)`.
                        if check_assertions && w[1..] != [Val::ZERO; D - 1] {
                            return Err(ProgramError::NotABaseWord { op: i, addr });
                        }
                        values.push(w[0]);
                    }
                    let out = horner_value(alpha, &values);
                    if memory.insert(h.out, out).is_some() {
                        return Err(ProgramError::WrittenTwice { addr: h.out });
                    }
                    horner_runs.push((*h, alpha, values));
                }
                Op::Decompose(d) => {
                    let coordinates = word(read(d.word)?);
                    for (&addr, &c) in d.coordinates.iter().zip(&coordinates) {
                        if memory.insert(addr, Challenge::from(c)).is_some() {
                            return Err(ProgramError::WrittenTwice { addr });
                        }
                    }
                    decompositions.push(coordinates);
                }
            }
        }
        let count = |addr: u32| Val::from_u64(reads.get(&addr).copied().unwrap_or(0));

        let rows = self.table_rows();
        let mut consts = vec![Val::ZERO; rows[CONST] * CONST_WIDTH];
        for (row, &(addr, _)) in self.constants.iter().enumerate() {
            consts[row] = count(addr);
        }
        let mut alu = vec![Val::ZERO; rows[ALU] * ALU_WIDTH];
        for (row, &(op, a, b, c, out)) in alu_values.iter().enumerate() {
            let r = &mut alu[row * ALU_WIDTH..][..ALU_WIDTH];
            for (k, x) in [a, b, c, out].into_iter().enumerate() {
                r[k * D..(k + 1) * D].copy_from_slice(&word(x));
            }
            // An assertion writes nothing.
            r[4 * D] = if op.assert { Val::ZERO } else { count(op.out) };
        }
        for (row, p) in poseidon2_rows.iter_mut().zip(self.poseidon2()) {
            // A digest check writes nothing.
            row.out_multiplicity = if p.check_digest {
                [Val::ZERO; WIDTH]
            } else {
                p.outputs.map(count)
            };
        }
        let mut hints = vec![Val::ZERO; rows[HINT] * HINT_WIDTH];
        for (row, (&addr, &v)) in self.hints.iter().zip(hint_values).enumerate() {
            let r = &mut hints[row * HINT_WIDTH..][..HINT_WIDTH];
            r[..D].copy_from_slice(&word(v));
            r[D] = count(addr);
        }
        let mut public = vec![Val::ZERO; rows[PUBLIC] * PUBLIC_WIDTH];
        for (row, &(addr, v)) in publics.iter().enumerate() {
            public[row * PUBLIC_WIDTH] = v.as_basis_coefficients_slice()[0];
            public[row * PUBLIC_WIDTH + 1] = count(addr);
        }
        Ok(Traces {
            consts: RowMajorMatrix::new(consts, CONST_WIDTH),
            hints: RowMajorMatrix::new(hints, HINT_WIDTH),
            base_hints: BaseHintAir::trace(
                &base_values,
                &self
                    .base_hints
                    .iter()
                    .map(|a| reads.get(a).copied().unwrap_or(0))
                    .collect::<Vec<_>>(),
                rows[BASE_HINT],
            ),
            public: RowMajorMatrix::new(public, PUBLIC_WIDTH),
            alu: RowMajorMatrix::new(alu, ALU_WIDTH),
            poseidon2: Poseidon2BusAir::trace(&poseidon2_rows, rows[POSEIDON2]),
            horner: HornerBusAir::trace(
                &horner_runs
                    .into_iter()
                    .map(|(h, alpha, values)| {
                        (alpha, values, reads.get(&h.out).copied().unwrap_or(0))
                    })
                    .collect::<Vec<_>>(),
                rows[HORNER],
            ),
            decompose: DecomposeAir::trace(
                &decompositions
                    .iter()
                    .zip(self.decompose())
                    .map(|(&c, d)| (c, d.coordinates.map(count)))
                    .collect::<Vec<_>>(),
                rows[DECOMPOSE],
            ),
            memory,
        })
    }
}

row_local_program_table!(ConstAir, CONST_WIDTH, CONST_PREPROCESSED_WIDTH);

impl<AB: InteractionBuilder<F = Val>> Air<AB> for ConstAir {
    fn eval(&self, builder: &mut AB) {
        let prep = builder.preprocessed();
        let fixed: Vec<AB::Var> = prep.current_slice().to_vec();
        let multiplicity = builder.main().current_slice()[0];
        MEMORY_BUS.table_entry(builder, fixed, multiplicity);
    }
}

row_local_program_table!(HintAir, HINT_WIDTH, HINT_PREPROCESSED_WIDTH);

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

row_local_program_table!(AluAir, ALU_WIDTH, ALU_PREPROCESSED_WIDTH);

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
