//! Quotient evaluation on the device: the prover's compiled constraint program, interpreted per
//! row of the quotient domain by one kernel (`kernels/quotient.cu`) for every AIR.
//!
//! # Interpret, not generate
//!
//! The kernel interprets the instruction list the prover already compiles from Plonky3's
//! symbolic constraints (`slotproof_prover::program`) instead of generating CUDA per AIR at build
//! time. Reasons:
//!
//! * **One source of truth.** The CPU quotient runs the very same program, so the device and the
//!   host cannot drift apart; a constraint change needs no kernel rebuild and no nvcc (the crate
//!   builds and tests without one), and every AIR (EVM chips, test AIRs, LogUp) is covered by the
//!   same code path that is tested bit for bit.
//! * **No divergence.** The program is straight-line: every thread of a warp executes the same
//!   instruction at the same time, so the opcode switch costs a few instructions per op and the
//!   instruction words are broadcast loads from L1.
//! * **The cost is the register file in memory** (hardware registers cannot be indexed). It is
//!   kept small by lowering: registers are renumbered by liveness (a register is reused as soon
//!   as its last reader has run) and each constraint is folded into the accumulator with its
//!   power of alpha right after it is computed, so no output stays live to the end. The scratch
//!   file is laid out `[register][thread]` so a warp's accesses coalesce.
//!
//! Code generation would keep values in hardware registers and could be several times faster per
//! row; it stays possible later on top of the same [`DeviceProgram`] (the lowered program is
//! exactly what a generator would print), once the interpreter's measured cost says it matters.
//!
//! # Inputs
//!
//! The main and LogUp matrices are read where the commitment left them: bit-reversed coset LDEs
//! (shift `F::GENERATOR`) with at least as many rows as the quotient domain, whose first
//! `2^log_quotient` rows are the bit-reversed quotient domain (what p3's
//! `get_evaluations_on_domain` views). Nothing is copied or reordered before the kernel runs.

use cudarc::driver::DeviceRepr;
use p3_field::{BasedVectorSpace, ExtensionField};
use slotproof_prover::program::{ConstraintProgram, OpCode, OutputKind};

use crate::backend::{CudaBackend, DeviceMatrix};
use crate::error::{Error, Result};
use crate::field::DeviceField;

/// `acc += weights[b] * base[a]` (device-only opcode, after the prover's 0..=18).
pub const OP_ACC_BASE: u32 = 19;
/// `acc += weights[b] * ext[a]`.
pub const OP_ACC_EXT: u32 = 20;

/// Threads of one quotient launch at most (the scratch register file scales with it); the
/// memory planner sizes the scratch file with the same figure.
pub use slotproof_prover::device_memory::DEFAULT_QUOTIENT_MAX_THREADS as DEFAULT_MAX_THREADS;
pub use slotproof_prover::device_memory::quotient_threads;

/// See `QuotientParams` in kernels/prover_params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuotientParams {
    pub program: u64,
    pub main: u64,
    pub main_stride: u64,
    pub perm: u64,
    pub perm_stride: u64,
    pub base_consts: u64,
    pub ext_consts: u64,
    pub public_values: u64,
    pub challenges: u64,
    pub perm_values: u64,
    pub weights: u64,
    pub zh: u64,
    pub scratch: u64,
    pub out: u64,
    pub num_instructions: u32,
    pub log_quotient: u32,
    pub log_trace: u32,
    pub num_base_regs: u32,
    pub num_ext_regs: u32,
    pub num_threads: u32,
    pub shift: u32,
    pub g_quotient: u32,
    pub h_inv: u32,
    pub _pad: u32,
}

/// See `QuotientSplitParams` in kernels/prover_params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuotientSplitParams {
    pub quotient: u64,
    pub out: u64,
    pub log_quotient: u32,
    pub log_chunks: u32,
}

// SAFETY: plain-old-data #[repr(C)] structs matching prover_params.cuh (tests below).
unsafe impl DeviceRepr for QuotientParams {}
unsafe impl DeviceRepr for QuotientSplitParams {}

