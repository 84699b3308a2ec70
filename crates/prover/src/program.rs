//! A constraint DAG compiled once into a flat instruction list.
//!
//! Plonky3 describes an AIR's constraints (its own plus the LogUp ones) as `Arc`-linked symbolic
//! expression trees with heavy sharing. Walking those trees per row would be slow on a CPU and
//! impossible on a GPU, so they are compiled once, per AIR, into a straight-line program over two
//! register files (base-field and extension-field values). Every distinct sub-expression gets one
//! register (common sub-expressions are merged structurally), and each constraint is an output
//! register plus its global emission index, which fixes its power of the folding challenge.
//!
//! The encoding is plain `#[repr(C)]` data (four `u32` per instruction) so that a device backend
//! can copy `instructions`, the constant tables and `outputs` verbatim into device memory and run
//! the same interpreter in a kernel.

use std::collections::HashMap;
use std::sync::Arc;

use p3_air::symbolic::{
    BaseEntry, BaseLeaf, ConstraintLayout, ExtEntry, ExtLeaf, SymbolicExpr, SymbolicExpression,
    SymbolicExpressionExt,
};
use p3_field::{ExtensionField, Field, PrimeField64};

use crate::error::ProveError;

/// Operation codes. Base-field operations read and write base registers; `Ext*` operations write
/// extension registers.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// `base[dst] = main[row + a_offset][a]`; operand `b` is the row offset (0 current, 1 next).
    /// The row is `[main | preprocessed]` when the AIR has preprocessed columns.
    LoadMain = 0,
    /// `base[dst] = public_values[a]`.
    LoadPublic = 1,
    /// `base[dst] = base_constants[a]`.
    LoadConst = 2,
    /// `base[dst] = is_first_row`.
    LoadIsFirstRow = 3,
    /// `base[dst] = is_last_row`.
    LoadIsLastRow = 4,
    /// `base[dst] = is_transition`.
    LoadIsTransition = 5,
    /// `base[dst] = base[a] + base[b]`.
    Add = 6,
    /// `base[dst] = base[a] - base[b]`.
    Sub = 7,
    /// `base[dst] = base[a] * base[b]`.
    Mul = 8,
    /// `base[dst] = -base[a]`.
    Neg = 9,
    /// `ext[dst] = permutation[row + b][a]` (column `a` of the extension-field LogUp trace).
    ExtLoadPermutation = 10,
    /// `ext[dst] = lookup_challenges[a]`.
    ExtLoadChallenge = 11,
    /// `ext[dst] = permutation_values[a]` (the AIR's committed LogUp terminal).
    ExtLoadPermutationValue = 12,
    /// `ext[dst] = ext_constants[a]`.
    ExtLoadConst = 13,
    /// `ext[dst] = base[a]` lifted into the extension.
    ExtFromBase = 14,
    /// `ext[dst] = ext[a] + ext[b]`.
    ExtAdd = 15,
    /// `ext[dst] = ext[a] - ext[b]`.
    ExtSub = 16,
    /// `ext[dst] = ext[a] * ext[b]`.
    ExtMul = 17,
    /// `ext[dst] = -ext[a]`.
    ExtNeg = 18,
}

/// One instruction: four 32-bit words, laid out for a verbatim device copy.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Instruction {
    pub op: OpCode,
    pub dst: u32,
    pub a: u32,
    pub b: u32,
}

/// Which register file a constraint's value lives in.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    Base = 0,
    Ext = 1,
}

/// A constraint of the program: where its value ends up and its place in emission order.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConstraintOutput {
    pub kind: OutputKind,
    pub register: u32,
    /// Global emission index `g`; the constraint is folded with `alpha^(K - 1 - g)`.
    pub emission_index: u32,
}

/// The shape of the inputs a program reads; checked against the data it is run on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProgramInputs {
    pub main_width: usize,
    /// Width of the LogUp trace in extension-field columns.
    pub permutation_width: usize,
    pub num_public_values: usize,
    pub num_challenges: usize,
    pub num_permutation_values: usize,
}

