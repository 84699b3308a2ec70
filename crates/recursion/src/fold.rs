//! The constraint fold at ζ: an instance's compiled constraint program run on its opened values
//! and folded with the constraint challenge, written once over [`Ops`] with the fewest `Alu`
//! rows a builder needs for it. The value is exactly the plain evaluation's (every rewrite is a
//! field identity), so the statement a circuit checks does not change, only its row count:
//!
//! - a product read once is not emitted on its own: its reader folds it into a `mul_add`
//!   (`a·b + c` is one `Alu` row, as `a·b` and `a + b` are), so a sum of products (a linear
//!   layer, a selector-weighted property) costs one row a term instead of two;
//! - constants are folded at build time (`c₁ ∘ c₂`, `x·1`, `x + 0`, `x·0`), and a negated
//!   product with a constant factor negates the constant;
//! - the fold `Σ_g α^(K−1−g)·C_g` is a Horner chain in emission order, `acc·α + C_g`: one row a
//!   constraint instead of a power, a product and a sum.

use p3_field::PrimeCharacteristicRing;
use slotproof_prover::program::{ConstraintProgram, OpCode, OutputKind, ProgramInputs};

use crate::config::{Challenge, Val};
use crate::ops::Ops;

/// What one instance's constraints read at ζ: the row `[main | preprocessed]` at ζ and at the
/// next point, public values, the LogUp columns (recomposed), the lookup challenges and
/// terminal, the selectors, and the constraint challenge.
pub struct ConstraintInputs<'a, F, E> {
    pub row_local: &'a [E],
    pub row_next: &'a [E],
    pub public_values: &'a [F],
    pub permutation_local: &'a [E],
    pub permutation_next: &'a [E],
    pub challenges: &'a [E],
    pub terminals: &'a [E],
    pub is_first_row: E,
    pub is_last_row: E,
    pub is_transition: E,
    pub alpha: E,
}

/// Owned [`ConstraintInputs`] of a program's shape, every value entered through `ops`: what tests
/// and row measurements fold a program at (the rows a fold emits do not depend on the values).
/// Test support, not the verifier's path (that takes the proof's openings).
#[doc(hidden)]
pub struct PlaceholderInputs<F, E> {
    row_local: Vec<E>,
    row_next: Vec<E>,
    public_values: Vec<F>,
    permutation_local: Vec<E>,
    permutation_next: Vec<E>,
    challenges: Vec<E>,
    terminals: Vec<E>,
    /// `is_first_row`, `is_last_row`, `is_transition`, `alpha`.
    selectors: [E; 4],
}

impl<F: Copy, E: Copy> PlaceholderInputs<F, E> {
    /// Inputs for `shape`, made in this order: the row at ζ and at the next point, the LogUp
    /// columns at both, the challenges, the terminals (at least one), the three selectors and
    /// α, each by `ext`; then the public values, the `k`-th by `base(ops, k)`.
    pub fn new<O: Ops<F = F, E = E>>(
        ops: &mut O,
        shape: &ProgramInputs,
        mut ext: impl FnMut(&mut O) -> E,
        mut base: impl FnMut(&mut O, usize) -> F,
    ) -> Self {
        let mut vec = |ops: &mut O, n: usize| (0..n).map(|_| ext(ops)).collect::<Vec<E>>();
        let row_local = vec(ops, shape.main_width);
        let row_next = vec(ops, shape.main_width);
        let permutation_local = vec(ops, shape.permutation_width);
        let permutation_next = vec(ops, shape.permutation_width);
        let challenges = vec(ops, shape.num_challenges);
        let terminals = vec(ops, shape.num_permutation_values.max(1));
        let s = vec(ops, 4);
        let public_values = (0..shape.num_public_values).map(|k| base(ops, k)).collect();
        Self {
            row_local,
            row_next,
            public_values,
            permutation_local,
            permutation_next,
            challenges,
            terminals,
            selectors: [s[0], s[1], s[2], s[3]],
        }
    }

    /// Every value zero.
    pub fn zeros<O: Ops<F = F, E = E>>(ops: &mut O, shape: &ProgramInputs) -> Self {
        Self::new(
            ops,
            shape,
            |ops| ops.ext_input(Challenge::ZERO),
            |ops, _| ops.input(Val::ZERO),
        )
    }

