//! The LogUp trace on the device (`kernels/logup.cu`): equal, word for word, to p3-lookup's
//! `LogUpGadget::generate_permutation(main, &None, public_values, lookups, challenges)` followed by
//! `flatten_to_base()`, computed from a main trace resident on the device and left there.
//!
//! # Pipeline
//!
//! 1. **Expressions.** Every element, multiplicity and flag expression of every lookup is
//!    compiled with the prover's constraint compiler (`ConstraintProgram::compile`, structural
//!    sharing included) and lowered like a quotient program ([`DeviceProgram::lower`]: registers
//!    renumbered by liveness). The lowering's per-output instruction (the quotient kernel's
//!    "accumulate") is read here as "store into the row's value slot", so one lowering serves
//!    both kernels. A layout table ([`LogUpProgram::layout`]) says which slots form which tuple.
//! 2. **Fractions** (`logup_fractions`, one thread per row, grid-stride): run the program, then
//!    per lookup `sum_j m_j / (alpha - combine_j)` (additive) or the flag-multiplexed single
//!    fraction (exclusive), written to columns `4(l+1)..4(l+2)`; the row's sum goes to a
//!    totals buffer.
//! 3. **Running sum** (`logup_scan_block` + `logup_scan_add`): inclusive prefix sums of the row
//!    totals in the extension field, 1024 rows per block (256 threads x 4 rows, warp-shuffle
//!    scans), block sums scanned recursively by the host and added back.
//! 4. **Accumulator** (`logup_accumulator`): column 0 (words 0..3) = the exclusive prefix sums,
//!    and the terminal (the sum over all rows), the only data downloaded.
//!
//! # Inversion: per thread, not batched
//!
//! Each denominator is inverted where it is formed (field.cuh's `e_inv`, shared with the opening
//! kernels: the norm to the base field, then Fermat; about 85 base multiplications) instead of by
//! Montgomery's batch trick (about 50 per element, amortised). A batch inversion needs the denominators stored and a second, backward pass per
//! thread (or a cross-thread product tree); the per-thread form has no storage, no dependency
//! between rows and runs next to the interpreter, whose scratch traffic it is expected to hide
//! behind. Inverses are unique, so the words equal the CPU's batch inversion exactly; likewise
//! sums in another order than the CPU's give the same words (field arithmetic is exact).
//! This is a design judgement, not yet measured on a device.
//!
//! # Bad witnesses
//!
//! Where the gadget panics (a zero denominator, a non-boolean exclusive flag, flags summing
//! above one) the kernel records the smallest `(row, lookup, reason)` with `atomicMin` and the
//! host returns [`Error::LogUpWitness`] naming it.

use cudarc::driver::DeviceRepr;

use crate::launch::check_aligned;
use p3_air::symbolic::{ConstraintLayout, SymbolicExpression};
use p3_field::{BasedVectorSpace, ExtensionField};
use p3_lookup::Lookup;
use slotproof_prover::program::{ConstraintProgram, OpCode, ProgramInputs};

use crate::backend::{CudaBackend, DeviceMatrix};
use crate::error::{Error, Result};
use crate::field::DeviceField;
use crate::quotient::{DeviceProgram, OP_ACC_BASE, ext_slice_words};

/// `value[b] = base[a]`: the lowering's per-output instruction, as the LogUp kernel reads it.
pub const OP_STORE_VALUE: u32 = OP_ACC_BASE;
/// Layout word of an additive lookup.
pub const KIND_ADDITIVE: u32 = 0;
/// Layout word of an exclusive (flag-multiplexed) lookup.
pub const KIND_EXCLUSIVE: u32 = 1;
/// Flag slot of a tuple of an additive lookup.
pub const NO_FLAG: u32 = u32::MAX;
/// Threads of one scan block and rows per thread (`LOGUP_SCAN_*` in prover_params.cuh).
pub const SCAN_THREADS: usize = 256;
pub const SCAN_ITEMS: usize = 4;
/// Rows of one scan block.
pub const SCAN_BLOCK: usize = SCAN_THREADS * SCAN_ITEMS;
/// Threads of one fraction launch at most (the scratch file scales with it).
pub const DEFAULT_MAX_THREADS: usize = 1 << 16;
/// Status word of a launch without failures.
pub const STATUS_OK: u64 = u64::MAX;
/// The tallest trace the kernels index (row numbers and keys are 32-bit).
pub const MAX_HEIGHT: usize = 1 << 30;