/// A compiled constraint system for one AIR.
#[derive(Clone, Debug)]
pub struct ConstraintProgram<F, EF> {
    pub instructions: Vec<Instruction>,
    pub base_constants: Vec<F>,
    pub ext_constants: Vec<EF>,
    pub num_base_registers: usize,
    pub num_ext_registers: usize,
    /// Base-field constraints first (in their emission order), then extension-field ones.
    pub outputs: Vec<ConstraintOutput>,
    pub inputs: ProgramInputs,
}

impl<F, EF> ConstraintProgram<F, EF>
where
    F: PrimeField64,
    EF: ExtensionField<F>,
{
    /// Compile base and extension constraints (as returned by
    /// `p3_batch_stark::symbolic::get_symbolic_constraints`) with the emission order from the
    /// matching `ConstraintLayout`.
    pub fn compile(
        base_constraints: &[SymbolicExpression<F>],
        ext_constraints: &[SymbolicExpressionExt<F, EF>],
        layout: &ConstraintLayout,
        inputs: ProgramInputs,
    ) -> Result<Self, ProveError> {
        Self::compile_with_preprocessed(base_constraints, ext_constraints, layout, inputs, 0)
    }

    /// [`Self::compile`] for an AIR with `preprocessed_width` preprocessed columns. The program
    /// reads them as the last columns of the row it runs on: `inputs.main_width` is the width of
    /// `[main | preprocessed]`, so a quotient kernel needs no extra operand, only the two
    /// matrices side by side.
    pub fn compile_with_preprocessed(
        base_constraints: &[SymbolicExpression<F>],
        ext_constraints: &[SymbolicExpressionExt<F, EF>],
        layout: &ConstraintLayout,
        inputs: ProgramInputs,
        preprocessed_width: usize,
    ) -> Result<Self, ProveError> {
        let Some(preprocessed_start) = inputs.main_width.checked_sub(preprocessed_width) else {
            return Err(ProveError::Unsupported(format!(
                "{preprocessed_width} preprocessed columns in a row of {}",
                inputs.main_width
            )));
        };
        if layout.base_indices.len() != base_constraints.len()
            || layout.ext_indices.len() != ext_constraints.len()
        {
            return Err(ProveError::Unsupported(
                "constraint layout disagrees with the symbolic constraints".into(),
            ));
        }
        let mut compiler = Compiler::new(inputs, preprocessed_start);
        let mut outputs = Vec::with_capacity(base_constraints.len() + ext_constraints.len());
        for (expr, &g) in base_constraints.iter().zip(&layout.base_indices) {
            let register = compiler.base(expr)?;
            outputs.push(ConstraintOutput {
                kind: OutputKind::Base,
                register,
                emission_index: g as u32,
            });
        }
        for (expr, &g) in ext_constraints.iter().zip(&layout.ext_indices) {
            let register = compiler.ext(expr)?;
            outputs.push(ConstraintOutput {
                kind: OutputKind::Ext,
                register,
                emission_index: g as u32,
            });
        }
        Ok(Self {
            instructions: compiler.instructions,
            base_constants: compiler.base_constants,
            ext_constants: compiler.ext_constants,
            num_base_registers: compiler.num_base as usize,
            num_ext_registers: compiler.num_ext as usize,
            outputs,
            inputs,
        })
    }
}

impl<F: Field, EF: ExtensionField<F>> ConstraintProgram<F, EF> {
    /// Number of constraints (the `K` of the folding powers).
    pub fn num_constraints(&self) -> usize {
        self.outputs.len()
    }

    /// The folding weight `alpha^(K - 1 - g)` of every output, in output order.
    pub fn folding_weights(&self, alpha: EF) -> Vec<EF> {
        let k = self.outputs.len();
        let mut descending: Vec<EF> = alpha.powers().take(k).collect();
        descending.reverse();
        self.outputs
            .iter()
            .map(|o| descending[o.emission_index as usize])
            .collect()
    }
}

/// Key that identifies a value structurally: equal keys compute equal values.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct NodeKey {
    op: OpCode,
    a: u32,
    b: u32,
}

struct Compiler<F, EF> {
    inputs: ProgramInputs,
    /// First row column holding a preprocessed column (`main_width` when there are none).
    preprocessed_start: usize,
    instructions: Vec<Instruction>,
    base_constants: Vec<F>,
    ext_constants: Vec<EF>,
    base_constant_index: HashMap<u64, u32>,
    ext_constant_index: HashMap<Vec<u64>, u32>,
    /// Structural de-duplication of every emitted instruction.
    emitted: HashMap<NodeKey, u32>,
    /// `Arc` identity memo, so shared sub-trees are walked once, not once per use.
    base_seen: HashMap<usize, u32>,
    ext_seen: HashMap<usize, u32>,
    num_base: u32,
    num_ext: u32,
}

