//! A shard proof's device memory, planned before anything is launched.
//!
//! The plan follows a device-resident pipeline (the CUDA backend's) phase by phase and counts
//! what is alive on the device in each: every commitment round's LDEs and Merkle digest layers
//! stay resident until the FRI queries are answered; the main traces from their upload until
//! their LogUp traces are derived; the quotient values of every table live from their
//! evaluation to their commitment; the interpreter's scratch register file, the copy a main LDE
//! is made from, a table's LDEs re-extended onto a quotient domain taller than them, and a
//! split quotient are transient. The peak is the largest phase. [`fit`]
//! compares it with the memory available and, when the shard does not fit, halves the tables
//! that scale with the shard's step count until it does (the caller then proves the shard in
//! that many parts), or returns [`OutOfDeviceMemory`] when even the smallest split does not fit.
//!
//! It is pure arithmetic on table shapes, so it lives here (always compiled) rather than in the
//! optional CUDA crate: a CPU run reports what each shard would need on a GPU.
//!
//! Sizes are in bytes; device words are 4 bytes, digests 8 words, extension elements 4 words.

use p3_field::{ExtensionField, Field};
use thiserror::Error;

use crate::error::ProveError;
use crate::program::{ConstraintProgram, OpCode, OutputKind};
use crate::prover::MIN_LOG_HEIGHT;

const WORD: u64 = 4;
const DIGEST_WORDS: u64 = 8;
const EXT_WORDS: u64 = 4;

/// Threads of one device quotient launch at most (the scratch register file scales with it).
pub const DEFAULT_QUOTIENT_MAX_THREADS: usize = 1 << 16;

/// Threads of a quotient launch for a domain of `2^log_quotient` rows.
pub fn quotient_threads(log_quotient: u32, max_threads: usize) -> usize {
    (1usize << log_quotient).min(max_threads.max(1))
}

/// Even the smallest split of a shard does not fit the memory available.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
#[error(
    "a shard needs {needed} bytes of device memory even split as far as it goes; {available} are available"
)]
pub struct OutOfDeviceMemory {
    pub needed: u64,
    pub available: u64,
}

/// What the plan needs to know about one table (AIR instance) of a shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableShape {
    pub name: String,
    pub log_height: usize,
    pub main_width: usize,
    /// LogUp trace width in extension columns (0 without lookups).
    pub permutation_width: usize,
    pub log_quotient_chunks: usize,
    /// Words of the quotient interpreter's register file per thread.
    pub scratch_words_per_thread: usize,
    /// Whether the table's height follows the shard's step count (a split halves it); fixed
    /// tables (opcode table, range tables) keep their height.
    pub scales_with_shard: bool,
}

impl TableShape {
    /// The shape of a table from its compiled constraint program (the device interpreter's
    /// register file is the program's after liveness renumbering, [`register_file_words`]).
    pub fn from_program<F: Field, EF: ExtensionField<F>>(
        name: impl Into<String>,
        log_height: usize,
        program: &ConstraintProgram<F, EF>,
        log_quotient_chunks: usize,
        scales_with_shard: bool,
    ) -> Result<Self, ProveError> {
        Ok(Self {
            name: name.into(),
            log_height,
            main_width: program.inputs.main_width,
            permutation_width: program.inputs.permutation_width,
            log_quotient_chunks,
            scratch_words_per_thread: register_file_words(program)?,
            scales_with_shard,
        })
    }
}

/// A shard and the commitment settings that size its buffers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardShape {
    pub tables: Vec<TableShape>,
    pub log_blowup: usize,
    pub log_final_poly_len: usize,
    pub max_log_arity: usize,
    /// Threads of a quotient launch at most (sizes the scratch register file).
    pub quotient_max_threads: usize,
}