/// See `LogUpParams` in kernels/prover_params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogUpParams {
    pub program: u64,
    pub main: u64,
    pub main_stride: u64,
    pub base_consts: u64,
    pub public_values: u64,
    pub layout: u64,
    pub challenges: u64,
    pub scratch: u64,
    pub out: u64,
    pub totals: u64,
    pub status: u64,
    pub num_instructions: u32,
    pub height: u32,
    pub num_lookups: u32,
    pub num_base_regs: u32,
    pub num_values: u32,
    pub num_threads: u32,
    pub challenge_stride: u32,
    pub _pad: u32,
}

/// See `LogUpScanParams` in kernels/prover_params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogUpScanParams {
    pub data: u64,
    pub block_sums: u64,
    pub n: u32,
    pub _pad: u32,
}

/// See `LogUpAccumulatorParams` in kernels/prover_params.cuh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogUpAccumulatorParams {
    pub totals: u64,
    pub out: u64,
    pub terminal: u64,
    pub height: u32,
    pub _pad: u32,
}

// SAFETY: plain-old-data #[repr(C)] structs matching prover_params.cuh (tests below).
unsafe impl DeviceRepr for LogUpParams {}
unsafe impl DeviceRepr for LogUpScanParams {}
unsafe impl DeviceRepr for LogUpAccumulatorParams {}

/// Why a row of a witness has no LogUp fraction (`LogUpFailure` in prover_params.cuh).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogUpFailure {
    /// `alpha - combine` is zero for a tuple with a non-zero multiplicity (or an exclusive
    /// lookup's multiplexed denominator is zero).
    ZeroDenominator = 1,
    /// An exclusive lookup's flag is neither 0 nor 1.
    NonBooleanFlag = 2,
    /// An exclusive lookup's flags sum to neither 0 nor 1.
    FlagsAboveOne = 3,
}

impl LogUpFailure {
    fn from_code(code: u64) -> Option<Self> {
        match code {
            1 => Some(Self::ZeroDenominator),
            2 => Some(Self::NonBooleanFlag),
            3 => Some(Self::FlagsAboveOne),
            _ => None,
        }
    }
}

impl core::fmt::Display for LogUpFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::ZeroDenominator => "zero denominator",
            Self::NonBooleanFlag => "exclusive flag is not boolean",
            Self::FlagsAboveOne => "exclusive flags sum above one",
        })
    }
}

/// The key the kernel reports a failure with (smaller = earlier row, then lookup, then reason).
pub fn failure_key(row: u32, lookup: u32, failure: LogUpFailure) -> u64 {
    (u64::from(row) << 32) | (u64::from(lookup) << 4) | failure as u64
}

/// `Ok` for [`STATUS_OK`], else the failure the status word names.
pub fn check_status(status: u64) -> Result<()> {
    if status == STATUS_OK {
        return Ok(());
    }
    let failure = LogUpFailure::from_code(status & 0xF).ok_or_else(|| {
        Error::InvalidShape(format!(
            "LogUp kernel status word {status:#x} is not a failure"
        ))
    })?;
    Err(Error::LogUpWitness {
        row: (status >> 32) as usize,
        lookup: ((status >> 4) & 0x0FFF_FFFF) as usize,
        failure,
    })
}

