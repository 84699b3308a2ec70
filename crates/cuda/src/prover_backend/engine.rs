//! The device a prover backend runs on, as a small trait over **resident** data.
//!
//! A [`ProverEngine`] owns three kinds of buffers: matrices (column-major Montgomery words:
//! traces, LDEs, quotient chunks, FRI leaf matrices), Merkle trees (every digest layer) and
//! extension codewords (interleaved, 4 words per element: quotients, α-reduced codewords, FRI
//! layers). The backend only ever holds handles to them; what crosses back to the host is what
//! the transcript and the proof need: caps, opened values, the rows and digests a query answer
//! names, the final polynomial, proof-of-work witnesses.
//!
//! Two engines implement it with the same semantics:
//! * [`CudaBackend`]: the GPU, every operation a kernel launch over device buffers;
//! * [`ReferenceEngine`] (`reference_engine.rs`): the kernels' scalar reference model on host
//!   vectors, so that everything the prover backend does with an engine is tested, whole proofs
//!   byte for byte, on machines without a GPU.

use p3_matrix::dense::RowMajorMatrix;

use crate::backend::{CudaBackend, DeviceBuffer, DeviceMatrix};
use crate::error::{Error, Result};
use crate::field::DeviceField;
use crate::logup::{LogUpEnv, LogUpProgram};
use crate::merkle::DeviceMerkleTree;
use crate::opening::{OpeningReduceParams, OpeningWeightsParams};
use crate::prover_backend::host_tree::Digest;
use crate::quotient::{DEFAULT_MAX_THREADS, DeviceProgram, QuotientDomain, QuotientEnv};

/// One instance's quotient evaluation (see [`crate::quotient`]): the lowered program, its
/// environment and domain, and the committed bit-reversed LDEs (shift `GENERATOR`, at least
/// `2^log_quotient` rows; only those rows are read).
#[derive(Clone, Copy, Debug)]
pub struct QuotientInputs<'a, M> {
    pub program: &'a DeviceProgram,
    pub env: &'a QuotientEnv,
    pub domain: &'a QuotientDomain,
    pub main: &'a M,
    pub permutation: Option<&'a M>,
}

/// One term of an α-reduced codeword: a committed LDE and the term's parameters
/// ([`crate::opening::reduce_params`]) with the alpha powers of its columns.
#[derive(Clone, Debug)]
pub struct ReduceTerm<'a, M> {
    pub lde: &'a M,
    pub params: OpeningReduceParams,
    pub alpha_powers: Vec<u32>,
}

/// The heavy steps of a shard proof on engine-resident buffers (see the module docs).
///
/// Matrices are column-major; LDEs are in bit-reversed row order on `GENERATOR·K` (what
/// `TwoAdicFriPcs` commits). Every result equals the kernels' reference model bit for bit.
pub trait ProverEngine<F: DeviceField>: Send + Sync {
    /// A resident column-major matrix.
    type Matrix: Send + Sync;
    /// A resident Merkle tree (all digest layers).
    type Tree: Send + Sync;
    /// A resident extension-field vector, 4 words per element.
    type Codeword: Send + Sync;

    /// Short name for reports ("cuda", "reference model").
    fn name(&self) -> &'static str;

    /// `(height, width)` of a resident matrix.
    fn dims(&self, m: &Self::Matrix) -> (usize, usize);

    /// Elements (not words) of a resident codeword.
    fn codeword_len(&self, c: &Self::Codeword) -> usize;

    /// Make a host matrix resident.
    fn upload(&self, m: &RowMajorMatrix<F>) -> Result<Self::Matrix>;

    /// Download a resident matrix (row-major). Only for host fallbacks the backend names.
    fn download(&self, m: &Self::Matrix) -> Result<RowMajorMatrix<F>>;

    /// Coset LDE of every column by `2^log_blowup`, rows bit-reversed:
    /// `coset_lde_batch(m, log_blowup, shift).bit_reverse_rows()`. Consumes the input.
    fn coset_lde(&self, m: Self::Matrix, log_blowup: usize, shift: F) -> Result<Self::Matrix>;

    /// As [`ProverEngine::coset_lde`], keeping the input (a trace the prover still reads).
    fn coset_lde_of(&self, m: &Self::Matrix, log_blowup: usize, shift: F) -> Result<Self::Matrix>;

    /// The first `2^log_n` rows of `m` in bit-reversed row order (a new matrix).
    fn bitrev_rows(&self, m: &Self::Matrix, log_n: usize) -> Result<Self::Matrix>;

    /// The flattened LogUp trace of a resident main trace (natural row order), resident, and
    /// the terminal's words: `LogUpGadget::generate_permutation(..).flatten_to_base()`
    /// ([`crate::logup`]).
    fn logup_trace(
        &self,
        program: &LogUpProgram,
        env: &LogUpEnv,
        main: &Self::Matrix,
    ) -> Result<(Self::Matrix, Option<[u32; 4]>)>;