impl<F: PrimeField64, EF: ExtensionField<F>> Compiler<F, EF> {
    fn new(inputs: ProgramInputs, preprocessed_start: usize) -> Self {
        Self {
            inputs,
            preprocessed_start,
            instructions: Vec::new(),
            base_constants: Vec::new(),
            ext_constants: Vec::new(),
            base_constant_index: HashMap::new(),
            ext_constant_index: HashMap::new(),
            emitted: HashMap::new(),
            base_seen: HashMap::new(),
            ext_seen: HashMap::new(),
            num_base: 0,
            num_ext: 0,
        }
    }

    fn is_ext_op(op: OpCode) -> bool {
        (op as u32) >= OpCode::ExtLoadPermutation as u32
    }

    fn emit(&mut self, op: OpCode, a: u32, b: u32) -> u32 {
        let key = NodeKey { op, a, b };
        if let Some(&dst) = self.emitted.get(&key) {
            return dst;
        }
        let dst = if Self::is_ext_op(op) {
            self.num_ext += 1;
            self.num_ext - 1
        } else {
            self.num_base += 1;
            self.num_base - 1
        };
        self.instructions.push(Instruction { op, dst, a, b });
        self.emitted.insert(key, dst);
        dst
    }

    /// Operands of commutative operations are ordered so `x+y` and `y+x` share a register.
    fn emit_commutative(&mut self, op: OpCode, a: u32, b: u32) -> u32 {
        self.emit(op, a.min(b), a.max(b))
    }

    fn base_constant(&mut self, c: F) -> u32 {
        let key = c.as_canonical_u64();
        let idx = match self.base_constant_index.get(&key) {
            Some(&i) => i,
            None => {
                let i = self.base_constants.len() as u32;
                self.base_constants.push(c);
                self.base_constant_index.insert(key, i);
                i
            }
        };
        self.emit(OpCode::LoadConst, idx, 0)
    }

    fn ext_constant(&mut self, c: EF) -> u32 {
        let key: Vec<u64> = c
            .as_basis_coefficients_slice()
            .iter()
            .map(|x| x.as_canonical_u64())
            .collect();
        let idx = match self.ext_constant_index.get(&key) {
            Some(&i) => i,
            None => {
                let i = self.ext_constants.len() as u32;
                self.ext_constants.push(c);
                self.ext_constant_index.insert(key, i);
                i
            }
        };
        self.emit(OpCode::ExtLoadConst, idx, 0)
    }

    fn check_index(what: &str, index: usize, bound: usize) -> Result<u32, ProveError> {
        if index < bound {
            Ok(index as u32)
        } else {
            Err(ProveError::Unsupported(format!(
                "constraint reads {what} {index}, but only {bound} exist"
            )))
        }
    }

    fn base_leaf(&mut self, leaf: &BaseLeaf<F>) -> Result<u32, ProveError> {
        Ok(match leaf {
            BaseLeaf::Variable(v) => match v.entry {
                BaseEntry::Main { offset } if offset <= 1 => {
                    let col = Self::check_index("main column", v.index, self.preprocessed_start)?;
                    self.emit(OpCode::LoadMain, col, offset as u32)
                }
                BaseEntry::Preprocessed { offset } if offset <= 1 => {
                    let col = Self::check_index(
                        "preprocessed column",
                        v.index,
                        self.inputs.main_width - self.preprocessed_start,
                    )?;
                    self.emit(
                        OpCode::LoadMain,
                        col + self.preprocessed_start as u32,
                        offset as u32,
                    )
                }
                BaseEntry::Public => {
                    let idx =
                        Self::check_index("public value", v.index, self.inputs.num_public_values)?;
                    self.emit(OpCode::LoadPublic, idx, 0)
                }
                other => {
                    return Err(ProveError::Unsupported(format!(
                        "constraint variable {other:?} (only main and preprocessed current/next \
                         rows and public values are supported)"
                    )));
                }
            },
            BaseLeaf::IsFirstRow => self.emit(OpCode::LoadIsFirstRow, 0, 0),
            BaseLeaf::IsLastRow => self.emit(OpCode::LoadIsLastRow, 0, 0),
            BaseLeaf::IsTransition => self.emit(OpCode::LoadIsTransition, 0, 0),
            BaseLeaf::Constant(c) => self.base_constant(*c),
        })
    }