/// The lookups of one AIR compiled for the device (once per AIR, like its quotient program).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogUpProgram {
    /// Computes every expression into its value slot (`program.num_outputs` slots).
    pub program: DeviceProgram,
    /// Per lookup: `[kind, tuples]`, then per tuple `[multiplicity slot, flag slot or NO_FLAG,
    /// width k, k element slots]`.
    pub layout: Vec<u32>,
    pub num_lookups: usize,
    /// The widest tuple (1 at least): the beta powers each lookup needs.
    pub max_tuple_width: usize,
}

impl LogUpProgram {
    /// Compile `lookups` (slot `i` at position `i`, as the gadget requires) of an AIR whose main
    /// trace has `main_width` columns and which has `num_public_values` public values. Fails on
    /// what the gadget would reject or the kernel cannot read: slots out of order, tuples
    /// without a multiplicity, flags not one per tuple, expressions over preprocessed or
    /// periodic columns or out-of-range columns.
    pub fn compile<F: DeviceField, EF: ExtensionField<F>>(
        lookups: &[Lookup<F>],
        main_width: usize,
        num_public_values: usize,
    ) -> Result<Self> {
        if lookups.len() >= 1 << 28 {
            return Err(Error::InvalidShape(format!(
                "{} lookups (the status key holds 28 bits)",
                lookups.len()
            )));
        }
        let mut exprs: Vec<SymbolicExpression<F>> = Vec::new();
        let mut slot = |e: &SymbolicExpression<F>| -> u32 {
            exprs.push(e.clone());
            (exprs.len() - 1) as u32
        };
        let mut layout = Vec::new();
        let mut max_tuple_width = 1;
        for (i, lookup) in lookups.iter().enumerate() {
            let bad = |what: String| Error::InvalidShape(format!("lookup {i}: {what}"));
            if lookup.column != i {
                return Err(bad(format!("slot {} at position {i}", lookup.column)));
            }
            let tuples = lookup.elements.len();
            if lookup.multiplicities.len() != tuples {
                return Err(bad(format!(
                    "{tuples} tuples, {} multiplicities",
                    lookup.multiplicities.len()
                )));
            }
            if let Some(flags) = &lookup.flags
                && flags.len() != tuples
            {
                return Err(bad(format!("{tuples} tuples, {} flags", flags.len())));
            }
            layout.push(if lookup.flags.is_some() {
                KIND_EXCLUSIVE
            } else {
                KIND_ADDITIVE
            });
            layout.push(tuples as u32);
            for (j, elements) in lookup.elements.iter().enumerate() {
                layout.push(slot(&lookup.multiplicities[j]));
                layout.push(match &lookup.flags {
                    Some(flags) => slot(&flags[j]),
                    None => NO_FLAG,
                });
                layout.push(elements.len() as u32);
                for e in elements {
                    layout.push(slot(e));
                }
                max_tuple_width = max_tuple_width.max(elements.len());
            }
        }
        let compiled = ConstraintProgram::<F, EF>::compile(
            &exprs,
            &[],
            &ConstraintLayout {
                base_indices: (0..exprs.len()).collect(),
                ext_indices: vec![],
            },
            ProgramInputs {
                main_width,
                num_public_values,
                ..Default::default()
            },
        )
        .map_err(|e| Error::InvalidShape(format!("lookup expressions: {e}")))?;
        let program = DeviceProgram::lower(&compiled)?;
        // Base expressions compile to base opcodes only; anything else would be a compiler
        // change the kernel does not know.
        if let Some(ins) = program
            .instructions
            .iter()
            .find(|i| i[0] > OpCode::Neg as u32 && i[0] != OP_STORE_VALUE)
        {
            return Err(Error::InvalidShape(format!(
                "lookup expressions compiled to opcode {} (the LogUp kernel runs base-field \
                 opcodes only)",
                ins[0]
            )));
        }
        Ok(Self {
            program,
            layout,
            num_lookups: lookups.len(),
            max_tuple_width,
        })
    }

    /// Words of the challenge table per lookup: alpha, then beta^0 .. beta^(max width - 1).
    pub fn challenge_stride(&self) -> usize {
        4 * (1 + self.max_tuple_width)
    }