impl ShardShape {
    /// A shard of these tables under the prover's FRI settings.
    pub fn new(tables: Vec<TableShape>, settings: &crate::FriSettings) -> Self {
        Self {
            tables,
            log_blowup: settings.log_blowup,
            log_final_poly_len: settings.log_final_poly_len,
            max_log_arity: settings.max_log_arity.max(1),
            quotient_max_threads: DEFAULT_QUOTIENT_MAX_THREADS,
        }
    }
}

/// The phases of a shard proof, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    MainCommit,
    PermutationCommit,
    Quotient,
    QuotientCommit,
    Fri,
}

/// Bytes alive on the device in each phase, and the peak.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryPlan {
    pub phases: Vec<(Phase, u64)>,
    pub peak: u64,
    pub peak_phase: Phase,
}

/// Digest layers of a Merkle tree over `2^log_leaves` leaves: `2^(log_leaves+1) - 1` digests.
fn tree_bytes(log_leaves: usize) -> u64 {
    ((2u64 << log_leaves) - 1) * DIGEST_WORDS * WORD
}

/// One commitment round over matrices `(log_height, width)`: their LDEs and one tree over the
/// tallest LDE, plus the largest single upload while the LDEs are computed (transient).
fn round_bytes(mats: &[(usize, u64)], log_blowup: usize) -> (u64, u64) {
    let mats: Vec<_> = mats.iter().filter(|(_, w)| *w > 0).collect();
    if mats.is_empty() {
        return (0, 0);
    }
    let ldes: u64 = mats
        .iter()
        .map(|(h, w)| (w << (h + log_blowup)) * WORD)
        .sum();
    let log_max = mats.iter().map(|(h, _)| h + log_blowup).max().unwrap_or(0);
    let upload = mats.iter().map(|(h, w)| (w << h) * WORD).max().unwrap_or(0);
    (ldes + tree_bytes(log_max), upload)
}

/// The plan of a shard proof.
pub fn plan(shape: &ShardShape) -> MemoryPlan {
    let b = shape.log_blowup;
    let t = &shape.tables;
    let main: Vec<_> = t
        .iter()
        .map(|t| (t.log_height, t.main_width as u64))
        .collect();
    let perm: Vec<_> = t
        .iter()
        .map(|t| (t.log_height, EXT_WORDS * t.permutation_width as u64))
        .collect();
    let quotient_chunks: Vec<_> = t
        .iter()
        .map(|t| (t.log_height, EXT_WORDS << t.log_quotient_chunks))
        .collect();
    let (main_resident, main_upload) = round_bytes(&main, b);
    let (perm_resident, perm_upload) = round_bytes(&perm, b);
    let (quot_resident, _) = round_bytes(&quotient_chunks, b);
    let log_q = |t: &TableShape| t.log_height + t.log_quotient_chunks;
    let quotient_values: u64 = t.iter().map(|t| (EXT_WORDS << log_q(t)) * WORD).sum();
    let scratch = t
        .iter()
        .map(|t| {
            let threads = quotient_threads(log_q(t) as u32, shape.quotient_max_threads) as u64;
            threads * t.scratch_words_per_thread as u64 * WORD
        })
        .max()
        .unwrap_or(0);
    let split = t
        .iter()
        .map(|t| (EXT_WORDS << log_q(t)) * WORD)
        .max()
        .unwrap_or(0);

    // FRI: one reduced codeword per distinct LDE height, then per folding round the codeword,
    // its leaf matrix (same size) and its tree, all kept for the query answers.
    let mut lde_heights: Vec<usize> = t.iter().map(|t| t.log_height + b).collect();
    lde_heights.sort_unstable();
    lde_heights.dedup();
    let reduced: u64 = lde_heights.iter().map(|h| (EXT_WORDS << h) * WORD).sum();
    let mut fri_layers = 0u64;
    if let Some(&top) = lde_heights.last() {
        let stop = shape.log_final_poly_len + b;
        let mut log_n = top;
        while log_n > stop {
            let arity = shape.max_log_arity.min(log_n - stop);
            fri_layers += 2 * (EXT_WORDS << log_n) * WORD + tree_bytes(log_n - arity);
            log_n -= arity;
        }
    }

    // The main traces stay resident from their upload until the LogUp traces are derived
    // from them (a main LDE is made from a copy of its trace); each LogUp trace is extended in
    // place of its buffer when committed.
    let traces: u64 = main.iter().map(|(h, w)| (w << h) * WORD).sum();
    let perm_traces: u64 = perm.iter().map(|(h, w)| (w << h) * WORD).sum();
    // A table whose quotient domain is taller than its LDE (more chunks than the blowup) has
    // its main and LogUp LDEs re-extended onto the quotient domain while its quotient runs.
    let reextension = t
        .iter()
        .filter(|t| t.log_quotient_chunks > b)
        .map(|t| {
            ((t.main_width as u64 + EXT_WORDS * t.permutation_width as u64) << log_q(t)) * WORD
        })
        .max()
        .unwrap_or(0);
    let committed = main_resident + perm_resident;
    let logup = (main_resident + traces + perm_traces)
        .max(main_resident + perm_traces + perm_resident + perm_upload);
    let phases = vec![
        (Phase::MainCommit, traces + main_resident + main_upload),
        (Phase::PermutationCommit, logup),
        (
            Phase::Quotient,
            committed + quotient_values + scratch + reextension,
        ),
        (
            Phase::QuotientCommit,
            committed + quotient_values + split + quot_resident,
        ),
        (Phase::Fri, committed + quot_resident + reduced + fri_layers),
    ];
    let (peak_phase, peak) = phases
        .iter()
        .copied()
        .max_by_key(|(_, bytes)| *bytes)
        .expect("five phases");
    MemoryPlan {
        phases,
        peak,
        peak_phase,
    }
}

