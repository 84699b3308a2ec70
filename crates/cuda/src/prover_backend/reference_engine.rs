//! The kernels' reference model as a [`ProverEngine`]: the same NTT pass plan
//! (`NttLimits::DEVICE`), scatter, leaf sponge, tree schedule, quotient interpreter, opening,
//! folding and grinding arithmetic as the device, in scalar Rust on Montgomery words held in
//! host vectors. Slow (scalar Poseidon2, one column per task); meant for tests, where it stands
//! in for the GPU so that whole proofs through [`super::CudaProverBackend`] are checked byte
//! for byte against the CPU backend.

use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use rayon::prelude::*;

use super::columns::{from_columns, to_columns};
use super::engine::{ProverEngine, QuotientInputs, ReduceTerm, check_lde};
use crate::error::{Error, Result};
use crate::field::DeviceField;
use crate::logup::{LogUpEnv, LogUpProgram};
use crate::opening::OpeningWeightsParams;
use crate::plan::{NttLimits, plan_merkle};
use crate::prover_backend::host_tree::Digest;
use crate::quotient::{DEFAULT_MAX_THREADS, quotient_threads};
use crate::reference;

/// The reference engine (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct ReferenceEngine;

/// A matrix of the reference engine: one word vector per column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelMatrix {
    pub cols: Vec<Vec<u32>>,
    pub height: usize,
}

impl ModelMatrix {
    fn new(cols: Vec<Vec<u32>>, height: usize) -> Self {
        Self { cols, height }
    }

    /// A matrix of `width` columns of `height` words from column-major words (what a kernel
    /// writes); no columns when there are no words.
    fn from_column_words(words: &[u32], height: usize, width: usize) -> Self {
        if height == 0 {
            return Self::new(vec![Vec::new(); width], 0);
        }
        Self::new(
            words.chunks_exact(height).map(<[u32]>::to_vec).collect(),
            height,
        )
    }

    /// Column-major words of the first `rows` rows (what a kernel reads with that stride).
    fn prefix_words(&self, rows: usize) -> Result<Vec<u32>> {
        if self.height < rows {
            return Err(Error::InvalidShape(format!(
                "matrix of {} rows read as {rows}",
                self.height
            )));
        }
        Ok(self
            .cols
            .iter()
            .flat_map(|c| c[..rows].iter().copied())
            .collect())
    }
}

/// A tree of the reference engine: every digest layer (layer 0 = leaves).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelTree {
    pub layers: Vec<Vec<[u32; 8]>>,
}

impl<F: DeviceField> ProverEngine<F> for ReferenceEngine {
    type Matrix = ModelMatrix;
    type Tree = ModelTree;
    type Codeword = Vec<u32>;