/// A constraint program lowered for the device: the prover's instructions with registers
/// renumbered by liveness, plus accumulate instructions that fold each constraint right after it
/// is computed. Instruction words are `[op, dst, a, b]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceProgram {
    pub instructions: Vec<[u32; 4]>,
    pub num_base_regs: usize,
    pub num_ext_regs: usize,
    /// Montgomery words of the base constants.
    pub base_constants: Vec<u32>,
    /// Montgomery words of the extension constants, 4 per constant.
    pub ext_constants: Vec<u32>,
    /// Number of accumulate slots (= the program's constraints, in output order).
    pub num_outputs: usize,
    /// The input shape the program reads.
    pub main_width: usize,
    pub permutation_width: usize,
    pub num_public_values: usize,
    pub num_challenges: usize,
    pub num_permutation_values: usize,
}

/// Which register file an operand or destination is in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum File {
    Base,
    Ext,
}

/// Destination file and register operands `(file, a?, b?)` of an opcode.
fn operands(op: OpCode) -> (File, Option<File>, Option<File>) {
    use OpCode::*;
    match op {
        LoadMain | LoadPublic | LoadConst | LoadIsFirstRow | LoadIsLastRow | LoadIsTransition => {
            (File::Base, None, None)
        }
        Add | Sub | Mul => (File::Base, Some(File::Base), Some(File::Base)),
        Neg => (File::Base, Some(File::Base), None),
        ExtLoadPermutation | ExtLoadChallenge | ExtLoadPermutationValue | ExtLoadConst => {
            (File::Ext, None, None)
        }
        ExtFromBase => (File::Ext, Some(File::Base), None),
        ExtAdd | ExtSub | ExtMul => (File::Ext, Some(File::Ext), Some(File::Ext)),
        ExtNeg => (File::Ext, Some(File::Ext), None),
    }
}

/// Free-list allocator of one register file (lowest free register first, for a dense file).
#[derive(Default)]
struct Allocator {
    free: std::collections::BTreeSet<u32>,
    count: u32,
}

impl Allocator {
    fn take(&mut self) -> u32 {
        match self.free.pop_first() {
            Some(r) => r,
            None => {
                self.count += 1;
                self.count - 1
            }
        }
    }
    fn give(&mut self, r: u32) {
        self.free.insert(r);
    }
}

fn ext_words<F: DeviceField, EF: BasedVectorSpace<F>>(v: &EF) -> Result<[u32; 4]> {
    let c = v.as_basis_coefficients_slice();
    if c.len() != 4 {
        return Err(Error::InvalidShape(format!(
            "extension of degree {} (the kernels implement degree 4)",
            c.len()
        )));
    }
    Ok(core::array::from_fn(|k| c[k].to_monty_word()))
}

/// Montgomery words of extension elements, 4 each.
pub fn ext_slice_words<F: DeviceField, EF: BasedVectorSpace<F>>(v: &[EF]) -> Result<Vec<u32>> {
    let mut out = Vec::with_capacity(4 * v.len());
    for x in v {
        out.extend(ext_words::<F, EF>(x)?);
    }
    Ok(out)
}