    pub fn inputs(&self) -> ConstraintInputs<'_, F, E> {
        let [is_first_row, is_last_row, is_transition, alpha] = self.selectors;
        ConstraintInputs {
            row_local: &self.row_local,
            row_next: &self.row_next,
            public_values: &self.public_values,
            permutation_local: &self.permutation_local,
            permutation_next: &self.permutation_next,
            challenges: &self.challenges,
            terminals: &self.terminals,
            is_first_row,
            is_last_row,
            is_transition,
            alpha,
        }
    }
}

/// A register's value, emitted only where that is needed.
#[derive(Clone, Copy)]
enum Lazy<E> {
    /// A constant, emitted where an operand needs it (builders deduplicate constants).
    Const(Challenge),
    Word(E),
    /// `a·b`, not emitted: its register has one reader, which may fold it into a `mul_add`.
    /// The second factor's value when it is a constant (its negation is then free).
    Prod(E, E, Option<Challenge>),
}

struct Fold<'o, O: Ops> {
    ops: &'o mut O,
}

impl<O: Ops> Fold<'_, O> {
    fn word(&mut self, x: Lazy<O::E>) -> O::E {
        match x {
            Lazy::Const(c) => self.ops.ext_constant(c),
            Lazy::Word(w) => w,
            Lazy::Prod(a, b, _) => self.ops.mul(a, b),
        }
    }

    /// `x` as a register value: a product stays lazy only where its register is read once.
    fn settle(&mut self, x: Lazy<O::E>, read_once: bool) -> Lazy<O::E> {
        match x {
            Lazy::Prod(..) if !read_once => Lazy::Word(self.word(x)),
            _ => x,
        }
    }

    fn add(&mut self, x: Lazy<O::E>, y: Lazy<O::E>) -> Lazy<O::E> {
        match (x, y) {
            (Lazy::Const(a), Lazy::Const(b)) => Lazy::Const(a + b),
            (v, Lazy::Const(z)) | (Lazy::Const(z), v) if z == Challenge::ZERO => v,
            (Lazy::Prod(a, b, _), other) | (other, Lazy::Prod(a, b, _)) => {
                // With two products, the first is emitted and the second folded into it.
                let c = self.word(other);
                Lazy::Word(self.ops.mul_add(a, b, c))
            }
            (x, y) => {
                let (a, b) = (self.word(x), self.word(y));
                Lazy::Word(self.ops.add(a, b))
            }
        }
    }

    fn sub(&mut self, x: Lazy<O::E>, y: Lazy<O::E>) -> Lazy<O::E> {
        match (x, y) {
            (Lazy::Const(a), Lazy::Const(b)) => Lazy::Const(a - b),
            (v, Lazy::Const(z)) if z == Challenge::ZERO => v,
            // a·b − c = a·b + (−c).
            (Lazy::Prod(a, b, _), Lazy::Const(c)) => {
                let minus_c = self.ops.ext_constant(-c);
                Lazy::Word(self.ops.mul_add(a, b, minus_c))
            }
            // x − a·k = a·(−k) + x.
            (x, Lazy::Prod(a, _, Some(k))) if !matches!(x, Lazy::Prod(..)) => {
                let minus_k = self.ops.ext_constant(-k);
                let c = self.word(x);
                Lazy::Word(self.ops.mul_add(a, minus_k, c))
            }
            (x, y) => {
                let (a, b) = (self.word(x), self.word(y));
                Lazy::Word(self.ops.sub(a, b))
            }
        }
    }

    fn mul(&mut self, x: Lazy<O::E>, y: Lazy<O::E>) -> Lazy<O::E> {
        match (x, y) {
            (Lazy::Const(a), Lazy::Const(b)) => Lazy::Const(a * b),
            (_, Lazy::Const(z)) | (Lazy::Const(z), _) if z == Challenge::ZERO => {
                Lazy::Const(Challenge::ZERO)
            }
            (v, Lazy::Const(o)) | (Lazy::Const(o), v) if o == Challenge::ONE => v,
            (v, Lazy::Const(k)) | (Lazy::Const(k), v) => {
                let (a, b) = (self.word(v), self.ops.ext_constant(k));
                Lazy::Prod(a, b, Some(k))
            }
            (x, y) => {
                let (a, b) = (self.word(x), self.word(y));
                Lazy::Prod(a, b, None)
            }
        }
    }

    fn neg(&mut self, x: Lazy<O::E>) -> Lazy<O::E> {
        match x {
            Lazy::Const(c) => Lazy::Const(-c),
            Lazy::Prod(a, _, Some(k)) => {
                let minus_k = self.ops.ext_constant(-k);
                Lazy::Prod(a, minus_k, Some(-k))
            }
            x => {
                let a = self.word(x);
                let minus_one = self.ops.ext_constant(Challenge::NEG_ONE);
                Lazy::Prod(a, minus_one, Some(Challenge::NEG_ONE))
            }
        }
    }
}