    /// Scratch words one thread needs: its registers and its value slots.
    pub fn scratch_words_per_thread(&self) -> usize {
        self.program.num_base_regs + self.program.num_outputs
    }

    /// Base columns of the flattened LogUp trace (0 without lookups).
    pub fn trace_width(&self) -> usize {
        if self.num_lookups == 0 {
            0
        } else {
            4 * (self.num_lookups + 1)
        }
    }
}

/// What one LogUp trace reads besides the main trace, in device words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogUpEnv {
    pub public_values: Vec<u32>,
    /// Per lookup [`LogUpProgram::challenge_stride`] words: alpha, beta^0, beta^1, ...
    pub challenges: Vec<u32>,
}

impl LogUpEnv {
    /// From the prover's values: public values and the LogUp challenges, two per lookup
    /// (`alpha = challenges[2l]`, `beta = challenges[2l + 1]`, as the gadget reads them).
    pub fn new<F: DeviceField, EF: ExtensionField<F>>(
        program: &LogUpProgram,
        public_values: &[F],
        challenges: &[EF],
    ) -> Result<Self> {
        if challenges.len() != 2 * program.num_lookups {
            return Err(Error::InvalidShape(format!(
                "{} LogUp challenges for {} lookups (two each)",
                challenges.len(),
                program.num_lookups
            )));
        }
        if public_values.len() < program.program.num_public_values {
            return Err(Error::InvalidShape(format!(
                "lookups read {} public values, {} given",
                program.program.num_public_values,
                public_values.len()
            )));
        }
        let mut table = Vec::with_capacity(program.num_lookups * program.challenge_stride() / 4);
        for pair in challenges.chunks_exact(2) {
            table.push(pair[0]);
            table.extend(pair[1].powers().take(program.max_tuple_width));
        }
        Ok(Self {
            public_values: public_values.iter().map(|x| x.to_monty_word()).collect(),
            challenges: ext_slice_words::<F, EF>(&table)?,
        })
    }
}

/// The extension element of device words (as `terminal` comes back).
pub fn ext_from_words<F: DeviceField, EF: BasedVectorSpace<F>>(words: [u32; 4]) -> Result<EF> {
    let coeffs: Vec<F> = F::vec_from_words(words.to_vec())?;
    EF::from_basis_coefficients_slice(&coeffs).ok_or_else(|| {
        Error::InvalidShape("extension of degree other than 4 (the kernels implement 4)".into())
    })
}

/// Threads of a fraction launch over `height` rows.
pub fn fraction_threads(height: usize, max_threads: usize) -> usize {
    height.min(max_threads.max(1))
}

/// Check a launch's shapes: the main trace covers the program's columns, the env fits it.
pub fn check_shapes(
    program: &LogUpProgram,
    env: &LogUpEnv,
    main_height: usize,
    main_width: usize,
) -> Result<()> {
    if main_height == 0 || main_height > MAX_HEIGHT {
        return Err(Error::InvalidShape(format!(
            "LogUp trace of {main_height} rows (1 to 2^30)"
        )));
    }
    if main_width < program.program.main_width {
        return Err(Error::InvalidShape(format!(
            "lookups read {} main columns, the trace has {main_width}",
            program.program.main_width
        )));
    }
    if env.challenges.len() != program.num_lookups * program.challenge_stride()
        || env.public_values.len() < program.program.num_public_values
    {
        return Err(Error::InvalidShape(
            "LogUp environment built for another program".into(),
        ));
    }
    Ok(())
}