/// Whether a shard fits in `available` bytes, and how to split it when it does not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fit {
    /// The whole shard fits.
    Fits(MemoryPlan),
    /// Prove the shard in `2^halvings` parts of the returned shape (the scaling tables halved
    /// `halvings` times); each part's plan fits.
    Split {
        halvings: usize,
        part: ShardShape,
        plan: MemoryPlan,
    },
}

/// Plan `shape` against `available` bytes; split it when needed (see the module docs).
pub fn fit(shape: &ShardShape, available: u64) -> Result<Fit, OutOfDeviceMemory> {
    let whole = plan(shape);
    if whole.peak <= available {
        return Ok(Fit::Fits(whole));
    }
    let mut part = shape.clone();
    let mut halvings = 0;
    loop {
        let mut shrunk = false;
        for t in part.tables.iter_mut().filter(|t| t.scales_with_shard) {
            if t.log_height > MIN_LOG_HEIGHT {
                t.log_height -= 1;
                shrunk = true;
            }
        }
        if !shrunk {
            return Err(OutOfDeviceMemory {
                needed: plan(&part).peak,
                available,
            });
        }
        halvings += 1;
        let p = plan(&part);
        if p.peak <= available {
            return Ok(Fit::Split {
                halvings,
                part,
                plan: p,
            });
        }
    }
}

/// Registers of the two files an instruction writes and reads: `(dst is ext, a's file, b's file)`
/// with `Some(true)` for the extension file.
fn operand_files(op: OpCode) -> (bool, Option<bool>, Option<bool>) {
    use OpCode::*;
    match op {
        LoadMain | LoadPublic | LoadConst | LoadIsFirstRow | LoadIsLastRow | LoadIsTransition => {
            (false, None, None)
        }
        Add | Sub | Mul => (false, Some(false), Some(false)),
        Neg => (false, Some(false), None),
        ExtLoadPermutation | ExtLoadChallenge | ExtLoadPermutationValue | ExtLoadConst => {
            (true, None, None)
        }
        ExtFromBase => (true, Some(false), None),
        ExtAdd | ExtSub | ExtMul => (true, Some(true), Some(true)),
        ExtNeg => (true, Some(true), None),
    }
}

