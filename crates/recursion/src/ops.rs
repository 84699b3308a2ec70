//! The operations a batch-STARK verifier performs, as a trait: the verifier
//! ([`crate::verifier::verify_generic`]) is written once over it.
//!
//! - [`crate::native::Native`] computes with values (and logs the transcript and Merkle
//!   events, to be compared with the stock verifier's log).
//! - A circuit builder ("Build", not written yet) will implement the same trait by emitting
//!   recursion-table rows: constants and proof elements become `Const`/`Hint` words, arithmetic
//!   becomes `ExtAlu` rows, the transcript becomes Poseidon2 sponge rows, `verify_opening`
//!   becomes Merkle-path rows over the expanded (unpruned) paths, and every `check_*`/
//!   `is_*` becomes an assertion.
//!
//! Values that steer control flow (query indices, PoW verdicts) are returned as plain Rust values
//! here; a builder returns the value its witness has and records the constraint that pins it.

use p3_field::PrimeCharacteristicRing;
use p3_matrix::Dimensions;

use crate::config::{Challenge, Commitment, MultiProof, Val};

/// The operations of a verifier, over handles `F` (base field) and `E` (extension field).
pub trait Ops {
    type F: Copy + core::fmt::Debug;
    type E: Copy + core::fmt::Debug;

    /// A value fixed by the statement's shape or the configuration.
    fn constant(&mut self, value: Val) -> Self::F;
    fn ext_constant(&mut self, value: Challenge) -> Self::E;
    /// A value read from the proof or the public values.
    fn input(&mut self, value: Val) -> Self::F;
    fn ext_input(&mut self, value: Challenge) -> Self::E;

    /// Base element embedded in the extension.
    fn lift(&mut self, a: Self::F) -> Self::E;
    /// The extension element with these basis coefficients.
    fn ext_from_coefficients(&mut self, coefficients: [Self::F; 4]) -> Self::E;
    /// The basis coefficients of an extension element.
    fn coefficients(&mut self, a: Self::E) -> [Self::F; 4];

    fn add(&mut self, a: Self::E, b: Self::E) -> Self::E;
    fn sub(&mut self, a: Self::E, b: Self::E) -> Self::E;
    fn mul(&mut self, a: Self::E, b: Self::E) -> Self::E;
    /// `a⁻¹`, or `None` for zero (a builder hints the inverse and asserts `a·a⁻¹ = 1`).
    fn inv(&mut self, a: Self::E) -> Option<Self::E>;
    /// Whether `a` is zero (a builder asserts the outcome its witness has).
    fn is_zero(&mut self, a: Self::E) -> bool;
    /// Whether two base handles are equal.
    fn base_eq(&mut self, a: Self::F, b: Self::F) -> bool;

    /// Absorb into the Fiat–Shamir sponge.
    fn observe(&mut self, value: Self::F);
    /// Squeeze from the sponge.
    fn sample(&mut self) -> Self::F;
    /// The low `bits` bits of a squeezed element (canonical decomposition).
    fn sample_bits(&mut self, bits: usize) -> usize;
    /// Proof of work: absorb `witness`, squeeze `bits` bits, and report whether they are zero.
    fn check_witness(&mut self, bits: usize, witness: Self::F) -> bool;

    /// Check a Merkle multi-opening of `rows[query][matrix]` at `indices` against
    /// `commitment` (the rows' leaf hashes and the paths to the root).
    fn verify_opening(
        &mut self,
        commitment: &Commitment,
        dims: &[Dimensions],
        indices: &[usize],
        rows: &[Vec<Vec<Self::F>>],
        proof: &MultiProof,
    ) -> bool;

    /// The value a handle stands for in this run (a builder computes its witness alongside).
    fn value(&self, a: Self::F) -> Val;

    // Derived operations, written once over the primitives above.

    fn ext_zero(&mut self) -> Self::E {
        self.ext_constant(Challenge::ZERO)
    }

    fn neg(&mut self, a: Self::E) -> Self::E {
        let zero = self.ext_zero();
        self.sub(zero, a)
    }

    /// Absorb an extension element, coefficient by coefficient.
    fn observe_ext(&mut self, a: Self::E) {
        for c in self.coefficients(a) {
            self.observe(c);
        }
    }

    /// Squeeze an extension element, coefficient by coefficient.
    fn sample_ext(&mut self) -> Self::E {
        let coefficients = [self.sample(), self.sample(), self.sample(), self.sample()];
        self.ext_from_coefficients(coefficients)
    }

    /// `a^(2^k)`.
    fn exp_power_of_2(&mut self, a: Self::E, k: usize) -> Self::E {
        (0..k).fold(a, |x, _| self.mul(x, x))
    }

    /// `a^e` by square and multiply.
    fn exp_u64(&mut self, a: Self::E, e: u64) -> Self::E {
        let mut result = self.ext_constant(Challenge::ONE);
        let mut base = a;
        let mut e = e;
        while e > 0 {
            if e & 1 == 1 {
                result = self.mul(result, base);
            }
            base = self.mul(base, base);
            e >>= 1;
        }
        result
    }
}