impl CudaBackend {
    /// The flattened LogUp trace of `main` (the trace itself, `height x width` column-major in
    /// natural row order) as a resident `height x 4(L+1)` matrix, and the terminal's words;
    /// without lookups a `0 x 0` matrix and no terminal, as the gadget. See the module docs.
    pub fn logup_trace<F: DeviceField>(
        &self,
        program: &LogUpProgram,
        env: &LogUpEnv,
        main: &DeviceMatrix<F>,
        max_threads: usize,
    ) -> Result<(DeviceMatrix<F>, Option<[u32; 4]>)> {
        if program.num_lookups == 0 {
            return Ok((DeviceMatrix::from_buffer(self.alloc(0)?, 0, 0)?, None));
        }
        let height = main.height();
        check_shapes(program, env, height, main.width())?;
        let threads = fraction_threads(height, max_threads);
        let prog_words: Vec<u32> = program
            .program
            .instructions
            .iter()
            .flatten()
            .copied()
            .collect();
        let prog = self.upload_words(&prog_words)?;
        let base_consts = self.upload_words(&program.program.base_constants)?;
        let publics = self.upload_words(&env.public_values)?;
        let layout = self.upload_words(&program.layout)?;
        let challenges = self.upload_words(&env.challenges)?;
        let scratch = self.alloc(threads * program.scratch_words_per_thread())?;
        let out = self.alloc(height * program.trace_width())?;
        let totals = self.alloc(4 * height)?;
        // Words 0..4: the terminal; words 4..6: the status (u64, 8-byte aligned).
        let result = self.alloc(6)?;
        self.fill(&result, u32::MAX)?;
        let stream = self.stream();
        let p = LogUpParams {
            program: prog.ptr(stream),
            main: main.buffer().ptr(stream),
            main_stride: height as u64,
            base_consts: base_consts.ptr(stream),
            public_values: publics.ptr(stream),
            layout: layout.ptr(stream),
            challenges: challenges.ptr(stream),
            scratch: scratch.ptr(stream),
            out: out.ptr(stream),
            totals: totals.ptr(stream),
            status: result.ptr(stream) + 16,
            num_instructions: program.program.instructions.len() as u32,
            height: height as u32,
            num_lookups: program.num_lookups as u32,
            num_base_regs: program.program.num_base_regs as u32,
            num_values: program.program.num_outputs as u32,
            num_threads: threads as u32,
            challenge_stride: program.challenge_stride() as u32,
            _pad: 0,
        };
        let kernel = crate::kernels::entry("logup_fractions", F::KIND)?;
        // The program is read one instruction (uint4) at a time; the status is a 64-bit atomic.
        check_aligned(kernel, "program", p.program, 16)?;
        check_aligned(kernel, "status", p.status, 8)?;
        self.launch_per_thread(kernel, threads, &[&p])?;
        self.scan_ext::<F>(&totals, height)?;
        let acc = LogUpAccumulatorParams {
            totals: totals.ptr(stream),
            out: out.ptr(stream),
            terminal: result.ptr(stream),
            height: height as u32,
            _pad: 0,
        };
        self.launch_stride(
            crate::kernels::entry_any("logup_accumulator")?,
            height,
            &[&acc],
        )?;
        let words = self.download_words(&result)?;
        check_status(u64::from(words[4]) | (u64::from(words[5]) << 32))?;
        let terminal = [words[0], words[1], words[2], words[3]];
        Ok((
            DeviceMatrix::from_buffer(out, height, program.trace_width())?,
            Some(terminal),
        ))
    }

