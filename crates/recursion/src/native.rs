//! [`Native`]: the [`Ops`] that compute with values. Transcript steps run on the project's own
//! challenger and Merkle checks on the project's MMCS; each is logged as the [`Event`] the
//! recording wrappers log for the stock verifier, so the two logs can be compared step by step.

use p3_challenger::{CanObserve, CanSample, CanSampleBits, GrindingChallenger};
use p3_commit::Mmcs;
use p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing};
use p3_matrix::Dimensions;
use slotproof_prover::{FriSettings, ProverField};

use crate::config::{
    Challenge, Commitment, InputMmcs, MultiProof, ShardChallenger, Val, input_mmcs,
};
use crate::log::{Event, MerkleOpening};
use crate::ops::Ops;
use crate::recording::cap_elements;

/// Value semantics for [`Ops`], with the event log of everything it absorbed, squeezed and
/// opened.
pub struct Native {
    challenger: ShardChallenger,
    mmcs: InputMmcs,
    log: Vec<Event>,
}

impl Native {
    /// A fresh transcript under the configuration of `settings`.
    pub fn new(settings: &FriSettings) -> Self {
        Self {
            challenger: ShardChallenger::new(Val::default_poseidon2_16()),
            mmcs: input_mmcs(settings),
            log: Vec::new(),
        }
    }

    /// The events so far.
    pub fn log(&self) -> &[Event] {
        &self.log
    }

    pub fn into_log(self) -> Vec<Event> {
        self.log
    }
}

impl Ops for Native {
    type F = Val;
    type E = Challenge;

    fn constant(&mut self, value: Val) -> Val {
        value
    }

    fn ext_constant(&mut self, value: Challenge) -> Challenge {
        value
    }

    fn input(&mut self, value: Val) -> Val {
        value
    }

    fn ext_input(&mut self, value: Challenge) -> Challenge {
        value
    }

    fn lift(&mut self, a: Val) -> Challenge {
        Challenge::from(a)
    }

    fn ext_from_coefficients(&mut self, coefficients: [Val; 4]) -> Challenge {
        Challenge::from_basis_coefficients_fn(|k| coefficients[k])
    }

    fn coefficients(&mut self, a: Challenge) -> [Val; 4] {
        let c = a.as_basis_coefficients_slice();
        [c[0], c[1], c[2], c[3]]
    }

    fn add(&mut self, a: Challenge, b: Challenge) -> Challenge {
        a + b
    }

    fn sub(&mut self, a: Challenge, b: Challenge) -> Challenge {
        a - b
    }

    fn mul(&mut self, a: Challenge, b: Challenge) -> Challenge {
        a * b
    }

    fn mul_add(&mut self, a: Challenge, b: Challenge, c: Challenge) -> Challenge {
        a * b + c
    }

    fn select(&mut self, bit: Val, a: Challenge, b: Challenge) -> Challenge {
        // The builder's arithmetic, so both agree for any bit value.
        (a - b) * bit + b
    }

    fn inv(&mut self, a: Challenge) -> Option<Challenge> {
        a.try_inverse()
    }

    fn is_zero(&mut self, a: Challenge) -> bool {
        a == Challenge::ZERO
    }

    fn base_eq(&mut self, a: Val, b: Val) -> bool {
        a == b
    }

    fn restart_transcript(&mut self) {
        self.challenger = ShardChallenger::new(Val::default_poseidon2_16());
    }

    fn observe(&mut self, value: Val) {
        self.log.push(Event::Observe(value));
        self.challenger.observe(value);
    }

    fn sample(&mut self) -> Val {
        let value: Val = self.challenger.sample();
        self.log.push(Event::Sample(value));
        value
    }

    fn sample_bits(&mut self, bits: usize) -> Vec<Val> {
        let value = self.challenger.sample_bits(bits);
        self.log.push(Event::SampleBits { bits, value });
        (0..bits)
            .map(|k| Val::from_bool(value >> k & 1 == 1))
            .collect()
    }

    fn check_witness(&mut self, bits: usize, witness: Val) -> bool {
        let accepted = self.challenger.check_witness(bits, witness);
        self.log.push(Event::Pow {
            bits,
            witness,
            accepted,
        });
        accepted
    }

    fn verify_opening(
        &mut self,
        _commitment: &[Val],
        commitment: &Commitment,
        dims: &[Dimensions],
        index_bits: &[Vec<Val>],
        rows: &[Vec<Vec<Val>>],
        proof: &MultiProof,
    ) -> bool {
        let indices: Vec<usize> = index_bits.iter().map(|b| self.bits_value(b)).collect();
        let indices = &indices;
        let accepted = self
            .mmcs
            .verify_multi_batch(commitment, dims, indices, rows, proof)
            .is_ok();
        self.log.push(Event::MerkleOpening(MerkleOpening {
            commitment: cap_elements(commitment),
            dims: dims.iter().map(|d| (d.width, d.height)).collect(),
            indices: indices.to_vec(),
            rows: rows.to_vec(),
            accepted,
        }));
        accepted
    }

    fn value(&self, a: Val) -> Val {
        a
    }
}