    /// The Merkle tree over `mats` in commit order, as `MerkleTreeMmcs` builds it for
    /// power-of-two heights (tallest rows hashed into the leaves, shorter ones injected).
    fn merkle_tree(&self, mats: &[&Self::Matrix]) -> Result<Self::Tree>;

    /// Digest layers of a tree: `log2(leaves) + 1` (layer 0 = leaf digests, last = root).
    fn tree_layers(&self, tree: &Self::Tree) -> usize;

    /// The digests at `positions` of layer `layer`, in the order asked.
    fn digests(
        &self,
        tree: &Self::Tree,
        layer: usize,
        positions: &[usize],
    ) -> Result<Vec<Digest<F>>>;

    /// Rows `rows` of a resident matrix, in the order asked.
    fn rows(&self, m: &Self::Matrix, rows: &[usize]) -> Result<Vec<Vec<F>>>;

    /// `C_alpha(x) / Z_H(x)` on the quotient domain: a `2^log_quotient x 4` matrix (column k:
    /// coefficient k, rows in natural order).
    fn quotient(&self, q: &QuotientInputs<'_, Self::Matrix>) -> Result<Self::Matrix>;

    /// A host quotient (natural order, extension elements as 4 words) made resident in
    /// [`ProverEngine::quotient`]'s layout; the host fallback's way in.
    fn upload_quotient(&self, words: &[u32], q_size: usize) -> Result<Self::Matrix> {
        let values = F::vec_from_words(words.to_vec())?;
        if values.len() != 4 * q_size {
            return Err(Error::InvalidShape(format!(
                "{} quotient words for a domain of {q_size}",
                values.len()
            )));
        }
        let rows = RowMajorMatrix::new(values, 4);
        self.upload(&rows)
    }

    /// Split a quotient (as [`ProverEngine::quotient`] returns it) into `2^log_chunks` chunks
    /// as p3's `split_evals` does (chunk t: rows t, t + c, ...), each a `rows / c x 4` matrix.
    fn split_quotient(&self, q: &Self::Matrix, log_chunks: usize) -> Result<Vec<Self::Matrix>>;

    /// The polynomial each column of `lde` encodes at each point (barycentric weights over its
    /// first `2^log_h` rows): per point, `4 * width` words.
    fn open_evaluations(
        &self,
        lde: &Self::Matrix,
        points: &[OpeningWeightsParams],
    ) -> Result<Vec<Vec<u32>>>;

    /// One α-reduced codeword: the sum of `terms` (all of `height` rows).
    fn reduce_height(
        &self,
        height: usize,
        terms: &[ReduceTerm<'_, Self::Matrix>],
    ) -> Result<Self::Codeword>;

    /// One FRI fold (`schedule`: [`crate::fri::FoldSchedule`]); with `roll_in`, add
    /// `beta^arity · roll_in` (a codeword of the folded length).
    fn fri_fold(
        &self,
        codeword: &Self::Codeword,
        schedule: &crate::fri::FoldSchedule,
        roll_in: Option<&Self::Codeword>,
    ) -> Result<Self::Codeword>;

    /// A FRI round's leaf matrix: the codeword as rows of `2^log_arity` elements flattened to
    /// `4 · 2^log_arity` base columns (what `ExtensionMmcs::commit_matrix` hashes).
    fn fri_leaves(&self, codeword: &Self::Codeword, log_arity: usize) -> Result<Self::Matrix>;

    /// The first `len` elements of a codeword (`4 * len` words, checked canonical).
    fn codeword_prefix(&self, c: &Self::Codeword, len: usize) -> Result<Vec<u32>>;

    /// The smallest proof-of-work witness for `search` (`bits >= 1`).
    fn pow_witness(&self, search: &crate::pow::PowSearch, bits: usize) -> Result<F>;
}

/// Check a commitment round's matrices: non-empty, power-of-two heights whose LDE fits the field.
pub(crate) fn check_lde(
    height: usize,
    width: usize,
    log_blowup: usize,
    two_adicity: usize,
) -> Result<()> {
    if width == 0
        || !height.is_power_of_two()
        || height.trailing_zeros() as usize + log_blowup > two_adicity
    {
        return Err(Error::InvalidShape(format!(
            "LDE of a {height} x {width} matrix by 2^{log_blowup}"
        )));
    }
    Ok(())
}

/// The GPU: every operation a launch over device buffers; downloads only where the trait says.
impl<F: DeviceField> ProverEngine<F> for CudaBackend {
    type Matrix = DeviceMatrix<F>;
    type Tree = DeviceMerkleTree<F>;
    type Codeword = DeviceBuffer;

    fn name(&self) -> &'static str {
        "cuda"
    }

    fn dims(&self, m: &Self::Matrix) -> (usize, usize) {
        (m.height(), m.width())
    }

    fn codeword_len(&self, c: &Self::Codeword) -> usize {
        c.len() / 4
    }

    /// Host transpose to columns, straight into the pinned staging slots (by default).
    fn upload(&self, m: &RowMajorMatrix<F>) -> Result<Self::Matrix> {
        self.upload_row_major(m)
    }

    fn download(&self, m: &Self::Matrix) -> Result<RowMajorMatrix<F>> {
        let cols = self.download_columns(m)?;
        Ok(super::columns::from_columns(&cols, m.height(), m.width()))
    }

    fn coset_lde(&self, m: Self::Matrix, log_blowup: usize, shift: F) -> Result<Self::Matrix> {
        check_lde(m.height(), m.width(), log_blowup, F::TWO_ADICITY)?;
        self.coset_lde_bitrev_owned(m, log_blowup as u32, shift)
    }

    /// One device-to-device copy of the input, then the owned LDE.
    fn coset_lde_of(&self, m: &Self::Matrix, log_blowup: usize, shift: F) -> Result<Self::Matrix> {
        check_lde(m.height(), m.width(), log_blowup, F::TWO_ADICITY)?;
        self.coset_lde_bitrev(m, log_blowup as u32, shift)
    }

    fn bitrev_rows(&self, m: &Self::Matrix, log_n: usize) -> Result<Self::Matrix> {
        CudaBackend::bitrev_rows(self, m, log_n as u32)
    }

    /// The LogUp kernels on the resident trace; only the terminal (and a status word) back.
    fn logup_trace(
        &self,
        program: &LogUpProgram,
        env: &LogUpEnv,
        main: &Self::Matrix,
    ) -> Result<(Self::Matrix, Option<[u32; 4]>)> {
        CudaBackend::logup_trace(self, program, env, main, crate::logup::DEFAULT_MAX_THREADS)
    }

    /// Cap height 0: the caller reads the cap layer it needs with [`ProverEngine::digests`].
    fn merkle_tree(&self, mats: &[&Self::Matrix]) -> Result<Self::Tree> {
        self.merkle_commit(mats, 0)
    }

    fn tree_layers(&self, tree: &Self::Tree) -> usize {
        tree.num_layers()
    }

    fn digests(
        &self,
        tree: &Self::Tree,
        layer: usize,
        positions: &[usize],
    ) -> Result<Vec<Digest<F>>> {
        tree.gather_digests(self, layer, positions)
    }

    fn rows(&self, m: &Self::Matrix, rows: &[usize]) -> Result<Vec<Vec<F>>> {
        self.gather_matrix_rows(m, rows)
    }

    fn quotient(&self, q: &QuotientInputs<'_, Self::Matrix>) -> Result<Self::Matrix> {
        self.quotient_values(
            q.program,
            q.env,
            q.domain,
            q.main,
            q.permutation,
            DEFAULT_MAX_THREADS,
        )
    }

    /// One `quotient_split` launch, then the chunks' column blocks copied apart (each chunk is
    /// extended with its own coset shift).
    fn split_quotient(&self, q: &Self::Matrix, log_chunks: usize) -> Result<Vec<Self::Matrix>> {
        let split = self.split_quotient(q, log_chunks as u32)?;
        let rows = split.height();
        (0..1usize << log_chunks)
            .map(|t| {
                let buf = self.copy_range(split.buffer(), 4 * t * rows, 4 * rows)?;
                DeviceMatrix::from_buffer(buf, rows, 4)
            })
            .collect()
    }

    /// Per point: the `opening_weights` and `opening_dot` kernels on the resident LDE; only the
    /// opened values come back.
    fn open_evaluations(
        &self,
        lde: &Self::Matrix,
        points: &[OpeningWeightsParams],
    ) -> Result<Vec<Vec<u32>>> {
        points
            .iter()
            .map(|p| self.opening_evaluate_words(lde, p))
            .collect()
    }

    /// A zeroed device codeword, one `opening_reduce` launch per term, in place.
    fn reduce_height(
        &self,
        height: usize,
        terms: &[ReduceTerm<'_, Self::Matrix>],
    ) -> Result<Self::Codeword> {
        let acc = self.alloc(4 * height)?;
        self.fill(&acc, 0)?;
        for t in terms {
            let powers = self.upload_words(&t.alpha_powers)?;
            self.opening_reduce_words(&acc, t.lde, &t.params, &powers)?;
        }
        Ok(acc)
    }

    fn fri_fold(
        &self,
        codeword: &Self::Codeword,
        schedule: &crate::fri::FoldSchedule,
        roll_in: Option<&Self::Codeword>,
    ) -> Result<Self::Codeword> {
        self.fri_fold_scheduled::<F>(codeword, schedule, roll_in)
    }

    fn fri_leaves(&self, codeword: &Self::Codeword, log_arity: usize) -> Result<Self::Matrix> {
        CudaBackend::fri_leaves::<F>(self, codeword, log_arity)
    }

    fn codeword_prefix(&self, c: &Self::Codeword, len: usize) -> Result<Vec<u32>> {
        let words = self.download_range(c, 0, 4 * len)?;
        Ok(F::as_words(&F::vec_from_words(words)?).to_vec())
    }

    /// One `pow_grind` launch over the whole field, one word back.
    fn pow_witness(&self, search: &crate::pow::PowSearch, bits: usize) -> Result<F> {
        self.grind_smallest::<F>(search, bits)
    }
}

impl<F: DeviceField, E: ProverEngine<F>> ProverEngine<F> for std::sync::Arc<E> {
    type Matrix = E::Matrix;
    type Tree = E::Tree;
    type Codeword = E::Codeword;

    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn dims(&self, m: &Self::Matrix) -> (usize, usize) {
        (**self).dims(m)
    }
    fn codeword_len(&self, c: &Self::Codeword) -> usize {
        (**self).codeword_len(c)
    }
    fn upload(&self, m: &RowMajorMatrix<F>) -> Result<Self::Matrix> {
        (**self).upload(m)
    }
    fn download(&self, m: &Self::Matrix) -> Result<RowMajorMatrix<F>> {
        (**self).download(m)
    }
    fn coset_lde(&self, m: Self::Matrix, log_blowup: usize, shift: F) -> Result<Self::Matrix> {
        (**self).coset_lde(m, log_blowup, shift)
    }
    fn coset_lde_of(&self, m: &Self::Matrix, log_blowup: usize, shift: F) -> Result<Self::Matrix> {
        (**self).coset_lde_of(m, log_blowup, shift)
    }
    fn logup_trace(
        &self,
        program: &LogUpProgram,
        env: &LogUpEnv,
        main: &Self::Matrix,
    ) -> Result<(Self::Matrix, Option<[u32; 4]>)> {
        (**self).logup_trace(program, env, main)
    }
    fn bitrev_rows(&self, m: &Self::Matrix, log_n: usize) -> Result<Self::Matrix> {
        (**self).bitrev_rows(m, log_n)
    }
    fn merkle_tree(&self, mats: &[&Self::Matrix]) -> Result<Self::Tree> {
        (**self).merkle_tree(mats)
    }
    fn tree_layers(&self, tree: &Self::Tree) -> usize {
        (**self).tree_layers(tree)
    }
    fn digests(
        &self,
        tree: &Self::Tree,
        layer: usize,
        positions: &[usize],
    ) -> Result<Vec<Digest<F>>> {
        (**self).digests(tree, layer, positions)
    }
    fn rows(&self, m: &Self::Matrix, rows: &[usize]) -> Result<Vec<Vec<F>>> {
        (**self).rows(m, rows)
    }
    fn quotient(&self, q: &QuotientInputs<'_, Self::Matrix>) -> Result<Self::Matrix> {
        (**self).quotient(q)
    }
    fn upload_quotient(&self, words: &[u32], q_size: usize) -> Result<Self::Matrix> {
        (**self).upload_quotient(words, q_size)
    }
    fn split_quotient(&self, q: &Self::Matrix, log_chunks: usize) -> Result<Vec<Self::Matrix>> {
        (**self).split_quotient(q, log_chunks)
    }
    fn open_evaluations(
        &self,
        lde: &Self::Matrix,
        points: &[OpeningWeightsParams],
    ) -> Result<Vec<Vec<u32>>> {
        (**self).open_evaluations(lde, points)
    }
    fn reduce_height(
        &self,
        height: usize,
        terms: &[ReduceTerm<'_, Self::Matrix>],
    ) -> Result<Self::Codeword> {
        (**self).reduce_height(height, terms)
    }
    fn fri_fold(
        &self,
        codeword: &Self::Codeword,
        schedule: &crate::fri::FoldSchedule,
        roll_in: Option<&Self::Codeword>,
    ) -> Result<Self::Codeword> {
        (**self).fri_fold(codeword, schedule, roll_in)
    }
    fn fri_leaves(&self, codeword: &Self::Codeword, log_arity: usize) -> Result<Self::Matrix> {
        (**self).fri_leaves(codeword, log_arity)
    }
    fn codeword_prefix(&self, c: &Self::Codeword, len: usize) -> Result<Vec<u32>> {
        (**self).codeword_prefix(c, len)
    }
    fn pow_witness(&self, search: &crate::pow::PowSearch, bits: usize) -> Result<F> {
        (**self).pow_witness(search, bits)
    }
}