impl DeviceProgram {
    /// Lower a compiled program (see the module docs). Fails on a program whose registers are
    /// read before they are written or out of range (not produced by `ConstraintProgram::compile`).
    pub fn lower<F: DeviceField, EF: ExtensionField<F>>(
        program: &ConstraintProgram<F, EF>,
    ) -> Result<Self> {
        let bad = |what: String| Error::InvalidShape(format!("constraint program: {what}"));
        let (nb, ne) = (program.num_base_registers, program.num_ext_registers);
        let idx = |file: File, r: u32| -> Result<usize> {
            let (bound, base) = match file {
                File::Base => (nb, 0),
                File::Ext => (ne, nb),
            };
            if (r as usize) < bound {
                Ok(base + r as usize)
            } else {
                Err(bad(format!("register {r} out of range")))
            }
        };
        // Last instruction reading each (file, register); outputs are read by their accumulate,
        // which directly follows the defining instruction.
        let mut last_use = vec![None::<usize>; nb + ne];
        let mut defined_at = vec![None::<usize>; nb + ne];
        for (n, ins) in program.instructions.iter().enumerate() {
            let (dst_file, fa, fb) = operands(ins.op);
            for (file, r) in [(fa, ins.a), (fb, ins.b)] {
                if let Some(file) = file {
                    let i = idx(file, r)?;
                    if defined_at[i].is_none() {
                        return Err(bad(format!(
                            "instruction {n} reads register {r} before it is written"
                        )));
                    }
                    last_use[i] = Some(n);
                }
            }
            let d = idx(dst_file, ins.dst)?;
            if defined_at[d].is_some() {
                return Err(bad(format!("register {} written twice", ins.dst)));
            }
            defined_at[d] = Some(n);
        }
        // Outputs by defining instruction.
        let mut outputs_of: Vec<Vec<(File, usize)>> = vec![Vec::new(); program.instructions.len()];
        for (slot, out) in program.outputs.iter().enumerate() {
            let file = match out.kind {
                OutputKind::Base => File::Base,
                OutputKind::Ext => File::Ext,
            };
            let i = idx(file, out.register)?;
            let n = defined_at[i].ok_or_else(|| bad(format!("output {slot} is never computed")))?;
            outputs_of[n].push((file, slot));
        }

        let mut base_alloc = Allocator::default();
        let mut ext_alloc = Allocator::default();
        let mut phys = vec![0u32; nb + ne];
        let mut instructions =
            Vec::with_capacity(program.instructions.len() + program.outputs.len());
        for (n, ins) in program.instructions.iter().enumerate() {
            let (dst_file, fa, fb) = operands(ins.op);
            let mut mapped = [ins.op as u32, 0, ins.a, ins.b];
            for (k, (file, r)) in [(fa, ins.a), (fb, ins.b)].into_iter().enumerate() {
                if let Some(file) = file {
                    mapped[2 + k] = phys[idx(file, r)?];
                }
            }
            // Operands read for the last time free their registers before the destination is
            // chosen: the kernel reads operands before it writes the destination.
            for (file, r) in [(fa, ins.a), (fb, ins.b)] {
                if let Some(file) = file {
                    let i = idx(file, r)?;
                    if last_use[i] == Some(n) {
                        let p = phys[i];
                        let alloc = if file == File::Base {
                            &mut base_alloc
                        } else {
                            &mut ext_alloc
                        };
                        // `x * x` reads one register twice: free it once.
                        if !alloc.free.contains(&p) {
                            alloc.give(p);
                        }
                    }
                }
            }
            let d = idx(dst_file, ins.dst)?;
            let alloc = if dst_file == File::Base {
                &mut base_alloc
            } else {
                &mut ext_alloc
            };
            let p = alloc.take();
            phys[d] = p;
            mapped[1] = p;
            instructions.push(mapped);
            for &(file, slot) in &outputs_of[n] {
                let op = if file == File::Base {
                    OP_ACC_BASE
                } else {
                    OP_ACC_EXT
                };
                instructions.push([op, 0, p, slot as u32]);
            }
            if last_use[d].is_none() {
                alloc.give(p);
            }
        }
        Ok(Self {
            instructions,
            num_base_regs: base_alloc.count as usize,
            num_ext_regs: ext_alloc.count as usize,
            base_constants: program
                .base_constants
                .iter()
                .map(|c| c.to_monty_word())
                .collect(),
            ext_constants: ext_slice_words::<F, EF>(&program.ext_constants)?,
            num_outputs: program.outputs.len(),
            main_width: program.inputs.main_width,
            permutation_width: program.inputs.permutation_width,
            num_public_values: program.inputs.num_public_values,
            num_challenges: program.inputs.num_challenges,
            num_permutation_values: program.inputs.num_permutation_values,
        })
    }

    /// Words of scratch one thread needs.
    pub fn scratch_words_per_thread(&self) -> usize {
        self.num_base_regs + 4 * self.num_ext_regs
    }
}

/// The folding weights `alpha^(K-1-g)` of a program's outputs (output order), 4 words each.
pub fn folding_weight_words<F: DeviceField, EF: ExtensionField<F>>(
    program: &ConstraintProgram<F, EF>,
    alpha: EF,
) -> Result<Vec<u32>> {
    ext_slice_words::<F, EF>(&program.folding_weights(alpha))
}

/// Constants of a (trace domain, quotient domain) pair the kernel needs: the quotient domain is
/// `F::GENERATOR * <g>` of order `2^log_quotient`, the trace domain `<h>` of order `2^log_trace`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotientDomain {
    pub log_trace: u32,
    pub log_quotient: u32,
    pub shift: u32,
    pub g_quotient: u32,
    pub h_inv: u32,
    /// `Z_H(x_i)` for `i < 2^(log_quotient - log_trace)`, then their inverses.
    pub zh: Vec<u32>,
}

