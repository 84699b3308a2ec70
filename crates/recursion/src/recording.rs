//! Recording wrappers: a challenger and an MMCS that delegate every call unchanged and log it.
//!
//! Put into a `StarkConfig` ([`crate::config::RecordedConfig`]), they let the **stock**
//! `p3_batch_stark::verify_batch` run on a shard proof's bytes and leave behind the exact
//! sequence of transcript steps and Merkle checks it made: the oracle for the native mirror.

use p3_challenger::{CanObserve, CanSample, CanSampleBits, FieldChallenger, GrindingChallenger};
use p3_commit::{BatchOpeningRef, Mmcs};
use p3_field::BasedVectorSpace;
use p3_matrix::{Dimensions, Matrix};
use p3_symmetric::MerkleCap;

use crate::config::Val;
use crate::log::{Event, MerkleOpening, SharedLog};

/// A challenger that logs every observe, sample, bit sample and proof-of-work check.
#[derive(Clone, Debug)]
pub struct RecordingChallenger<C> {
    inner: C,
    log: SharedLog,
}

impl<C> RecordingChallenger<C> {
    pub fn new(inner: C, log: SharedLog) -> Self {
        Self { inner, log }
    }
}

impl<C: CanObserve<Val>> CanObserve<Val> for RecordingChallenger<C> {
    fn observe(&mut self, value: Val) {
        self.log.push(Event::Observe(value));
        self.inner.observe(value);
    }
}

// A commitment is absorbed digest element by digest element (as `DuplexChallenger` does), so it
// is logged as those elements.
impl<C: CanObserve<Val>, const N: usize> CanObserve<MerkleCap<Val, [Val; N]>>
    for RecordingChallenger<C>
{
    fn observe(&mut self, cap: MerkleCap<Val, [Val; N]>) {
        for digest in cap.roots() {
            for &value in digest {
                self.observe(value);
            }
        }
    }
}

impl<C: CanSample<Val>> CanSample<Val> for RecordingChallenger<C> {
    fn sample(&mut self) -> Val {
        let value = self.inner.sample();
        self.log.push(Event::Sample(value));
        value
    }
}

// Extension samples are base samples, coefficient by coefficient, as the duplex challenger
// draws them.
impl<C: CanSample<Val>> CanSample<crate::config::Challenge> for RecordingChallenger<C> {
    fn sample(&mut self) -> crate::config::Challenge {
        crate::config::Challenge::from_basis_coefficients_fn(|_| CanSample::<Val>::sample(self))
    }
}

impl<C: CanSampleBits<usize>> CanSampleBits<usize> for RecordingChallenger<C> {
    fn sample_bits(&mut self, bits: usize) -> usize {
        let value = self.inner.sample_bits(bits);
        self.log.push(Event::SampleBits { bits, value });
        value
    }
}

impl<C> FieldChallenger<Val> for RecordingChallenger<C> where
    C: CanObserve<Val> + CanSample<Val> + CanSampleBits<usize> + Sync
{
}

impl<C> GrindingChallenger for RecordingChallenger<C>
where
    C: GrindingChallenger<Witness = Val> + CanObserve<Val> + CanSampleBits<usize>,
{
    type Witness = Val;

    fn grind(&mut self, bits: usize) -> Val {
        // Only provers grind; a recorded run is a verifier's.
        self.inner.grind(bits)
    }

    fn check_witness(&mut self, bits: usize, witness: Val) -> bool {
        let accepted = self.inner.check_witness(bits, witness);
        self.log.push(Event::Pow {
            bits,
            witness,
            accepted,
        });
        accepted
    }
}

/// An MMCS that logs every multi-opening check (commitment, dimensions, indices, rows, verdict).
#[derive(Clone, Debug)]
pub struct RecordingMmcs<M> {
    inner: M,
    log: SharedLog,
}

impl<M> RecordingMmcs<M> {
    pub fn new(inner: M, log: SharedLog) -> Self {
        Self { inner, log }
    }
}

/// The elements of a Merkle cap, digest by digest.
pub fn cap_elements<const N: usize>(cap: &MerkleCap<Val, [Val; N]>) -> Vec<Val> {
    cap.roots().iter().flatten().copied().collect()
}

impl<M> Mmcs<Val> for RecordingMmcs<M>
where
    M: Mmcs<Val, Commitment = MerkleCap<Val, [Val; 8]>>,
{
    type ProverData<Mat> = M::ProverData<Mat>;
    type Commitment = M::Commitment;
    type Proof = M::Proof;
    type MultiProof = M::MultiProof;
    type Error = M::Error;

    fn commit<Mat: Matrix<Val>>(
        &self,
        inputs: Vec<Mat>,
    ) -> (Self::Commitment, Self::ProverData<Mat>) {
        self.inner.commit(inputs)
    }

    fn open_batch<Mat: Matrix<Val>>(
        &self,
        index: usize,
        prover_data: &Self::ProverData<Mat>,
    ) -> p3_commit::BatchOpening<Val, Self> {
        let (values, proof) = self.inner.open_batch(index, prover_data).unpack();
        p3_commit::BatchOpening::new(values, proof)
    }

    fn get_matrices<'a, Mat: Matrix<Val>>(
        &self,
        prover_data: &'a Self::ProverData<Mat>,
    ) -> Vec<&'a Mat> {
        self.inner.get_matrices(prover_data)
    }

    fn verify_batch(
        &self,
        commit: &Self::Commitment,
        dimensions: &[Dimensions],
        index: usize,
        batch_opening: BatchOpeningRef<'_, Val, Self>,
    ) -> Result<(), Self::Error> {
        let (values, proof) = batch_opening.unpack();
        let result = self.inner.verify_batch(
            commit,
            dimensions,
            index,
            BatchOpeningRef::new(values, proof),
        );
        self.log.push(Event::MerkleOpening(MerkleOpening {
            commitment: cap_elements(commit),
            dims: dimensions.iter().map(|d| (d.width, d.height)).collect(),
            indices: vec![index],
            rows: vec![values.to_vec()],
            accepted: result.is_ok(),
        }));
        result
    }

    fn open_multi_batch<Mat: Matrix<Val>>(
        &self,
        indices: &[usize],
        prover_data: &Self::ProverData<Mat>,
    ) -> (Vec<Vec<Vec<Val>>>, Self::MultiProof) {
        self.inner.open_multi_batch(indices, prover_data)
    }

    fn verify_multi_batch<R: AsRef<[Val]> + PartialEq>(
        &self,
        commit: &Self::Commitment,
        dimensions: &[Dimensions],
        indices: &[usize],
        opened_values: &[Vec<R>],
        proof: &Self::MultiProof,
    ) -> Result<(), Self::Error> {
        let result =
            self.inner
                .verify_multi_batch(commit, dimensions, indices, opened_values, proof);
        self.log.push(Event::MerkleOpening(MerkleOpening {
            commitment: cap_elements(commit),
            dims: dimensions.iter().map(|d| (d.width, d.height)).collect(),
            indices: indices.to_vec(),
            rows: opened_values
                .iter()
                .map(|query| query.iter().map(|row| row.as_ref().to_vec()).collect())
                .collect(),
            accepted: result.is_ok(),
        }));
        result
    }
}