    fn name(&self) -> &'static str {
        "reference model"
    }

    fn dims(&self, m: &Self::Matrix) -> (usize, usize) {
        (m.height, m.cols.len())
    }

    fn codeword_len(&self, c: &Self::Codeword) -> usize {
        c.len() / 4
    }

    fn upload(&self, m: &RowMajorMatrix<F>) -> Result<Self::Matrix> {
        let cols = to_columns(m);
        Ok(ModelMatrix::from_column_words(
            F::as_words(&cols),
            m.height(),
            m.width(),
        ))
    }

    fn download(&self, m: &Self::Matrix) -> Result<RowMajorMatrix<F>> {
        let words: Vec<u32> = m.cols.iter().flatten().copied().collect();
        Ok(from_columns(
            &F::vec_from_words(words)?,
            m.height,
            m.cols.len(),
        ))
    }

    fn coset_lde(&self, m: Self::Matrix, log_blowup: usize, shift: F) -> Result<Self::Matrix> {
        check_lde(m.height, m.cols.len(), log_blowup, F::TWO_ADICITY)?;
        let log_n = m.height.trailing_zeros();
        let cols: Vec<Vec<u32>> = m
            .cols
            .par_iter()
            .flat_map(|c| {
                reference::coset_lde_bitrev::<F>(
                    core::slice::from_ref(c),
                    log_n,
                    log_blowup as u32,
                    shift,
                    NttLimits::DEVICE,
                )
            })
            .collect();
        Ok(ModelMatrix::new(cols, m.height << log_blowup))
    }

    fn coset_lde_of(&self, m: &Self::Matrix, log_blowup: usize, shift: F) -> Result<Self::Matrix> {
        ProverEngine::<F>::coset_lde(self, m.clone(), log_blowup, shift)
    }

    fn bitrev_rows(&self, m: &Self::Matrix, log_n: usize) -> Result<Self::Matrix> {
        let n = 1usize << log_n;
        let words = m.prefix_words(n)?;
        let out = crate::model::bitrev_rows(&words, n, log_n as u32, m.cols.len());
        Ok(ModelMatrix::from_column_words(&out, n, m.cols.len()))
    }

    fn logup_trace(
        &self,
        program: &LogUpProgram,
        env: &LogUpEnv,
        main: &Self::Matrix,
    ) -> Result<(Self::Matrix, Option<[u32; 4]>)> {
        let words = main.prefix_words(main.height)?;
        let (out, terminal) = crate::model::logup::logup_trace::<F>(
            program,
            env,
            &words,
            main.height,
            main.cols.len(),
            crate::logup::DEFAULT_MAX_THREADS,
        )?;
        F::vec_from_words(out.clone())?;
        // Without lookups (or rows) a 0 x 0 matrix, as the device returns.
        if main.height == 0 || out.is_empty() {
            return Ok((ModelMatrix::new(Vec::new(), 0), terminal));
        }
        let width = out.len() / main.height;
        Ok((
            ModelMatrix::from_column_words(&out, main.height, width),
            terminal,
        ))
    }

    fn merkle_tree(&self, mats: &[&Self::Matrix]) -> Result<Self::Tree> {
        let heights: Vec<usize> = mats.iter().map(|m| m.height).collect();
        let plan = plan_merkle(&heights)?;
        let cols: Vec<&[Vec<u32>]> = mats.iter().map(|m| m.cols.as_slice()).collect();
        let layers = reference::merkle_layers::<F>(&cols, &plan);
        // The device checks canonical words when digests come back; so does the model.
        for layer in &layers {
            F::vec_from_words(layer.iter().flatten().copied().collect())?;
        }
        Ok(ModelTree { layers })
    }

    fn tree_layers(&self, tree: &Self::Tree) -> usize {
        tree.layers.len()
    }

    fn digests(
        &self,
        tree: &Self::Tree,
        layer: usize,
        positions: &[usize],
    ) -> Result<Vec<Digest<F>>> {
        let Some(digests) = tree.layers.get(layer) else {
            return Err(Error::InvalidShape(format!(
                "digest layer {layer} of a tree of {} layers",
                tree.layers.len()
            )));
        };
        positions
            .iter()
            .map(|&p| {
                let d = digests.get(p).ok_or_else(|| {
                    Error::InvalidShape(format!("digest {p} of a layer of {}", digests.len()))
                })?;
                let values = F::vec_from_words(d.to_vec())?;
                Ok(values.try_into().expect("8 words"))
            })
            .collect()
    }

    fn rows(&self, m: &Self::Matrix, rows: &[usize]) -> Result<Vec<Vec<F>>> {
        rows.iter()
            .map(|&r| {
                if r >= m.height {
                    return Err(Error::InvalidShape(format!(
                        "row {r} of a matrix of {} rows",
                        m.height
                    )));
                }
                F::vec_from_words(m.cols.iter().map(|c| c[r]).collect())
            })
            .collect()
    }

    fn quotient(&self, q: &QuotientInputs<'_, Self::Matrix>) -> Result<Self::Matrix> {
        let rows = 1usize << q.domain.log_quotient;
        q.env.check(
            q.program,
            q.main.cols.len(),
            q.permutation.map_or(0, |m| m.cols.len()),
        )?;
        let main = q.main.prefix_words(rows)?;
        let perm = q.permutation.map(|m| m.prefix_words(rows)).transpose()?;
        let words = crate::model::quotient::quotient_eval::<F>(
            q.program,
            q.env,
            q.domain,
            crate::model::quotient::ColumnsView {
                data: &main,
                stride: rows,
            },
            perm.as_deref()
                .map(|p| crate::model::quotient::ColumnsView {
                    data: p,
                    stride: rows,
                }),
            quotient_threads(q.domain.log_quotient, DEFAULT_MAX_THREADS),
        );
        F::vec_from_words(words.clone())?;
        Ok(ModelMatrix::from_column_words(&words, rows, 4))
    }

    fn split_quotient(&self, q: &Self::Matrix, log_chunks: usize) -> Result<Vec<Self::Matrix>> {
        let q_size = q.height;
        if q.cols.len() != 4 || !q_size.is_power_of_two() || (q_size >> log_chunks) == 0 {
            return Err(Error::InvalidShape(format!(
                "{q_size} x {} quotient in 2^{log_chunks} chunks",
                q.cols.len()
            )));
        }
        let words: Vec<u32> = q.cols.iter().flatten().copied().collect();
        let split = crate::model::quotient::quotient_split(
            &words,
            q_size.trailing_zeros(),
            log_chunks as u32,
        );
        let rows = q_size >> log_chunks;
        Ok(split
            .chunks_exact(4 * rows)
            .map(|chunk| ModelMatrix::from_column_words(chunk, rows, 4))
            .collect())
    }

    fn open_evaluations(
        &self,
        lde: &Self::Matrix,
        points: &[OpeningWeightsParams],
    ) -> Result<Vec<Vec<u32>>> {
        points
            .iter()
            .map(|p| {
                let h = 1usize << p.log_h;
                let cols = lde.prefix_words(h)?;
                let w = crate::model::opening::weights::<F>(p);
                let out = crate::model::opening::dot::<F>(&cols, h, lde.cols.len(), h, &w);
                F::vec_from_words(out.clone())?;
                Ok(out)
            })
            .collect()
    }

    fn reduce_height(
        &self,
        height: usize,
        terms: &[ReduceTerm<'_, Self::Matrix>],
    ) -> Result<Self::Codeword> {
        let mut acc = vec![0u32; 4 * height];
        for t in terms {
            if t.lde.height != height {
                return Err(Error::InvalidShape(format!(
                    "reduction term of {} rows in a codeword of {height}",
                    t.lde.height
                )));
            }
            let cols = t.lde.prefix_words(height)?;
            let mut p = t.params;
            p.col_stride = height as u64;
            crate::model::opening::reduce::<F>(&p, &cols, &t.alpha_powers, &mut acc);
        }
        Ok(acc)
    }

    fn fri_fold(
        &self,
        codeword: &Self::Codeword,
        schedule: &crate::fri::FoldSchedule,
        roll_in: Option<&Self::Codeword>,
    ) -> Result<Self::Codeword> {
        crate::fri::check_fold(codeword.len(), schedule, roll_in.map(Vec::len))?;
        Ok(crate::model::fri::fold::<F>(
            codeword,
            schedule,
            roll_in.map(Vec::as_slice),
        ))
    }

    fn fri_leaves(&self, codeword: &Self::Codeword, log_arity: usize) -> Result<Self::Matrix> {
        let log_len = crate::fri::check_leaves(codeword.len(), log_arity)?;
        let rows = 1usize << (log_len - log_arity);
        let words = crate::model::fri::leaves(codeword, log_len as u32, log_arity as u32);
        Ok(ModelMatrix::from_column_words(&words, rows, 4 << log_arity))
    }

    fn codeword_prefix(&self, c: &Self::Codeword, len: usize) -> Result<Vec<u32>> {
        let words = c.get(..4 * len).ok_or_else(|| {
            Error::InvalidShape(format!("{len} elements of a codeword of {}", c.len() / 4))
        })?;
        Ok(F::as_words(&F::vec_from_words(words.to_vec())?).to_vec())
    }

    fn pow_witness(&self, search: &crate::pow::PowSearch, bits: usize) -> Result<F> {
        crate::pow::check_difficulty::<F>(bits)?;
        let w = crate::model::pow::pow_search::<F>(search, bits as u32, 0, F::PRIME, 256);
        if w == crate::pow::NO_WITNESS {
            return Err(Error::NoPowWitness { bits });
        }
        Ok(F::from_u32(w))
    }
}
