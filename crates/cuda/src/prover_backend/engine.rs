//! The commitment step a prover backend hands to the device: coset LDE (bit-reversed rows) of
//! every matrix of a round, one Merkle tree over all LDEs, and the results back on the host.
//!
//! Two engines implement it with the same kernels' semantics:
//! * [`CudaBackend`]: the GPU (upload, `coset_lde_bitrev_owned`, `merkle_commit`, download);
//! * [`ReferenceEngine`]: the kernels' scalar reference model ([`crate::reference`]) on the CPU,
//!   so that everything the prover backend does with an engine's output is tested on machines
//!   without a GPU, on data computed the way the kernels compute it.

use p3_field::Field;
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use rayon::prelude::*;

use crate::backend::{CudaBackend, DeviceMatrix};
use crate::error::{Error, Result};
use crate::field::DeviceField;
use crate::opening::{OpeningReduceParams, OpeningWeightsParams};
use crate::plan::{NttLimits, plan_merkle};
use crate::prover_backend::host_tree::Digest;
use crate::quotient::{
    DEFAULT_MAX_THREADS, DeviceProgram, QuotientDomain, QuotientEnv, quotient_threads,
};
use crate::reference;

/// One instance's quotient evaluation (see [`crate::quotient`]): the lowered program, its
/// environment and domain, and the committed bit-reversed LDEs (shift `GENERATOR`, at least
/// `2^log_quotient` rows; only those rows are read).
#[derive(Clone, Copy, Debug)]
pub struct QuotientInputs<'a, F> {
    pub program: &'a DeviceProgram,
    pub env: &'a QuotientEnv,
    pub domain: &'a QuotientDomain,
    pub main: &'a RowMajorMatrix<F>,
    pub permutation: Option<&'a RowMajorMatrix<F>>,
}

/// One term of an α-reduced codeword: a committed LDE and the term's parameters
/// ([`crate::opening::reduce_params`]) with the alpha powers of its columns.
#[derive(Clone, Debug)]
pub struct ReduceTerm<'a, F> {
    pub lde: &'a RowMajorMatrix<F>,
    pub params: OpeningReduceParams,
    pub alpha_powers: Vec<u32>,
}

/// Opening evaluations through the kernels' reference model: per point, `4 * width` words.
pub fn reference_open_evaluations<F: DeviceField>(
    lde: &RowMajorMatrix<F>,
    points: &[OpeningWeightsParams],
) -> Result<Vec<Vec<u32>>> {
    let mut out = Vec::with_capacity(points.len());
    for p in points {
        let h = 1usize << p.log_h;
        let cols = prefix_columns(lde, h)?;
        let w = crate::model::opening::weights::<F>(p);
        out.push(crate::model::opening::dot::<F>(
            F::as_words(&cols),
            h,
            lde.width(),
            h,
            &w,
        ));
    }
    Ok(out)
}

/// An α-reduced codeword of `height` rows through the kernels' reference model.
pub fn reference_reduce_height<F: DeviceField>(
    height: usize,
    terms: &[ReduceTerm<'_, F>],
) -> Result<Vec<u32>> {
    let mut acc = vec![0u32; 4 * height];
    for t in terms {
        if t.lde.height() != height {
            return Err(Error::InvalidShape(format!(
                "reduction term of {} rows in a codeword of {height}",
                t.lde.height()
            )));
        }
        let cols = to_columns(t.lde);
        let mut p = t.params;
        p.col_stride = height as u64;
        crate::model::opening::reduce::<F>(&p, F::as_words(&cols), &t.alpha_powers, &mut acc);
    }
    Ok(acc)
}

/// Column-major Montgomery words of the first `rows` rows of `m`.
fn prefix_columns<F: DeviceField>(m: &RowMajorMatrix<F>, rows: usize) -> Result<Vec<F>> {
    if m.height() < rows {
        return Err(Error::InvalidShape(format!(
            "LDE of {} rows for a quotient domain of {rows}",
            m.height()
        )));
    }
    let width = m.width();
    Ok(to_columns(&RowMajorMatrix::new(
        m.values[..rows * width].to_vec(),
        width.max(1),
    )))
}

/// The quotient through the kernel's reference model (`crate::model::quotient`).
pub fn reference_quotient<F: DeviceField>(q: &QuotientInputs<'_, F>) -> Result<Vec<u32>> {
    let rows = 1usize << q.domain.log_quotient;
    q.env.check(
        q.program,
        q.main.width(),
        q.permutation.map_or(0, |m| m.width()),
    )?;
    let main = prefix_columns(q.main, rows)?;
    let perm = q.permutation.map(|m| prefix_columns(m, rows)).transpose()?;
    Ok(crate::model::quotient::quotient_eval::<F>(
        q.program,
        q.env,
        q.domain,
        crate::model::quotient::ColumnsView {
            data: F::as_words(&main),
            stride: rows,
        },
        perm.as_deref()
            .map(|p| crate::model::quotient::ColumnsView {
                data: F::as_words(p),
                stride: rows,
            }),
        quotient_threads(q.domain.log_quotient, DEFAULT_MAX_THREADS),
    ))
}

/// One matrix to extend: evaluations of its columns on a coset `s·H` (`H` of the matrix's
/// height), and the shift passed to the LDE, `GENERATOR / s` (as `TwoAdicFriPcs` does), so the
/// output holds the columns on `GENERATOR·K`, `|K| = height << log_blowup`.
#[derive(Clone, Copy, Debug)]
pub struct LdeJob<'a, F> {
    pub evals: &'a RowMajorMatrix<F>,
    pub shift: F,
}