impl QuotientDomain {
    /// The constants for these sizes; `log_trace <= log_quotient <= F::TWO_ADICITY`.
    pub fn new<F: DeviceField>(log_trace: usize, log_quotient: usize) -> Result<Self> {
        if log_trace > log_quotient || log_quotient > F::TWO_ADICITY || log_quotient > 31 {
            return Err(Error::InvalidShape(format!(
                "trace domain 2^{log_trace} in a quotient domain 2^{log_quotient}"
            )));
        }
        let shift = F::GENERATOR;
        let rate_bits = log_quotient - log_trace;
        let s_pow_n = shift.exp_power_of_2(log_trace);
        let zh: Vec<F> = F::two_adic_generator(rate_bits)
            .powers()
            .take(1 << rate_bits)
            .map(|x| s_pow_n * x - F::ONE)
            .collect();
        let zh_inv: Vec<F> = zh.iter().map(|z| z.inverse()).collect();
        Ok(Self {
            log_trace: log_trace as u32,
            log_quotient: log_quotient as u32,
            shift: shift.to_monty_word(),
            g_quotient: F::two_adic_generator(log_quotient).to_monty_word(),
            h_inv: F::two_adic_generator(log_trace).inverse().to_monty_word(),
            zh: zh
                .iter()
                .chain(&zh_inv)
                .map(|z| z.to_monty_word())
                .collect(),
        })
    }
}

/// What one quotient evaluation reads besides the matrices, in device words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotientEnv {
    pub public_values: Vec<u32>,
    pub challenges: Vec<u32>,
    pub permutation_values: Vec<u32>,
    pub weights: Vec<u32>,
}

impl QuotientEnv {
    /// From the prover's values: public values, LogUp challenges and terminals, and alpha.
    pub fn new<F: DeviceField, EF: ExtensionField<F>>(
        program: &ConstraintProgram<F, EF>,
        public_values: &[F],
        challenges: &[EF],
        permutation_values: &[EF],
        alpha: EF,
    ) -> Result<Self> {
        Ok(Self {
            public_values: public_values.iter().map(|x| x.to_monty_word()).collect(),
            challenges: ext_slice_words::<F, EF>(challenges)?,
            permutation_values: ext_slice_words::<F, EF>(permutation_values)?,
            weights: folding_weight_words(program, alpha)?,
        })
    }

    /// Check the environment and matrix shapes against what the program reads.
    pub fn check(
        &self,
        program: &DeviceProgram,
        main_width: usize,
        perm_base_width: usize,
    ) -> Result<()> {
        let shape = |what: &str, have: usize, need: usize| {
            if have < need {
                Err(Error::InvalidShape(format!(
                    "quotient program reads {need} {what}, {have} given"
                )))
            } else {
                Ok(())
            }
        };
        shape("main columns", main_width, program.main_width)?;
        shape(
            "permutation base columns",
            perm_base_width,
            4 * program.permutation_width,
        )?;
        shape(
            "public values",
            self.public_values.len(),
            program.num_public_values,
        )?;
        shape(
            "challenge words",
            self.challenges.len(),
            4 * program.num_challenges,
        )?;
        shape(
            "permutation value words",
            self.permutation_values.len(),
            4 * program.num_permutation_values,
        )?;
        if self.weights.len() != 4 * program.num_outputs {
            return Err(Error::InvalidShape(format!(
                "{} weight words for {} constraints",
                self.weights.len(),
                program.num_outputs
            )));
        }
        Ok(())
    }
}

