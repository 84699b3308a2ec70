//! Device memory measured while proofs run: [`MeteredEngine`] wraps any [`ProverEngine`] and
//! counts the bytes of every matrix, tree and codeword it hands out for as long as the prover
//! keeps it, and the peak of that count ([`ResidentMeter`]).
//!
//! This is the resident part of a shard proof (what `slotproof_prover::device_memory` plans
//! phase by phase), measured on the real pipeline rather than derived from table shapes: a
//! proof through the reference engine checks the plan on the CPU, and on the GPU it is the
//! measured figure a prove run reports per shard. Not counted: a kernel's own scratch within
//! one operation (the quotient interpreter's register file, staging) and the allocator's
//! rounding, which the plan's transients and `DEVICE_HEADROOM_BYTES` cover.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use p3_matrix::dense::RowMajorMatrix;

use super::engine::{ProverEngine, QuotientInputs, ReduceTerm};
use crate::error::Result;
use crate::field::DeviceField;
use crate::logup::{LogUpEnv, LogUpProgram};
use crate::opening::OpeningWeightsParams;
use crate::prover_backend::host_tree::Digest;

const WORD_BYTES: u64 = 4;
const DIGEST_BYTES: u64 = 8 * WORD_BYTES;
const EXT_BYTES: u64 = 4 * WORD_BYTES;

/// Bytes of engine buffers alive now, and the most alive at once since the last reset.
#[derive(Debug, Default)]
pub struct ResidentMeter {
    live: AtomicU64,
    peak: AtomicU64,
}

impl ResidentMeter {
    /// Bytes alive now.
    pub fn live(&self) -> u64 {
        self.live.load(Ordering::Acquire)
    }

    /// The most bytes alive at once since the meter was made or last reset.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Acquire)
    }

    /// Start measuring a new peak from what is alive now (e.g. before the next shard).
    pub fn reset_peak(&self) {
        self.peak.store(self.live(), Ordering::Release);
    }

    fn lease(self: &Arc<Self>, bytes: u64) -> Lease {
        let live = self.live.fetch_add(bytes, Ordering::AcqRel) + bytes;
        self.peak.fetch_max(live, Ordering::AcqRel);
        Lease {
            meter: Arc::clone(self),
            bytes,
        }
    }
}

/// A buffer's bytes on its meter until dropped.
#[derive(Debug)]
struct Lease {
    meter: Arc<ResidentMeter>,
    bytes: u64,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.meter.live.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// An engine value (matrix, tree or codeword) counted on a [`ResidentMeter`] while alive.
#[derive(Debug)]
pub struct Metered<T> {
    inner: T,
    lease: Lease,
}

impl<T> Metered<T> {
    /// The wrapped engine value.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The bytes it is counted for.
    pub fn bytes(&self) -> u64 {
        self.lease.bytes
    }
}

/// An engine whose matrices, trees and codewords are counted (see the module docs).
#[derive(Debug)]
pub struct MeteredEngine<E> {
    engine: E,
    meter: Arc<ResidentMeter>,
}

impl<E> MeteredEngine<E> {
    pub fn new(engine: E) -> Self {
        Self {
            engine,
            meter: Arc::default(),
        }
    }

    /// The meter every value of this engine is counted on.
    pub fn meter(&self) -> &Arc<ResidentMeter> {
        &self.meter
    }

    /// The wrapped engine.
    pub fn engine(&self) -> &E {
        &self.engine
    }

    fn counted<T>(&self, inner: T, bytes: u64) -> Metered<T> {
        Metered {
            inner,
            lease: self.meter.lease(bytes),
        }
    }
}

/// Bytes of a digest tree over leaves of `height` rows: every layer down to the root, as the
/// device keeps them.
fn tree_bytes(height: usize) -> u64 {
    (2 * height as u64).saturating_sub(1) * DIGEST_BYTES
}

/// A matrix counted by its words.
fn metered_matrix<F: DeviceField, E: ProverEngine<F>>(
    e: &MeteredEngine<E>,
    m: E::Matrix,
) -> Metered<E::Matrix> {
    let (h, w) = e.engine.dims(&m);
    e.counted(m, (h * w) as u64 * WORD_BYTES)
}

/// A codeword counted by its extension elements.
fn metered_codeword<F: DeviceField, E: ProverEngine<F>>(
    e: &MeteredEngine<E>,
    c: E::Codeword,
) -> Metered<E::Codeword> {
    let len = e.engine.codeword_len(&c) as u64;
    e.counted(c, len * EXT_BYTES)
}

impl<F: DeviceField, E: ProverEngine<F>> ProverEngine<F> for MeteredEngine<E> {
    type Matrix = Metered<E::Matrix>;
    type Tree = Metered<E::Tree>;
    type Codeword = Metered<E::Codeword>;

    fn name(&self) -> &'static str {
        self.engine.name()
    }

    fn dims(&self, m: &Self::Matrix) -> (usize, usize) {
        self.engine.dims(&m.inner)
    }

    fn codeword_len(&self, c: &Self::Codeword) -> usize {
        self.engine.codeword_len(&c.inner)
    }

    fn upload(&self, m: &RowMajorMatrix<F>) -> Result<Self::Matrix> {
        Ok(metered_matrix(self, self.engine.upload(m)?))
    }

    fn download(&self, m: &Self::Matrix) -> Result<RowMajorMatrix<F>> {
        self.engine.download(&m.inner)
    }

    fn coset_lde(&self, m: Self::Matrix, log_blowup: usize, shift: F) -> Result<Self::Matrix> {
        // The input stays counted until the output exists: both are alive during the launch.
        let Metered { inner, lease } = m;
        let out = metered_matrix(self, self.engine.coset_lde(inner, log_blowup, shift)?);
        drop(lease);
        Ok(out)
    }

