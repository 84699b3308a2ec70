//! FRI parameters and the security level they are claimed to give.
//!
//! The level reported is the *conjectured (ethSTARK toy-problem) security*: under the ethSTARK
//! conjecture each FRI query on a rate-`2^-log_blowup` code lets a cheating prover through with
//! probability `2^-log_blowup`, so `num_queries` queries plus `query_pow_bits` of grinding give
//!
//! ```text
//! bits = min(log_blowup * num_queries + query_pow_bits,  floor(log2 |EF|))
//! ```
//!
//! where the second term caps the level at the size of the challenge (extension) field, since
//! every challenge is drawn from it. This is a *conjectured* figure, not a proven bound.
//!
//! For comparison the report also carries Plonky3's own, stricter low-degree-test estimate in the
//! "random words" regime (`p3_uni_stark::ConjecturedSecurity::compute_ldt_only`, eprint 2025/2010
//! §1.5), with the Merkle digest's collision resistance (8 elements of ~31 bits → 124 bits).

use core::fmt;

use crate::field::{EXTENSION_DEGREE, HASH_RATE, ProverField};

/// Every knob of the commitment scheme and the transcript that prover and verifier must share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FriSettings {
    /// log2 of the Reed–Solomon blowup (code rate `2^-log_blowup`).
    pub log_blowup: usize,
    /// log2 of the length of the final FRI polynomial sent in the clear.
    pub log_final_poly_len: usize,
    /// Maximum log2 folding arity per FRI round.
    pub max_log_arity: usize,
    /// Number of FRI queries.
    pub num_queries: usize,
    /// Grinding before the batching challenge of the opening argument.
    pub batch_pow_bits: usize,
    /// Grinding before each FRI folding challenge.
    pub commit_pow_bits: usize,
    /// Grinding before the FRI query indices are drawn.
    pub query_pow_bits: usize,
    /// Grinding before the LogUp challenges.
    pub lookup_pow_bits: usize,
    /// Grinding before the out-of-domain point.
    pub ood_pow_bits: usize,
    /// Merkle cap height (0 = a single root).
    pub merkle_cap_height: usize,
}

impl FriSettings {
    /// The default: blowup 4, 42 queries, 16 bits of query grinding: the recursion layers'
    /// settings (`slotproof_recursion::LEAF_SETTINGS`).
    ///
    /// 2 x 42 + 16 = 100 conjectured bits, 98 by Plonky3's stricter estimate, exactly the leaf
    /// layer's: a block proof is as strong as its weakest layer, so the shard layer needs no
    /// more. Blowup 4 rather than 2 with 85 queries: shard proofs are verified inside leaf
    /// recursion proofs, and half the queries halve the leaf (Poseidon2 rows 41,880 -> 22,744
    /// on mainnet block 21688509's shard; leaf CPU time -44 %) and shrink the shard proof by
    /// ~41 %, for ~+44 % CPU time in the shard layer's LDE and Merkle hashing (net: less CPU
    /// time per shard, shard + leaf; figures in `crates/prover/README.md`). At blowup 4 the
    /// quotient domain of the CPU and ALU chips (4 quotient chunks) is their LDE domain, so
    /// nothing is re-extended.
    pub const DEFAULT: Self = Self {
        log_blowup: 2,
        log_final_poly_len: 0,
        max_log_arity: 1,
        num_queries: 42,
        batch_pow_bits: 0,
        commit_pow_bits: 0,
        query_pow_bits: 16,
        lookup_pow_bits: 0,
        ood_pow_bits: 0,
        merkle_cap_height: 0,
    };

    /// The conjectured security of these settings over base field `F`.
    pub fn security<F: ProverField>(&self) -> SecurityLevel {
        SecurityLevel::new(self, F::NAME, F::ORDER_U64)
    }

    /// Shorthand for `self.security::<F>().conjectured_bits`.
    pub fn conjectured_security_bits<F: ProverField>(&self) -> usize {
        self.security::<F>().conjectured_bits
    }
}

impl Default for FriSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The terms of the conjectured (ethSTARK toy-problem) security formula, for printing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityLevel {
    /// Base field name.
    pub field: &'static str,
    /// `log_blowup * num_queries + query_pow_bits`.
    pub query_bits: usize,
    /// `floor(log2 |EF|)` for the degree-4 extension.
    pub extension_field_bits: usize,
    /// `min(query_bits, extension_field_bits)`.
    pub conjectured_bits: usize,
    /// Plonky3's random-words-regime estimate of the low-degree test alone (a cross-check).
    pub p3_random_words_ldt_bits: usize,
    /// The settings the figure was computed from.
    pub settings: FriSettings,
}

impl SecurityLevel {
    fn new(settings: &FriSettings, field: &'static str, field_order: u64) -> Self {
        let query_bits = settings.log_blowup * settings.num_queries + settings.query_pow_bits;
        let field_bits = (field_order as f64).log2();
        let extension_field_bits = (EXTENSION_DEGREE as f64 * field_bits).floor() as usize;
        // A digest of HASH_RATE field elements; collisions cost the square root of its size.
        let collision_resistance = (HASH_RATE as f64 * field_bits / 2.0).floor() as usize;
        let p3_random_words_ldt_bits = p3_uni_stark::ConjecturedSecurity::compute_ldt_only(
            settings.log_blowup,
            settings.num_queries,
            settings.query_pow_bits,
            collision_resistance,
            extension_field_bits,
        )
        .security_bits;
        Self {
            p3_random_words_ldt_bits,
            field,
            query_bits,
            extension_field_bits,
            conjectured_bits: query_bits.min(extension_field_bits),
            settings: *settings,
        }
    }
}

impl fmt::Display for SecurityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        write!(
            f,
            "{} (x^4 extension): {} bits conjectured (ethSTARK toy-problem) security = \
             min(log_blowup {} x queries {} + query PoW {} = {}, extension field {} bits); \
             Plonky3 random-words LDT estimate {} bits",
            self.field,
            self.conjectured_bits,
            s.log_blowup,
            s.num_queries,
            s.query_pow_bits,
            self.query_bits,
            self.extension_field_bits,
            self.p3_random_words_ldt_bits,
        )
    }
}