impl CudaBackend {
    /// `C_alpha(x) / Z_H(x)` on the quotient domain, as a `2^log_quotient x 4` column-major
    /// matrix (column k: coefficient k; rows in natural order), equal to
    /// `slotproof_prover::quotient::quotient_values`. `main` and `permutation` are bit-reversed
    /// coset LDEs (shift `F::GENERATOR`) with at least `2^log_quotient` rows; `permutation` holds
    /// the LogUp columns flattened to base columns.
    pub fn quotient_values<F: DeviceField>(
        &self,
        program: &DeviceProgram,
        env: &QuotientEnv,
        domain: &QuotientDomain,
        main: &DeviceMatrix<F>,
        permutation: Option<&DeviceMatrix<F>>,
        max_threads: usize,
    ) -> Result<DeviceMatrix<F>> {
        let q_size = 1usize << domain.log_quotient;
        env.check(program, main.width(), permutation.map_or(0, |m| m.width()))?;
        for (what, m) in [("main", Some(main)), ("permutation", permutation)] {
            if let Some(m) = m
                && m.height() < q_size
            {
                return Err(Error::InvalidShape(format!(
                    "{what} LDE of {} rows for a quotient domain of {q_size}",
                    m.height()
                )));
            }
        }
        let threads = quotient_threads(domain.log_quotient, max_threads);
        let prog_words: Vec<u32> = program.instructions.iter().flatten().copied().collect();
        // Empty tables still get a (1-word) allocation so every pointer is valid.
        let prog = self.upload_words(&prog_words)?;
        let base_consts = self.upload_words(&program.base_constants)?;
        let ext_consts = self.upload_words(&program.ext_constants)?;
        let publics = self.upload_words(&env.public_values)?;
        let challenges = self.upload_words(&env.challenges)?;
        let perm_values = self.upload_words(&env.permutation_values)?;
        let weights = self.upload_words(&env.weights)?;
        let zh = self.upload_words(&domain.zh)?;
        let scratch = self.alloc(threads * program.scratch_words_per_thread())?;
        let out = self.alloc(4 * q_size)?;
        let stream = self.stream();
        let p = QuotientParams {
            program: prog.ptr(stream),
            main: main.buffer().ptr(stream),
            main_stride: main.height() as u64,
            perm: permutation.map_or(0, |m| m.buffer().ptr(stream)),
            perm_stride: permutation.map_or(0, |m| m.height() as u64),
            base_consts: base_consts.ptr(stream),
            ext_consts: ext_consts.ptr(stream),
            public_values: publics.ptr(stream),
            challenges: challenges.ptr(stream),
            perm_values: perm_values.ptr(stream),
            weights: weights.ptr(stream),
            zh: zh.ptr(stream),
            scratch: scratch.ptr(stream),
            out: out.ptr(stream),
            num_instructions: program.instructions.len() as u32,
            log_quotient: domain.log_quotient,
            log_trace: domain.log_trace,
            num_base_regs: program.num_base_regs as u32,
            num_ext_regs: program.num_ext_regs as u32,
            num_threads: threads as u32,
            shift: domain.shift,
            g_quotient: domain.g_quotient,
            h_inv: domain.h_inv,
            _pad: 0,
        };
        let kernel = crate::kernels::entry("quotient_eval", F::KIND)?;
        // The program is read one instruction (uint4) at a time.
        crate::launch::check_aligned(kernel, "program", p.program, 16)?;
        self.launch_per_thread(kernel, threads, &[&p])?;
        DeviceMatrix::from_buffer(out, q_size, 4)
    }