    fn base(&mut self, expr: &SymbolicExpression<F>) -> Result<u32, ProveError> {
        Ok(match expr {
            SymbolicExpr::Leaf(leaf) => self.base_leaf(leaf)?,
            SymbolicExpr::Add { x, y, .. } => {
                let (a, b) = (self.base_child(x)?, self.base_child(y)?);
                self.emit_commutative(OpCode::Add, a, b)
            }
            SymbolicExpr::Sub { x, y, .. } => {
                let (a, b) = (self.base_child(x)?, self.base_child(y)?);
                self.emit(OpCode::Sub, a, b)
            }
            SymbolicExpr::Mul { x, y, .. } => {
                let (a, b) = (self.base_child(x)?, self.base_child(y)?);
                self.emit_commutative(OpCode::Mul, a, b)
            }
            SymbolicExpr::Neg { x, .. } => {
                let a = self.base_child(x)?;
                self.emit(OpCode::Neg, a, 0)
            }
        })
    }

    fn base_child(&mut self, child: &Arc<SymbolicExpression<F>>) -> Result<u32, ProveError> {
        let id = Arc::as_ptr(child) as usize;
        if let Some(&r) = self.base_seen.get(&id) {
            return Ok(r);
        }
        let r = self.base(child)?;
        self.base_seen.insert(id, r);
        Ok(r)
    }

    fn ext_leaf(&mut self, leaf: &ExtLeaf<F, EF>) -> Result<u32, ProveError> {
        Ok(match leaf {
            ExtLeaf::Base(e) => {
                let b = self.base(e)?;
                self.emit(OpCode::ExtFromBase, b, 0)
            }
            ExtLeaf::ExtVariable(v) => match v.entry {
                ExtEntry::Permutation { offset } if offset <= 1 => {
                    let col = Self::check_index(
                        "permutation column",
                        v.index,
                        self.inputs.permutation_width,
                    )?;
                    self.emit(OpCode::ExtLoadPermutation, col, offset as u32)
                }
                ExtEntry::Challenge => {
                    let idx =
                        Self::check_index("lookup challenge", v.index, self.inputs.num_challenges)?;
                    self.emit(OpCode::ExtLoadChallenge, idx, 0)
                }
                ExtEntry::PermutationValue => {
                    let idx = Self::check_index(
                        "permutation value",
                        v.index,
                        self.inputs.num_permutation_values,
                    )?;
                    self.emit(OpCode::ExtLoadPermutationValue, idx, 0)
                }
                other => {
                    return Err(ProveError::Unsupported(format!(
                        "extension variable {other:?}"
                    )));
                }
            },
            ExtLeaf::ExtConstant(c) => self.ext_constant(*c),
        })
    }

    fn ext(&mut self, expr: &SymbolicExpressionExt<F, EF>) -> Result<u32, ProveError> {
        Ok(match expr {
            SymbolicExpr::Leaf(leaf) => self.ext_leaf(leaf)?,
            SymbolicExpr::Add { x, y, .. } => {
                let (a, b) = (self.ext_child(x)?, self.ext_child(y)?);
                self.emit_commutative(OpCode::ExtAdd, a, b)
            }
            SymbolicExpr::Sub { x, y, .. } => {
                let (a, b) = (self.ext_child(x)?, self.ext_child(y)?);
                self.emit(OpCode::ExtSub, a, b)
            }
            SymbolicExpr::Mul { x, y, .. } => {
                let (a, b) = (self.ext_child(x)?, self.ext_child(y)?);
                self.emit_commutative(OpCode::ExtMul, a, b)
            }
            SymbolicExpr::Neg { x, .. } => {
                let a = self.ext_child(x)?;
                self.emit(OpCode::ExtNeg, a, 0)
            }
        })
    }