/// `Σ_g α^(K-1-g)·C_g`: the instance's compiled constraint program run at ζ and folded with the
/// constraint challenge (module docs). `Err` names an input the program reads but the inputs
/// lack.
pub fn fold_constraints<O: Ops>(
    ops: &mut O,
    program: &ConstraintProgram<Val, Challenge>,
    inputs: &ConstraintInputs<'_, O::F, O::E>,
) -> Result<O::E, &'static str> {
    // Readers per register (operands and constraint outputs): a product is kept lazy only in a
    // register read once.
    let mut base_reads = vec![0u32; program.num_base_registers];
    let mut ext_reads = vec![0u32; program.num_ext_registers];
    for ins in &program.instructions {
        let (a, b) = (ins.a as usize, ins.b as usize);
        match ins.op {
            OpCode::Add | OpCode::Sub | OpCode::Mul => {
                base_reads[a] += 1;
                base_reads[b] += 1;
            }
            OpCode::Neg | OpCode::ExtFromBase => base_reads[a] += 1,
            OpCode::ExtAdd | OpCode::ExtSub | OpCode::ExtMul => {
                ext_reads[a] += 1;
                ext_reads[b] += 1;
            }
            OpCode::ExtNeg => ext_reads[a] += 1,
            _ => {}
        }
    }
    for out in &program.outputs {
        match out.kind {
            OutputKind::Base => base_reads[out.register as usize] += 1,
            OutputKind::Ext => ext_reads[out.register as usize] += 1,
        }
    }

    let mut f = Fold { ops };
    let unset = Lazy::Const(Challenge::ZERO);
    let mut base = vec![unset; program.num_base_registers];
    let mut ext = vec![unset; program.num_ext_registers];
    for ins in &program.instructions {
        let (dst, a, b) = (ins.dst as usize, ins.a as usize, ins.b as usize);
        let value = match ins.op {
            OpCode::LoadMain => {
                let row = if b == 0 {
                    inputs.row_local
                } else {
                    inputs.row_next
                };
                Lazy::Word(*row.get(a).ok_or("column")?)
            }
            OpCode::LoadPublic => {
                let v = *inputs.public_values.get(a).ok_or("public value")?;
                Lazy::Word(f.ops.lift(v))
            }
            OpCode::LoadConst => Lazy::Const(Challenge::from(program.base_constants[a])),
            OpCode::LoadIsFirstRow => Lazy::Word(inputs.is_first_row),
            OpCode::LoadIsLastRow => Lazy::Word(inputs.is_last_row),
            OpCode::LoadIsTransition => Lazy::Word(inputs.is_transition),
            OpCode::Add => f.add(base[a], base[b]),
            OpCode::Sub => f.sub(base[a], base[b]),
            OpCode::Mul => f.mul(base[a], base[b]),
            OpCode::Neg => f.neg(base[a]),
            OpCode::ExtLoadPermutation => {
                let row = if b == 0 {
                    inputs.permutation_local
                } else {
                    inputs.permutation_next
                };
                Lazy::Word(*row.get(a).ok_or("LogUp column")?)
            }
            OpCode::ExtLoadChallenge => Lazy::Word(*inputs.challenges.get(a).ok_or("challenge")?),
            OpCode::ExtLoadPermutationValue => {
                Lazy::Word(*inputs.terminals.get(a).ok_or("terminal")?)
            }
            OpCode::ExtLoadConst => Lazy::Const(program.ext_constants[a]),
            OpCode::ExtFromBase => base[a],
            OpCode::ExtAdd => f.add(ext[a], ext[b]),
            OpCode::ExtSub => f.sub(ext[a], ext[b]),
            OpCode::ExtMul => f.mul(ext[a], ext[b]),
            OpCode::ExtNeg => f.neg(ext[a]),
        };
        if (ins.op as u32) < OpCode::ExtLoadPermutation as u32 {
            base[dst] = f.settle(value, base_reads[dst] == 1);
        } else {
            ext[dst] = f.settle(value, ext_reads[dst] == 1);
        }
    }

    // Horner in emission order: after the last step, C_g carries α^(K−1−g).
    let k = program.outputs.len();
    let mut by_index: Vec<Vec<Lazy<O::E>>> = vec![Vec::new(); k];
    for out in &program.outputs {
        let value = match out.kind {
            OutputKind::Base => base[out.register as usize],
            OutputKind::Ext => ext[out.register as usize],
        };
        by_index
            .get_mut(out.emission_index as usize)
            .ok_or("constraint index")?
            .push(value);
    }
    let mut acc = Lazy::Const(Challenge::ZERO);
    for constraints in by_index {
        let mut term = Lazy::Const(Challenge::ZERO);
        for c in constraints {
            term = f.add(term, c);
        }
        acc = match acc {
            Lazy::Const(z) if z == Challenge::ZERO => term,
            acc => {
                let acc = f.word(acc);
                let weighted = Lazy::Prod(acc, inputs.alpha, None);
                f.add(weighted, term)
            }
        };
    }
    Ok(f.word(acc))
}