    fn coset_lde_of(&self, m: &Self::Matrix, log_blowup: usize, shift: F) -> Result<Self::Matrix> {
        Ok(metered_matrix(
            self,
            self.engine.coset_lde_of(&m.inner, log_blowup, shift)?,
        ))
    }

    fn bitrev_rows(&self, m: &Self::Matrix, log_n: usize) -> Result<Self::Matrix> {
        Ok(metered_matrix(
            self,
            self.engine.bitrev_rows(&m.inner, log_n)?,
        ))
    }

    fn logup_trace(
        &self,
        program: &LogUpProgram,
        env: &LogUpEnv,
        main: &Self::Matrix,
    ) -> Result<(Self::Matrix, Option<[u32; 4]>)> {
        let (trace, terminal) = self.engine.logup_trace(program, env, &main.inner)?;
        Ok((metered_matrix(self, trace), terminal))
    }

    fn merkle_tree(&self, mats: &[&Self::Matrix]) -> Result<Self::Tree> {
        let inner: Vec<&E::Matrix> = mats.iter().map(|m| &m.inner).collect();
        let tree = self.engine.merkle_tree(&inner)?;
        let height = inner
            .iter()
            .map(|m| self.engine.dims(m).0)
            .max()
            .unwrap_or(0);
        Ok(self.counted(tree, tree_bytes(height)))
    }

    fn tree_layers(&self, tree: &Self::Tree) -> usize {
        self.engine.tree_layers(&tree.inner)
    }

    fn digests(
        &self,
        tree: &Self::Tree,
        layer: usize,
        positions: &[usize],
    ) -> Result<Vec<Digest<F>>> {
        self.engine.digests(&tree.inner, layer, positions)
    }

    fn rows(&self, m: &Self::Matrix, rows: &[usize]) -> Result<Vec<Vec<F>>> {
        self.engine.rows(&m.inner, rows)
    }

    fn quotient(&self, q: &QuotientInputs<'_, Self::Matrix>) -> Result<Self::Matrix> {
        let inner = QuotientInputs {
            program: q.program,
            env: q.env,
            domain: q.domain,
            main: &q.main.inner,
            permutation: q.permutation.map(|p| &p.inner),
        };
        Ok(metered_matrix(self, self.engine.quotient(&inner)?))
    }

    fn upload_quotient(&self, words: &[u32], q_size: usize) -> Result<Self::Matrix> {
        Ok(metered_matrix(
            self,
            self.engine.upload_quotient(words, q_size)?,
        ))
    }

    fn split_quotient(&self, q: &Self::Matrix, log_chunks: usize) -> Result<Vec<Self::Matrix>> {
        Ok(self
            .engine
            .split_quotient(&q.inner, log_chunks)?
            .into_iter()
            .map(|m| metered_matrix(self, m))
            .collect())
    }

    fn open_evaluations(
        &self,
        lde: &Self::Matrix,
        points: &[OpeningWeightsParams],
    ) -> Result<Vec<Vec<u32>>> {
        self.engine.open_evaluations(&lde.inner, points)
    }

    fn reduce_height(
        &self,
        height: usize,
        terms: &[ReduceTerm<'_, Self::Matrix>],
    ) -> Result<Self::Codeword> {
        let inner: Vec<ReduceTerm<'_, E::Matrix>> = terms
            .iter()
            .map(|t| ReduceTerm {
                lde: &t.lde.inner,
                params: t.params,
                alpha_powers: t.alpha_powers.clone(),
            })
            .collect();
        Ok(metered_codeword(
            self,
            self.engine.reduce_height(height, &inner)?,
        ))
    }

    fn fri_fold(
        &self,
        codeword: &Self::Codeword,
        schedule: &crate::fri::FoldSchedule,
        roll_in: Option<&Self::Codeword>,
    ) -> Result<Self::Codeword> {
        let folded = self
            .engine
            .fri_fold(&codeword.inner, schedule, roll_in.map(|c| &c.inner))?;
        Ok(metered_codeword(self, folded))
    }

    fn fri_leaves(&self, codeword: &Self::Codeword, log_arity: usize) -> Result<Self::Matrix> {
        Ok(metered_matrix(
            self,
            self.engine.fri_leaves(&codeword.inner, log_arity)?,
        ))
    }

    fn codeword_prefix(&self, c: &Self::Codeword, len: usize) -> Result<Vec<u32>> {
        self.engine.codeword_prefix(&c.inner, len)
    }

    fn pow_witness(&self, search: &crate::pow::PowSearch, bits: usize) -> Result<F> {
        self.engine.pow_witness(search, bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_count_live_bytes_and_the_peak() {
        let meter = Arc::new(ResidentMeter::default());
        let a = meter.lease(100);
        let b = meter.lease(50);
        assert_eq!((meter.live(), meter.peak()), (150, 150));
        drop(a);
        assert_eq!((meter.live(), meter.peak()), (50, 150));
        meter.reset_peak();
        assert_eq!(meter.peak(), 50);
        let c = meter.lease(20);
        assert_eq!((meter.live(), meter.peak()), (70, 70));
        drop((b, c));
        assert_eq!((meter.live(), meter.peak()), (0, 70));
    }

    #[test]
    fn a_tree_counts_every_layer_to_the_root() {
        assert_eq!(tree_bytes(1), 32);
        assert_eq!(tree_bytes(8), (8 + 4 + 2 + 1) * 32);
        assert_eq!(tree_bytes(0), 0);
    }
}