    fn ext_child(&mut self, child: &Arc<SymbolicExpressionExt<F, EF>>) -> Result<u32, ProveError> {
        let id = Arc::as_ptr(child) as usize;
        if let Some(&r) = self.ext_seen.get(&id) {
            return Ok(r);
        }
        let r = self.ext(child)?;
        self.ext_seen.insert(id, r);
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use p3_air::symbolic::{BaseEntry, ConstraintLayout, SymbolicExpression, SymbolicVariable};
    use p3_field::PrimeCharacteristicRing;
    use p3_koala_bear::KoalaBear;

    use super::*;
    use crate::field::Challenge;
    use crate::interpreter::{ConstraintFolder, ProgramEnv, Registers, RowWindow, execute};

    type F = KoalaBear;
    type EF = Challenge<F>;

    fn main_var(offset: usize, index: usize) -> SymbolicExpression<F> {
        SymbolicVariable::<F>::new(BaseEntry::Main { offset }, index).into()
    }

    /// `x*y - 5` and `y*x + x` over a 2-column trace, `x` current row, `y` next row.
    fn two_constraints() -> ConstraintProgram<F, EF> {
        let (x, y) = (main_var(0, 0), main_var(1, 1));
        let c0 = x.clone() * y.clone() - SymbolicExpression::from(F::from_u64(5));
        let c1 = y * x.clone() + x;
        let layout = ConstraintLayout {
            base_indices: vec![0, 1],
            ext_indices: vec![],
        };
        let inputs = ProgramInputs {
            main_width: 2,
            ..Default::default()
        };
        ConstraintProgram::compile(&[c0, c1], &[], &layout, inputs).expect("compiles")
    }

    fn run(
        program: &ConstraintProgram<F, EF>,
        local: [u64; 2],
        next: [u64; 2],
    ) -> Registers<F, EF> {
        let env = ProgramEnv {
            public_values: &[],
            challenges: &[],
            permutation_values: &[],
        };
        let (local, next) = (local.map(F::from_u64), next.map(F::from_u64));
        let row = RowWindow {
            main_local: &local,
            main_next: &next,
            permutation_local: &[],
            permutation_next: &[],
            is_first_row: F::ZERO,
            is_last_row: F::ZERO,
            is_transition: F::ONE,
        };
        let mut regs = Registers::for_program(program);
        execute(program, &env, &row, &mut regs);
        regs
    }

    #[test]
    fn instruction_is_four_words() {
        assert_eq!(core::mem::size_of::<Instruction>(), 16);
        assert_eq!(core::mem::align_of::<Instruction>(), 4);
        assert_eq!(core::mem::size_of::<ConstraintOutput>(), 12);
    }

    #[test]
    fn shared_products_get_one_register() {
        let program = two_constraints();
        let muls = program
            .instructions
            .iter()
            .filter(|i| i.op == OpCode::Mul)
            .count();
        assert_eq!(muls, 1, "{:?}", program.instructions);
        let loads = program
            .instructions
            .iter()
            .filter(|i| i.op == OpCode::LoadMain)
            .count();
        assert_eq!(loads, 2);
    }

    #[test]
    fn program_computes_each_constraint() {
        let program = two_constraints();
        let regs = run(&program, [3, 100], [100, 7]);
        let value = |k: usize| regs.base[program.outputs[k].register as usize];
        assert_eq!(value(0), F::from_u64(3 * 7 - 5));
        assert_eq!(value(1), F::from_u64(3 * 7 + 3));
    }

    #[test]
    fn folding_uses_descending_powers_by_emission_index() {
        let program = two_constraints();
        let regs = run(&program, [3, 0], [0, 7]);
        let alpha = EF::from_u64(11);
        let folded: EF = ConstraintFolder::new(&program, alpha).fold(&regs);
        // K = 2: constraint 0 gets alpha^1, constraint 1 gets alpha^0.
        assert_eq!(folded, alpha * EF::from_u64(16) + EF::from_u64(24));
    }

    #[test]
    fn out_of_range_columns_are_reported() {
        let layout = ConstraintLayout {
            base_indices: vec![0],
            ext_indices: vec![],
        };
        let inputs = ProgramInputs {
            main_width: 1,
            ..Default::default()
        };
        let result = ConstraintProgram::<F, EF>::compile(&[main_var(0, 3)], &[], &layout, inputs);
        assert!(matches!(result, Err(ProveError::Unsupported(_))));
    }
}
