//! A shard proof's device memory, planned before anything is launched.
//!
//! The plan follows the device-resident pipeline phase by phase and counts what is alive on the
//! device in each: every commitment round's LDEs and Merkle digest layers stay resident until the
//! FRI queries are answered; the quotient values of every table live from their evaluation to
//! their commitment; the interpreter's scratch register file, a trace being uploaded and a split
//! quotient are transient. The peak is the largest phase. [`fit`] compares it with the memory
//! available and, when the shard does not fit, halves the tables that scale with the shard's step
//! count until it does (the caller then proves the shard in that many parts), or returns
//! [`Error::OutOfDeviceMemory`] when even the smallest split does not fit. Nothing is allocated
//! by a shard that was not planned to fit, so a large shard never ends in an out-of-memory crash.
//!
//! Sizes are in bytes; device words are 4 bytes, digests 8 words, extension elements 4 words.

use crate::backend::CudaBackend;
use crate::error::{Error, Result};
use crate::quotient::{DEFAULT_MAX_THREADS, DeviceProgram, quotient_threads};

const WORD: u64 = 4;
const DIGEST_WORDS: u64 = 8;
const EXT_WORDS: u64 = 4;
/// The prover's smallest trace (`slotproof_prover::prover::MIN_LOG_HEIGHT`).
const MIN_LOG_HEIGHT: usize = 2;

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
    /// The shape of a table from its lowered constraint program.
    pub fn from_program(
        name: impl Into<String>,
        log_height: usize,
        program: &DeviceProgram,
        log_quotient_chunks: usize,
        scales_with_shard: bool,
    ) -> Self {
        Self {
            name: name.into(),
            log_height,
            main_width: program.main_width,
            permutation_width: program.permutation_width,
            log_quotient_chunks,
            scratch_words_per_thread: program.scratch_words_per_thread(),
            scales_with_shard,
        }
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
    pub fn new(tables: Vec<TableShape>, settings: &slotproof_prover::FriSettings) -> Self {
        Self {
            tables,
            log_blowup: settings.log_blowup,
            log_final_poly_len: settings.log_final_poly_len,
            max_log_arity: settings.max_log_arity.max(1),
            quotient_max_threads: DEFAULT_MAX_THREADS,
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

    let committed = main_resident + perm_resident;
    let phases = vec![
        (Phase::MainCommit, main_resident + main_upload),
        (Phase::PermutationCommit, committed + perm_upload),
        (Phase::Quotient, committed + quotient_values + scratch),
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
pub fn fit(shape: &ShardShape, available: u64) -> Result<Fit> {
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
            return Err(Error::OutOfDeviceMemory {
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

impl CudaBackend {
    /// [`fit`] against the device's free memory less `headroom` bytes (kept for the context,
    /// the kernels' modules and allocator granularity).
    pub fn fit_shard(&self, shape: &ShardShape, headroom: u64) -> Result<Fit> {
        let (free, _) = self.mem_info()?;
        fit(shape, (free as u64).saturating_sub(headroom))
    }
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
            &slotproof_prover::FriSettings::DEFAULT,
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
        assert_eq!(p.phases[0], (Phase::MainCommit, main + 2 * 16 * 4));
        assert_eq!(p.phases[1], (Phase::PermutationCommit, main));
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
        assert!(
            matches!(err, Error::OutOfDeviceMemory { needed, available } if needed > available),
            "{err}"
        );
    }
}