    /// Inclusive prefix sums, in place, of the first `n` extension elements (4 words each,
    /// interleaved) of `data`: one scan per block of [`SCAN_BLOCK`] elements, then (more than
    /// one block) the block sums scanned the same way and added back.
    pub fn scan_ext<F: DeviceField>(&self, data: &crate::DeviceBuffer, n: usize) -> Result<()> {
        if data.len() < 4 * n || n > MAX_HEIGHT {
            return Err(Error::InvalidShape(format!(
                "scan of {n} elements in a buffer of {} words",
                data.len()
            )));
        }
        if n == 0 {
            return Ok(());
        }
        let stream = self.stream();
        let blocks = n.div_ceil(SCAN_BLOCK);
        let sums = if blocks > 1 {
            Some(self.alloc(4 * blocks)?)
        } else {
            None
        };
        let p = LogUpScanParams {
            data: data.ptr(stream),
            block_sums: sums.as_ref().map_or(0, |s| s.ptr(stream)),
            n: n as u32,
            _pad: 0,
        };
        let kernel = crate::kernels::entry("logup_scan_block", F::KIND)?;
        // One block per SCAN_BLOCK elements, each exactly SCAN_THREADS threads (launch.rs).
        self.launch(
            kernel,
            crate::launch::fixed(kernel, (blocks as u32, 1, 1))?,
            &[&p],
        )?;
        if let Some(sums) = sums {
            self.scan_ext::<F>(&sums, blocks)?;
            self.launch_stride(
                crate::kernels::entry("logup_scan_add", F::KIND)?,
                n - SCAN_BLOCK,
                &[&p],
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of, size_of};

    #[test]
    fn params_layout_matches_header() {
        assert_eq!(size_of::<LogUpParams>(), 120);
        assert_eq!(align_of::<LogUpParams>(), 8);
        assert_eq!(offset_of!(LogUpParams, layout), 40);
        assert_eq!(offset_of!(LogUpParams, status), 80);
        assert_eq!(offset_of!(LogUpParams, num_instructions), 88);
        assert_eq!(offset_of!(LogUpParams, num_threads), 108);
        assert_eq!(offset_of!(LogUpParams, challenge_stride), 112);
        assert_eq!(size_of::<LogUpScanParams>(), 24);
        assert_eq!(offset_of!(LogUpScanParams, n), 16);
        assert_eq!(size_of::<LogUpAccumulatorParams>(), 32);
        assert_eq!(offset_of!(LogUpAccumulatorParams, height), 24);
        let header = include_str!("../../../kernels/prover_params.cuh");
        for expr in [
            "sizeof(LogUpParams) == 120",
            "alignof(LogUpParams) == 8",
            "offsetof(LogUpParams, layout) == 40",
            "offsetof(LogUpParams, status) == 80",
            "offsetof(LogUpParams, num_instructions) == 88",
            "offsetof(LogUpParams, num_threads) == 108",
            "offsetof(LogUpParams, challenge_stride) == 112",
            "sizeof(LogUpScanParams) == 24",
            "offsetof(LogUpScanParams, n) == 16",
            "sizeof(LogUpAccumulatorParams) == 32",
            "offsetof(LogUpAccumulatorParams, height) == 24",
            "LOGUP_STORE_VALUE = 19",
            "LOGUP_ADDITIVE = 0",
            "LOGUP_EXCLUSIVE = 1",
            "LOGUP_ZERO_DENOMINATOR = 1",
            "LOGUP_NON_BOOLEAN_FLAG = 2",
            "LOGUP_FLAGS_ABOVE_ONE = 3",
            "LOGUP_SCAN_THREADS = 256",
            "LOGUP_SCAN_ITEMS = 4",
        ] {
            assert!(header.contains(expr), "prover_params.cuh lacks `{expr}`");
        }
        assert_eq!(OP_STORE_VALUE, 19);
        assert_eq!(OpCode::Neg as u32, 9);
    }

    #[test]
    fn status_words_decode() {
        assert!(check_status(STATUS_OK).is_ok());
        let key = failure_key(7, 3, LogUpFailure::NonBooleanFlag);
        match check_status(key) {
            Err(Error::LogUpWitness {
                row,
                lookup,
                failure,
            }) => assert_eq!((row, lookup, failure), (7, 3, LogUpFailure::NonBooleanFlag)),
            other => panic!("{other:?}"),
        }
        // Earlier rows win the atomicMin, then lower lookups.
        assert!(
            failure_key(6, 9, LogUpFailure::FlagsAboveOne)
                < failure_key(7, 0, LogUpFailure::ZeroDenominator)
        );
        assert!(matches!(check_status(0x10), Err(Error::InvalidShape(_))));
    }
}