/// Words per thread of the device quotient interpreter's register file for `program`: the base
/// and extension registers alive at once when registers are reused as soon as their last reader
/// has run (the lowering `slotproof_cuda::quotient::DeviceProgram::lower` performs; a test there
/// checks that both agree on every EVM chip), extension registers 4 words each.
pub fn register_file_words<F: Field, EF: ExtensionField<F>>(
    program: &ConstraintProgram<F, EF>,
) -> Result<usize, ProveError> {
    let bad = |what: String| ProveError::Unsupported(format!("constraint program: {what}"));
    let (nb, ne) = (program.num_base_registers, program.num_ext_registers);
    let idx = |ext: bool, r: u32| -> Result<usize, ProveError> {
        let (bound, base) = if ext { (ne, nb) } else { (nb, 0) };
        if (r as usize) < bound {
            Ok(base + r as usize)
        } else {
            Err(bad(format!("register {r} out of range")))
        }
    };
    let mut last_use = vec![None::<usize>; nb + ne];
    let mut defined = vec![false; nb + ne];
    for (n, ins) in program.instructions.iter().enumerate() {
        let (dst_ext, fa, fb) = operand_files(ins.op);
        for (file, r) in [(fa, ins.a), (fb, ins.b)] {
            if let Some(ext) = file {
                let i = idx(ext, r)?;
                if !defined[i] {
                    return Err(bad(format!(
                        "instruction {n} reads register {r} before it is written"
                    )));
                }
                last_use[i] = Some(n);
            }
        }
        defined[idx(dst_ext, ins.dst)?] = true;
    }
    for out in &program.outputs {
        idx(matches!(out.kind, OutputKind::Ext), out.register)?;
    }
    // Live registers per file; a register is freed after its last read (before the destination
    // of that instruction is taken) or right after it is written when nothing reads it.
    let (mut live, mut peak) = ([0usize; 2], [0usize; 2]);
    for (n, ins) in program.instructions.iter().enumerate() {
        let (dst_ext, fa, fb) = operand_files(ins.op);
        let mut freed = Vec::with_capacity(2);
        for (file, r) in [(fa, ins.a), (fb, ins.b)] {
            if let Some(ext) = file {
                let i = idx(ext, r)?;
                // `x * x` reads one register twice: free it once.
                if last_use[i] == Some(n) && !freed.contains(&i) {
                    freed.push(i);
                    live[usize::from(ext)] -= 1;
                }
            }
        }
        let f = usize::from(dst_ext);
        live[f] += 1;
        peak[f] = peak[f].max(live[f]);
        if last_use[idx(dst_ext, ins.dst)?].is_none() {
            live[f] -= 1;
        }
    }
    Ok(peak[0] + EXT_WORDS as usize * peak[1])
}
#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, log_height: usize, width: usize, perm: usize, scales: bool) -> TableShape {
        TableShape {
            name: name.into(),
            log_height,
            main_width: width,
            permutation_width: perm,
            log_quotient_chunks: 1,
            scratch_words_per_thread: 500,
            scales_with_shard: scales,
        }
    }

    fn shard(log_cpu: usize) -> ShardShape {
        ShardShape::new(
            vec![
                table("cpu", log_cpu, 100, 10, true),
                table("range16", 16, 2, 2, false),
            ],
            &crate::FriSettings::DEFAULT,
        )
    }

    /// The plan's numbers for one small case, by hand: a single 2^4 x 2 table, blowup 2, no
    /// lookups, one quotient chunk pair (log 1), FRI to a constant with arity 2.
    #[test]
    fn one_table_by_hand() {
        let shape = ShardShape {
            tables: vec![TableShape {
                name: "t".into(),
                log_height: 4,
                main_width: 2,
                permutation_width: 0,
                log_quotient_chunks: 1,
                scratch_words_per_thread: 3,
                scales_with_shard: true,
            }],
            log_blowup: 1,
            log_final_poly_len: 0,
            max_log_arity: 1,
            quotient_max_threads: 1 << 16,
        };
        let p = plan(&shape);
        let tree = |log: u64| ((2u64 << log) - 1) * 32;
        let main = 2 * 32 * 4 + tree(5); // LDE 2 x 2^5 words + tree over 2^5 leaves
        let trace = 2 * 16 * 4; // resident from upload to LogUp, plus one copy for its LDE
        assert_eq!(p.phases[0], (Phase::MainCommit, trace + main + trace));
        assert_eq!(p.phases[1], (Phase::PermutationCommit, main + trace));
        let values = 4 * 32 * 4; // 2^5 extension values
        assert_eq!(p.phases[2], (Phase::Quotient, main + values + 32 * 3 * 4));
        let quot = 8 * 32 * 4 + tree(5); // 2 chunks x 4 columns x 2^5 rows + tree
        assert_eq!(
            p.phases[3],
            (Phase::QuotientCommit, main + values + values + quot)
        );
        // Reduced codeword 2^5 ext; FRI rounds at 2^5 .. 2^2 (stop at 2^(0+1)).
        let fri: u64 = (2..=5).map(|n| 2 * 4 * 4 * (1u64 << n) + tree(n - 1)).sum();
        assert_eq!(p.phases[4], (Phase::Fri, main + quot + 4 * 32 * 4 + fri));
        assert_eq!(p.peak, p.phases.iter().map(|x| x.1).max().unwrap());
    }

    #[test]
    fn a_quotient_domain_taller_than_the_lde_is_counted() {
        let table = |chunks| TableShape {
            name: "t".into(),
            log_height: 10,
            main_width: 3,
            permutation_width: 1,
            log_quotient_chunks: chunks,
            scratch_words_per_thread: 0,
            scales_with_shard: true,
        };
        let shape = |chunks| ShardShape {
            tables: vec![table(chunks)],
            log_blowup: 1,
            log_final_poly_len: 0,
            max_log_arity: 1,
            quotient_max_threads: 1 << 16,
        };
        let quotient = |chunks| plan(&shape(chunks)).phases[2].1;
        // 4 chunks at blowup 2: main (3 columns) and LogUp (4 words) re-extended to 2^12 rows,
        // on top of quotient values twice as tall as with 2 chunks.
        let values = |chunks: usize| (4u64 << (10 + chunks)) * 4;
        assert_eq!(
            quotient(2) - quotient(1),
            values(2) - values(1) + ((3 + 4) << 12) * 4
        );
    }

    #[test]
    fn peak_grows_with_the_shard() {
        let small = plan(&shard(18)).peak;
        let large = plan(&shard(20)).peak;
        assert!(large > 3 * small, "{small} -> {large}");
    }

    #[test]
    fn a_shard_that_fits_is_not_split() {
        let shape = shard(18);
        let p = plan(&shape);
        assert_eq!(fit(&shape, p.peak).unwrap(), Fit::Fits(p));
    }

    #[test]
    fn a_large_shard_is_split_until_each_part_fits() {
        let shape = shard(22);
        let budget = plan(&shard(19)).peak;
        match fit(&shape, budget).unwrap() {
            Fit::Split {
                halvings,
                part,
                plan,
            } => {
                assert_eq!(halvings, 3);
                assert_eq!(part.tables[0].log_height, 19);
                assert_eq!(
                    part.tables[1].log_height, 16,
                    "fixed tables keep their height"
                );
                assert!(plan.peak <= budget);
            }
            other => panic!("expected a split, got {other:?}"),
        }
    }

    #[test]
    fn a_shard_whose_fixed_tables_do_not_fit_is_an_error() {
        let shape = shard(20);
        let err = fit(&shape, 1 << 20).unwrap_err();
        assert!(err.needed > err.available, "{err}");
        assert_eq!(err.available, 1 << 20);
    }
}
