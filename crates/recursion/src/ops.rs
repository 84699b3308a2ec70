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
//! The verifier's program must not depend on the proof's random values (a fixed program is the
//! recursion layer's verifying key). So query indices are **bit handles**, and everything that
//! depends on an index (query points, the place of a value in its FRI group, Merkle directions)
//! is computed from those bits with [`Ops::select`] and arithmetic, never by branching on them.
//! Verdicts (PoW, Merkle, `is_zero`) are returned as plain Rust values: a builder returns the
//! value its witness has and records the assertion that pins it.

use p3_field::PrimeCharacteristicRing;
use p3_matrix::Dimensions;

use crate::config::{Challenge, Commitment, MultiProof, Val};

/// The operations of a verifier, over handles `F` (base field) and `E` (extension field).
pub trait Ops {
    type F: Copy + core::fmt::Debug + PartialEq;
    type E: Copy + core::fmt::Debug + PartialEq;

    /// A value fixed by the statement's shape or the configuration.
    fn constant(&mut self, value: Val) -> Self::F;
    fn ext_constant(&mut self, value: Challenge) -> Self::E;
    /// A value read from the proof or the public values.
    fn input(&mut self, value: Val) -> Self::F;
    fn ext_input(&mut self, value: Challenge) -> Self::E;
    /// One of the verified proof's public values, in order (a builder makes them the recursion
    /// proof's own public values).
    fn public_input(&mut self, value: Val) -> Self::F {
        self.input(value)
    }

    /// Base element embedded in the extension.
    fn lift(&mut self, a: Self::F) -> Self::E;
    /// The extension element with these basis coefficients.
    fn ext_from_coefficients(&mut self, coefficients: [Self::F; 4]) -> Self::E;
    /// The basis coefficients of an extension element.
    fn coefficients(&mut self, a: Self::E) -> [Self::F; 4];

    fn add(&mut self, a: Self::E, b: Self::E) -> Self::E;
    fn sub(&mut self, a: Self::E, b: Self::E) -> Self::E;
    fn mul(&mut self, a: Self::E, b: Self::E) -> Self::E;
    /// `a·b + c` (one ALU row in a builder).
    fn mul_add(&mut self, a: Self::E, b: Self::E, c: Self::E) -> Self::E {
        let t = self.mul(a, b);
        self.add(t, c)
    }
    /// `Σ_k α^(n−1−k)·values[k]`: an α-reduction of base values, folded in in order (a builder
    /// uses Horner rows, four values each).
    fn horner(&mut self, alpha: Self::E, values: &[Self::F]) -> Self::E {
        let mut acc = self.ext_zero();
        for &v in values {
            let v = self.lift(v);
            acc = self.mul_add(acc, alpha, v);
        }
        acc
    }
    /// `bit ? a : b`, for a `bit` that is 0 or 1 (e.g. from [`Self::sample_bits`]).
    fn select(&mut self, bit: Self::F, a: Self::E, b: Self::E) -> Self::E;
    /// `a⁻¹`, or `None` for zero (a builder hints the inverse and asserts `a·a⁻¹ = 1`).
    fn inv(&mut self, a: Self::E) -> Option<Self::E>;
    /// Whether `a` is zero (a builder asserts the outcome its witness has).
    fn is_zero(&mut self, a: Self::E) -> bool;
    /// Whether two base handles are equal.
    fn base_eq(&mut self, a: Self::F, b: Self::F) -> bool;

    /// Start a fresh Fiat–Shamir sponge (the all-zero state): each proof verified, and each
    /// hash of the aggregation tree ([`crate::chain`]), has a sponge of its own.
    fn restart_transcript(&mut self);
    /// Absorb into the Fiat–Shamir sponge.
    fn observe(&mut self, value: Self::F);
    /// Squeeze from the sponge.
    fn sample(&mut self) -> Self::F;
    /// The low `bits` bits of a squeezed element (of its canonical decomposition), least
    /// significant first.
    fn sample_bits(&mut self, bits: usize) -> Vec<Self::F>;
    /// Proof of work: absorb `witness`, squeeze `bits` bits, and report whether they are zero.
    fn check_witness(&mut self, bits: usize, witness: Self::F) -> bool;

    /// Check a Merkle multi-opening of `rows[query][matrix]` against a commitment: the rows'
    /// leaf hashes and the paths to the root. `commitment` is the cap's elements as handles
    /// (what the transcript observed) and `native_commitment` the same cap as a value;
    /// `index_bits[query]` is the leaf index, least significant bit first, as many bits as the
    /// tallest matrix has index bits. `proof` is the pruned multi-opening the proof carries (a
    /// builder expands it into one full path per query).
    fn verify_opening(
        &mut self,
        commitment: &[Self::F],
        native_commitment: &Commitment,
        dims: &[Dimensions],
        index_bits: &[Vec<Self::F>],
        rows: &[Vec<Vec<Self::F>>],
        proof: &MultiProof,
    ) -> bool;

    /// The value a handle stands for in this run (a builder computes its witness alongside).
    fn value(&self, a: Self::F) -> Val;

    /// Marks where a phase of the verifier begins (a builder counts its rows per phase).
    fn phase(&mut self, _name: &'static str) {}

    // Derived operations, written once over the primitives above.

    /// The number whose bits (least significant first) these handles hold, in this run.
    fn bits_value(&self, bits: &[Self::F]) -> usize {
        bits.iter().rev().fold(0usize, |acc, &b| {
            (acc << 1) | usize::from(p3_field::PrimeField32::as_canonical_u32(&self.value(b)) != 0)
        })
    }

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