    /// Split quotient values (as [`CudaBackend::quotient_values`] returns them) into
    /// `2^log_chunks` chunks as p3's `split_evals` does (chunk t: rows t, t + c, ...): one
    /// `2^(log_quotient - log_chunks) x 4c` matrix whose columns `4t..4t+4` are chunk t.
    pub fn split_quotient<F: DeviceField>(
        &self,
        quotient: &DeviceMatrix<F>,
        log_chunks: u32,
    ) -> Result<DeviceMatrix<F>> {
        let q_size = quotient.height();
        if quotient.width() != 4 || !q_size.is_power_of_two() || (q_size >> log_chunks) == 0 {
            return Err(Error::InvalidShape(format!(
                "{} x {} quotient in 2^{log_chunks} chunks",
                q_size,
                quotient.width()
            )));
        }
        let out = self.alloc(4 * q_size)?;
        let stream = self.stream();
        let p = QuotientSplitParams {
            quotient: quotient.buffer().ptr(stream),
            out: out.ptr(stream),
            log_quotient: q_size.trailing_zeros(),
            log_chunks,
        };
        self.launch_stride(
            crate::kernels::entry_any("quotient_split")?,
            4 * q_size,
            &[&p],
        )?;
        DeviceMatrix::from_buffer(out, q_size >> log_chunks, 4 << log_chunks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of, size_of};
    use p3_koala_bear::KoalaBear;
    use slotproof_prover::field::Challenge;
    use slotproof_prover::program::{ConstraintOutput, Instruction, ProgramInputs};

    type F = KoalaBear;
    type EF = Challenge<F>;

    fn program(instructions: Vec<Instruction>, base_regs: usize) -> ConstraintProgram<F, EF> {
        ConstraintProgram {
            instructions,
            base_constants: vec![],
            ext_constants: vec![],
            num_base_registers: base_regs,
            num_ext_registers: 0,
            outputs: vec![ConstraintOutput {
                kind: OutputKind::Base,
                register: 0,
                emission_index: 0,
            }],
            inputs: ProgramInputs {
                main_width: 1,
                ..Default::default()
            },
        }
    }

    fn ins(op: OpCode, dst: u32, a: u32, b: u32) -> Instruction {
        Instruction { op, dst, a, b }
    }

    /// `x * x - x` on one column: registers reused, the square's operand read twice.
    #[test]
    fn lowering_renumbers_and_accumulates() {
        let p = program(
            vec![
                ins(OpCode::LoadMain, 1, 0, 0),
                ins(OpCode::Mul, 2, 1, 1),
                ins(OpCode::Sub, 0, 2, 1),
            ],
            3,
        );
        let lowered = DeviceProgram::lower(&p).unwrap();
        assert_eq!(
            lowered.instructions,
            vec![
                [OpCode::LoadMain as u32, 0, 0, 0],
                [OpCode::Mul as u32, 1, 0, 0],
                // Both operands die here, so the result reuses the lowest free register.
                [OpCode::Sub as u32, 0, 1, 0],
                [OP_ACC_BASE, 0, 0, 0],
            ]
        );
        assert_eq!((lowered.num_base_regs, lowered.num_ext_regs), (2, 0));
    }

    #[test]
    fn malformed_programs_are_rejected() {
        // Operand register out of range.
        let p = program(vec![ins(OpCode::Neg, 0, 7, 0)], 1);
        assert!(matches!(
            DeviceProgram::lower(&p),
            Err(Error::InvalidShape(_))
        ));
        // Operand read before it is written.
        let p = program(
            vec![ins(OpCode::Neg, 0, 1, 0), ins(OpCode::LoadMain, 1, 0, 0)],
            2,
        );
        assert!(matches!(
            DeviceProgram::lower(&p),
            Err(Error::InvalidShape(_))
        ));
        // Output never computed.
        let p = program(vec![ins(OpCode::LoadMain, 1, 0, 0)], 2);
        assert!(matches!(
            DeviceProgram::lower(&p),
            Err(Error::InvalidShape(_))
        ));
    }

    #[test]
    fn shapes_are_checked() {
        assert!(QuotientDomain::new::<F>(5, 4).is_err());
        assert!(QuotientDomain::new::<F>(4, 25).is_err());
        let p = program(vec![ins(OpCode::LoadMain, 0, 0, 0)], 1);
        let lowered = DeviceProgram::lower(&p).unwrap();
        let env = QuotientEnv::new(
            &p,
            &[],
            &[],
            &[],
            <EF as p3_field::PrimeCharacteristicRing>::ONE,
        )
        .unwrap();
        assert!(env.check(&lowered, 1, 0).is_ok());
        assert!(matches!(
            env.check(&lowered, 0, 0),
            Err(Error::InvalidShape(_))
        ));
    }

    #[test]
    fn params_layout_matches_header() {
        assert_eq!(size_of::<QuotientParams>(), 152);
        assert_eq!(align_of::<QuotientParams>(), 8);
        assert_eq!(offset_of!(QuotientParams, program), 0);
        assert_eq!(offset_of!(QuotientParams, perm), 24);
        assert_eq!(offset_of!(QuotientParams, weights), 80);
        assert_eq!(offset_of!(QuotientParams, out), 104);
        assert_eq!(offset_of!(QuotientParams, num_instructions), 112);
        assert_eq!(offset_of!(QuotientParams, num_threads), 132);
        assert_eq!(offset_of!(QuotientParams, h_inv), 144);
        assert_eq!(size_of::<QuotientSplitParams>(), 24);
        assert_eq!(offset_of!(QuotientSplitParams, log_chunks), 20);
        let header = include_str!("../../../kernels/prover_params.cuh");
        for expr in [
            "sizeof(QuotientParams) == 152",
            "offsetof(QuotientParams, perm) == 24",
            "offsetof(QuotientParams, weights) == 80",
            "offsetof(QuotientParams, out) == 104",
            "offsetof(QuotientParams, num_instructions) == 112",
            "offsetof(QuotientParams, num_threads) == 132",
            "offsetof(QuotientParams, h_inv) == 144",
            "sizeof(QuotientSplitParams) == 24",
            "offsetof(QuotientSplitParams, log_chunks) == 20",
            "Q_ACC_BASE = 19",
            "Q_ACC_EXT = 20",
            "Q_EXT_NEG = 18",
        ] {
            assert!(header.contains(expr), "prover_params.cuh lacks `{expr}`");
        }
        assert_eq!(OpCode::ExtNeg as u32, 18);
        assert_eq!(OpCode::LoadMain as u32, 0);
    }
}