/// The plain fold (one row an operation, powers of α, a product and a sum a constraint): what
/// [`fold_constraints`] must equal. For tests.
pub fn fold_constraints_plain<O: Ops>(
    ops: &mut O,
    program: &ConstraintProgram<Val, Challenge>,
    inputs: &ConstraintInputs<'_, O::F, O::E>,
) -> Result<O::E, &'static str> {
    let zero = ops.ext_zero();
    let mut base = vec![zero; program.num_base_registers];
    let mut ext = vec![zero; program.num_ext_registers];
    for ins in &program.instructions {
        let (dst, a, b) = (ins.dst as usize, ins.a as usize, ins.b as usize);
        match ins.op {
            OpCode::LoadMain => {
                let row = if b == 0 {
                    inputs.row_local
                } else {
                    inputs.row_next
                };
                base[dst] = *row.get(a).ok_or("column")?;
            }
            OpCode::LoadPublic => {
                let v = *inputs.public_values.get(a).ok_or("public value")?;
                base[dst] = ops.lift(v);
            }
            OpCode::LoadConst => {
                let c = ops.constant(program.base_constants[a]);
                base[dst] = ops.lift(c);
            }
            OpCode::LoadIsFirstRow => base[dst] = inputs.is_first_row,
            OpCode::LoadIsLastRow => base[dst] = inputs.is_last_row,
            OpCode::LoadIsTransition => base[dst] = inputs.is_transition,
            OpCode::Add => base[dst] = ops.add(base[a], base[b]),
            OpCode::Sub => base[dst] = ops.sub(base[a], base[b]),
            OpCode::Mul => base[dst] = ops.mul(base[a], base[b]),
            OpCode::Neg => base[dst] = ops.neg(base[a]),
            OpCode::ExtLoadPermutation => {
                let row = if b == 0 {
                    inputs.permutation_local
                } else {
                    inputs.permutation_next
                };
                ext[dst] = *row.get(a).ok_or("LogUp column")?;
            }
            OpCode::ExtLoadChallenge => ext[dst] = *inputs.challenges.get(a).ok_or("challenge")?,
            OpCode::ExtLoadPermutationValue => {
                ext[dst] = *inputs.terminals.get(a).ok_or("terminal")?;
            }
            OpCode::ExtLoadConst => ext[dst] = ops.ext_constant(program.ext_constants[a]),
            OpCode::ExtFromBase => ext[dst] = base[a],
            OpCode::ExtAdd => ext[dst] = ops.add(ext[a], ext[b]),
            OpCode::ExtSub => ext[dst] = ops.sub(ext[a], ext[b]),
            OpCode::ExtMul => ext[dst] = ops.mul(ext[a], ext[b]),
            OpCode::ExtNeg => ext[dst] = ops.neg(ext[a]),
        }
    }
    let k = program.outputs.len();
    let mut powers = Vec::with_capacity(k);
    let mut p = ops.ext_constant(Challenge::ONE);
    for _ in 0..k {
        powers.push(p);
        p = ops.mul(p, inputs.alpha);
    }
    let mut folded = ops.ext_zero();
    for out in &program.outputs {
        let value = match out.kind {
            OutputKind::Base => base[out.register as usize],
            OutputKind::Ext => ext[out.register as usize],
        };
        let weight = powers[k - 1 - out.emission_index as usize];
        let term = ops.mul(weight, value);
        folded = ops.add(folded, term);
    }
    Ok(folded)
}