/// A committed round on the host: the bit-reversed LDEs (commit order) and every digest layer
/// (layer 0 = leaf digests, last = root) of the Merkle tree over them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedLdes<F> {
    pub ldes: Vec<RowMajorMatrix<F>>,
    pub digest_layers: Vec<Vec<Digest<F>>>,
}

/// Coset LDE + bit reversal + Merkle commitment of one round, results downloaded.
pub trait CommitEngine<F: DeviceField>: Send + Sync {
    /// Short name for reports ("cuda", "reference model").
    fn name(&self) -> &'static str;

    /// Extend every job's matrix by `2^log_blowup` (row `i` of output `j` is column `j`'s
    /// polynomial at `GENERATOR · ω^bitrev(i)` — `coset_lde_batch(evals, log_blowup,
    /// shift).bit_reverse_rows()`), then commit to all LDEs in job order.
    fn lde_and_commit(&self, jobs: &[LdeJob<'_, F>], log_blowup: usize)
    -> Result<CommittedLdes<F>>;

    /// `C_alpha(x) / Z_H(x)` on the quotient domain as 4 coefficient columns of Montgomery
    /// words (natural row order). The default runs the kernel's reference model.
    fn quotient(&self, inputs: &QuotientInputs<'_, F>) -> Result<Vec<u32>> {
        reference_quotient(inputs)
    }

    /// The committed LDE `lde` evaluated at each point (barycentric weights over its first
    /// `2^log_h` rows): per point, `4 * width` words. The default runs the reference model.
    fn open_evaluations(
        &self,
        lde: &RowMajorMatrix<F>,
        points: &[OpeningWeightsParams],
    ) -> Result<Vec<Vec<u32>>> {
        reference_open_evaluations(lde, points)
    }

    /// One α-reduced codeword: the sum of `terms` (all of `height` rows), `4 * height` words.
    /// The default runs the reference model.
    fn reduce_height(&self, height: usize, terms: &[ReduceTerm<'_, F>]) -> Result<Vec<u32>> {
        reference_reduce_height(height, terms)
    }

    /// One FRI fold (`schedule`: [`crate::fri::FoldSchedule`]) of an interleaved extension
    /// codeword. The default runs the reference model.
    fn fri_fold(&self, codeword: &[u32], schedule: &crate::fri::FoldSchedule) -> Result<Vec<u32>> {
        Ok(crate::model::fri::fold::<F>(codeword, schedule, None))
    }

    /// The smallest proof-of-work witness for `search` (`bits >= 1`). The default runs the
    /// reference model.
    fn pow_witness(&self, search: &crate::pow::PowSearch, bits: usize) -> Result<F> {
        crate::pow::check_difficulty::<F>(bits)?;
        let w = crate::model::pow::pow_search::<F>(search, bits as u32, 0, F::PRIME, 256);
        if w == crate::pow::NO_WITNESS {
            return Err(Error::NoPowWitness { bits });
        }
        Ok(F::from_u32(w))
    }
}

fn check_jobs<F: DeviceField>(jobs: &[LdeJob<'_, F>], log_blowup: usize) -> Result<Vec<usize>> {
    if jobs.is_empty() {
        return Err(Error::InvalidShape(
            "a commitment round needs a matrix".into(),
        ));
    }
    let heights: Vec<usize> = jobs
        .iter()
        .map(|j| j.evals.values.len() / j.evals.width.max(1))
        .collect();
    for (j, &h) in jobs.iter().zip(&heights) {
        if j.evals.width == 0 || j.evals.values.len() != h * j.evals.width {
            return Err(Error::InvalidShape(format!(
                "matrix of {} values and width {}",
                j.evals.values.len(),
                j.evals.width
            )));
        }
        if !h.is_power_of_two() || h.trailing_zeros() as usize + log_blowup > F::TWO_ADICITY {
            return Err(Error::InvalidShape(format!(
                "LDE of a matrix of height {h} by 2^{log_blowup}"
            )));
        }
    }
    Ok(heights.iter().map(|h| h << log_blowup).collect())
}

/// `out[c * h + r] = m[r][c]`: a row-major matrix to column-major, columns in parallel blocks.
pub fn to_columns<F: Field>(m: &RowMajorMatrix<F>) -> Vec<F> {
    let (h, w) = (m.height(), m.width());
    let mut cols = F::zero_vec(h * w);
    if h == 0 || w == 0 {
        return cols;
    }
    // Each task fills a run of whole columns; it reads rows with stride w (cache-friendly
    // enough: 16 consecutive rows' words of the task's columns share lines).
    let per_task = (1usize << 16).div_ceil(h).max(1);
    cols.par_chunks_mut(per_task * h)
        .enumerate()
        .for_each(|(t, chunk)| {
            let c0 = t * per_task;
            let ncols = chunk.len() / h;
            for (r, row) in m.values.chunks_exact(w).enumerate() {
                for dc in 0..ncols {
                    chunk[dc * h + r] = row[c0 + dc];
                }
            }
        });
    cols
}

/// The inverse of [`to_columns`]: column-major words back to a row-major matrix, rows in
/// parallel blocks.
pub fn from_columns<F: Field>(cols: &[F], height: usize, width: usize) -> RowMajorMatrix<F> {
    assert_eq!(cols.len(), height * width, "column data of the wrong size");
    let mut rows = F::zero_vec(height * width);
    if width > 0 {
        let per_task = (1usize << 16).div_ceil(width).max(1);
        rows.par_chunks_mut(per_task * width)
            .enumerate()
            .for_each(|(t, chunk)| {
                let r0 = t * per_task;
                for c in 0..width {
                    let col = &cols[c * height + r0..];
                    for (dr, row) in chunk.chunks_exact_mut(width).enumerate() {
                        row[c] = col[dr];
                    }
                }
            });
    }
    RowMajorMatrix::new(rows, width.max(1))
}

impl<F: DeviceField> CommitEngine<F> for CudaBackend {
    fn name(&self) -> &'static str {
        "cuda"
    }

    /// Per matrix: host transpose, upload, `coset_lde_bitrev_owned` (the input buffer is freed
    /// before the forward transform); then one `merkle_commit` over all LDEs; then every LDE
    /// and digest layer is downloaded (checked canonical) and the LDEs transposed back to rows.
    fn lde_and_commit(
        &self,
        jobs: &[LdeJob<'_, F>],
        log_blowup: usize,
    ) -> Result<CommittedLdes<F>> {
        check_jobs(jobs, log_blowup)?;
        let mut ldes: Vec<DeviceMatrix<F>> = Vec::with_capacity(jobs.len());
        for job in jobs {
            let cols = to_columns(job.evals);
            let m = self.upload_columns(&cols, job.evals.height(), job.evals.width())?;
            drop(cols);
            ldes.push(self.coset_lde_bitrev_owned(m, log_blowup as u32, job.shift)?);
        }
        let refs: Vec<&DeviceMatrix<F>> = ldes.iter().collect();
        let tree = self.merkle_commit(&refs, 0)?;
        let digest_layers = (0..tree.num_layers())
            .map(|k| tree.layer(self, k))
            .collect::<Result<Vec<_>>>()?;
        let host = ldes
            .iter()
            .map(|m| {
                let cols = self.download_columns(m)?;
                Ok(from_columns(&cols, m.height(), m.width()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CommittedLdes {
            ldes: host,
            digest_layers,
        })
    }

    /// Upload the first `2^log_quotient` rows of each LDE (column-major), run the quotient
    /// kernel, download its 4 columns (checked canonical).
    fn quotient(&self, q: &QuotientInputs<'_, F>) -> Result<Vec<u32>> {
        let rows = 1usize << q.domain.log_quotient;
        let upload = |m: &RowMajorMatrix<F>| -> Result<DeviceMatrix<F>> {
            self.upload_columns(&prefix_columns(m, rows)?, rows, m.width())
        };
        let main = upload(q.main)?;
        let perm = q.permutation.map(upload).transpose()?;
        let out = self.quotient_values(
            q.program,
            q.env,
            q.domain,
            &main,
            perm.as_ref(),
            DEFAULT_MAX_THREADS,
        )?;
        Ok(F::as_words(&self.download_columns(&out)?).to_vec())
    }

    /// Upload the first rows the widest point needs (column-major), then the opening kernels
    /// per point; only the opened values come back.
    fn open_evaluations(
        &self,
        lde: &RowMajorMatrix<F>,
        points: &[OpeningWeightsParams],
    ) -> Result<Vec<Vec<u32>>> {
        let Some(rows) = points.iter().map(|p| 1usize << p.log_h).max() else {
            return Ok(Vec::new());
        };
        let m = self.upload_columns(&prefix_columns(lde, rows)?, rows, lde.width())?;
        points
            .iter()
            .map(|p| self.opening_evaluate_words(&m, p))
            .collect()
    }

    /// One `pow_grind` launch over the whole field, one word back.
    fn pow_witness(&self, search: &crate::pow::PowSearch, bits: usize) -> Result<F> {
        self.grind_smallest::<F>(search, bits)
    }

    /// Upload the codeword, one `fri_fold` launch per arity-2 step, download the result.
    fn fri_fold(&self, codeword: &[u32], schedule: &crate::fri::FoldSchedule) -> Result<Vec<u32>> {
        let input = self.upload_words(codeword)?;
        let out = self.fri_fold_scheduled::<F>(&input, schedule, None)?;
        Ok(F::as_words(&F::vec_from_words(self.download_words(&out)?)?).to_vec())
    }

    /// A zeroed device codeword, every term's LDE uploaded and added, one download.
    fn reduce_height(&self, height: usize, terms: &[ReduceTerm<'_, F>]) -> Result<Vec<u32>> {
        let acc = self.upload_words(&vec![0u32; 4 * height])?;
        for t in terms {
            let m = self.upload_columns(&to_columns(t.lde), t.lde.height(), t.lde.width())?;
            let powers = self.upload_words(&t.alpha_powers)?;
            self.opening_reduce_words(&acc, &m, &t.params, &powers)?;
        }
        Ok(F::as_words(&F::vec_from_words(self.download_words(&acc)?)?).to_vec())
    }
}

/// The kernels' reference model as an engine: the same NTT pass plan (`NttLimits::DEVICE`),
/// scatter, leaf sponge and tree schedule as the device, in scalar Rust on Montgomery words.
/// Slow (single-threaded per column, scalar Poseidon2); meant for tests.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReferenceEngine;

impl<F: DeviceField> CommitEngine<F> for ReferenceEngine {
    fn name(&self) -> &'static str {
        "reference model"
    }

    fn lde_and_commit(
        &self,
        jobs: &[LdeJob<'_, F>],
        log_blowup: usize,
    ) -> Result<CommittedLdes<F>> {
        let lde_heights = check_jobs(jobs, log_blowup)?;
        let lde_cols: Vec<Vec<Vec<u32>>> = jobs
            .par_iter()
            .map(|job| {
                let h = job.evals.height();
                let cols = to_columns(job.evals);
                let words: Vec<Vec<u32>> = F::as_words(&cols)
                    .chunks_exact(h)
                    .map(<[u32]>::to_vec)
                    .collect();
                reference::coset_lde_bitrev::<F>(
                    &words,
                    h.trailing_zeros(),
                    log_blowup as u32,
                    job.shift,
                    NttLimits::DEVICE,
                )
            })
            .collect();
        let plan = plan_merkle(&lde_heights)?;
        let layers = reference::merkle_layers::<F>(&lde_cols, &plan);
        let digest_layers = layers
            .into_iter()
            .map(|layer| {
                let words: Vec<u32> = layer.into_iter().flatten().collect();
                Ok(F::vec_from_words(words)?
                    .chunks_exact(8)
                    .map(|d| d.try_into().expect("8-word digests"))
                    .collect())
            })
            .collect::<Result<Vec<_>>>()?;
        let ldes = lde_cols
            .into_iter()
            .zip(&lde_heights)
            .map(|(cols, &h)| {
                let width = cols.len();
                let words: Vec<u32> = cols.into_iter().flatten().collect();
                Ok(from_columns(&F::vec_from_words(words)?, h, width))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CommittedLdes {
            ldes,
            digest_layers,
        })
    }
}

impl<F: DeviceField, E: CommitEngine<F>> CommitEngine<F> for std::sync::Arc<E> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn lde_and_commit(
        &self,
        jobs: &[LdeJob<'_, F>],
        log_blowup: usize,
    ) -> Result<CommittedLdes<F>> {
        (**self).lde_and_commit(jobs, log_blowup)
    }

    fn quotient(&self, inputs: &QuotientInputs<'_, F>) -> Result<Vec<u32>> {
        (**self).quotient(inputs)
    }

    fn open_evaluations(
        &self,
        lde: &RowMajorMatrix<F>,
        points: &[OpeningWeightsParams],
    ) -> Result<Vec<Vec<u32>>> {
        (**self).open_evaluations(lde, points)
    }

    fn reduce_height(&self, height: usize, terms: &[ReduceTerm<'_, F>]) -> Result<Vec<u32>> {
        (**self).reduce_height(height, terms)
    }

    fn fri_fold(&self, codeword: &[u32], schedule: &crate::fri::FoldSchedule) -> Result<Vec<u32>> {
        (**self).fri_fold(codeword, schedule)
    }

    fn pow_witness(&self, search: &crate::pow::PowSearch, bits: usize) -> Result<F> {
        (**self).pow_witness(search, bits)
    }
}
