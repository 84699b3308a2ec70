//! Runs a [`ConstraintProgram`] on rows of trace data.
//!
//! The interpreter is generic over the value types so the same code serves the SIMD-packed
//! quotient evaluation (`P = F::Packing`, `PE = EF::ExtensionPacking`, several rows at once) and
//! the scalar witness check (`P = F`, `PE = EF`, one row at a time).

use p3_field::{Algebra, BasedVectorSpace, ExtensionField, Field, PackedField};

use crate::program::{ConstraintProgram, OpCode, OutputKind};

/// Values that are the same on every row: public values and the challenges of this proof.
#[derive(Clone, Copy, Debug)]
pub struct ProgramEnv<'a, F, EF> {
    pub public_values: &'a [F],
    pub challenges: &'a [EF],
    pub permutation_values: &'a [EF],
}

/// The data one evaluation step reads: the current and next row, and the Lagrange selectors.
#[derive(Clone, Copy, Debug)]
pub struct RowWindow<'a, P, PE> {
    pub main_local: &'a [P],
    pub main_next: &'a [P],
    pub permutation_local: &'a [PE],
    pub permutation_next: &'a [PE],
    pub is_first_row: P,
    pub is_last_row: P,
    pub is_transition: P,
}

/// Register files for one worker; allocated once and reused for every row it evaluates.
pub struct Registers<P, PE> {
    pub base: Vec<P>,
    pub ext: Vec<PE>,
}

impl<P: Copy + Default, PE: Copy + Default> Registers<P, PE> {
    pub fn for_program<F, EF>(program: &ConstraintProgram<F, EF>) -> Self {
        Self {
            base: vec![P::default(); program.num_base_registers],
            ext: vec![PE::default(); program.num_ext_registers],
        }
    }
}

/// Execute every instruction of `program` on one row window, leaving each constraint's value in
/// its output register.
#[inline]
pub fn execute<F, EF, P, PE>(
    program: &ConstraintProgram<F, EF>,
    env: &ProgramEnv<'_, F, EF>,
    row: &RowWindow<'_, P, PE>,
    regs: &mut Registers<P, PE>,
) where
    F: Field,
    EF: ExtensionField<F>,
    P: PackedField<Scalar = F>,
    PE: Algebra<EF> + Algebra<P> + Copy,
{
    let base = &mut regs.base;
    let ext = &mut regs.ext;
    for ins in &program.instructions {
        let (dst, a, b) = (ins.dst as usize, ins.a as usize, ins.b as usize);
        match ins.op {
            OpCode::LoadMain => {
                base[dst] = if b == 0 {
                    row.main_local[a]
                } else {
                    row.main_next[a]
                }
            }
            OpCode::LoadPublic => base[dst] = P::from(env.public_values[a]),
            OpCode::LoadConst => base[dst] = P::from(program.base_constants[a]),
            OpCode::LoadIsFirstRow => base[dst] = row.is_first_row,
            OpCode::LoadIsLastRow => base[dst] = row.is_last_row,
            OpCode::LoadIsTransition => base[dst] = row.is_transition,
            OpCode::Add => base[dst] = base[a] + base[b],
            OpCode::Sub => base[dst] = base[a] - base[b],
            OpCode::Mul => base[dst] = base[a] * base[b],
            OpCode::Neg => base[dst] = -base[a],
            OpCode::ExtLoadPermutation => {
                ext[dst] = if b == 0 {
                    row.permutation_local[a]
                } else {
                    row.permutation_next[a]
                }
            }
            OpCode::ExtLoadChallenge => ext[dst] = PE::from(env.challenges[a]),
            OpCode::ExtLoadPermutationValue => ext[dst] = PE::from(env.permutation_values[a]),
            OpCode::ExtLoadConst => ext[dst] = PE::from(program.ext_constants[a]),
            OpCode::ExtFromBase => ext[dst] = PE::from(base[a]),
            OpCode::ExtAdd => ext[dst] = ext[a] + ext[b],
            OpCode::ExtSub => ext[dst] = ext[a] - ext[b],
            OpCode::ExtMul => ext[dst] = ext[a] * ext[b],
            OpCode::ExtNeg => ext[dst] = -ext[a],
        }
    }
}

/// Folds a program's outputs with powers of the constraint challenge `alpha`.
///
/// Base-field constraints are folded coordinate-wise (`D` base-field dot products, then one
/// extension element), which keeps the hot loop in packed base-field arithmetic.
pub struct ConstraintFolder<F, EF> {
    base_registers: Vec<usize>,
    /// `base_weights[d][i]`: coordinate `d` of the weight of the `i`-th base constraint.
    base_weights: Vec<Vec<F>>,
    ext_registers: Vec<usize>,
    ext_weights: Vec<EF>,
}

impl<F: Field, EF: ExtensionField<F>> ConstraintFolder<F, EF> {
    pub fn new(program: &ConstraintProgram<F, EF>, alpha: EF) -> Self {
        let weights = program.folding_weights(alpha);
        let mut base_registers = Vec::new();
        let mut base_weights = vec![Vec::new(); EF::DIMENSION];
        let mut ext_registers = Vec::new();
        let mut ext_weights = Vec::new();
        for (out, w) in program.outputs.iter().zip(weights) {
            match out.kind {
                OutputKind::Base => {
                    base_registers.push(out.register as usize);
                    for (d, coeff) in w.as_basis_coefficients_slice().iter().enumerate() {
                        base_weights[d].push(*coeff);
                    }
                }
                OutputKind::Ext => {
                    ext_registers.push(out.register as usize);
                    ext_weights.push(w);
                }
            }
        }
        Self {
            base_registers,
            base_weights,
            ext_registers,
            ext_weights,
        }
    }

    /// `sum_g alpha^(K-1-g) * C_g` over the constraint values held in `regs`.
    #[inline]
    pub fn fold<P, PE>(&self, regs: &Registers<P, PE>) -> PE
    where
        P: PackedField<Scalar = F>,
        PE: Algebra<EF> + Algebra<P> + BasedVectorSpace<P> + Copy,
    {
        let base_part = PE::from_basis_coefficients_fn(|d| {
            let weights = &self.base_weights[d];
            let mut acc = P::ZERO;
            for (&r, &w) in self.base_registers.iter().zip(weights) {
                acc += regs.base[r] * w;
            }
            acc
        });
        let mut acc = base_part;
        for (&r, &w) in self.ext_registers.iter().zip(&self.ext_weights) {
            acc += regs.ext[r] * w;
        }
        acc
    }
}
