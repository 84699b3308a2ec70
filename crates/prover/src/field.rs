//! The two supported base fields and the Plonky3 configuration built over each.
//!
//! Both fields share one configuration shape (degree-4 binomial extension, Poseidon2-16 with the
//! default, recursion-friendly round constants, a Poseidon2 Merkle MMCS, a duplex challenger and
//! the two-adic FRI PCS); only the field and its permutation differ. [`ProverField`] captures
//! exactly that difference so that everything above it is written once.

use p3_baby_bear::{BabyBear, Poseidon2BabyBear, default_babybear_poseidon2_16};
use p3_commit::ExtensionMmcs;
use p3_dft::Radix2DitParallel;
use p3_field::extension::{BinomialExtensionField, BinomiallyExtendable};
use p3_field::{Field, PrimeField64, TwoAdicField};
use p3_fri::{FriParameters, TwoAdicFriPcs};
use p3_koala_bear::{KoalaBear, Poseidon2KoalaBear, default_koalabear_poseidon2_16};
use p3_merkle_tree::MerkleTreeMmcs;
use p3_symmetric::{CryptographicPermutation, PaddingFreeSponge, TruncatedPermutation};
use p3_uni_stark::StarkConfig;

use crate::challenger::CanonicalChallenger;
use crate::security::FriSettings;

/// Poseidon2 state width used for hashing, compression and the challenger.
pub const PERM_WIDTH: usize = 16;
/// Sponge rate (and digest length) in field elements.
pub const HASH_RATE: usize = 8;
/// Degree of the binomial extension used for challenges.
pub const EXTENSION_DEGREE: usize = 4;

/// A base field the prover supports, together with its Poseidon2-16 permutation.
pub trait ProverField:
    PrimeField64 + TwoAdicField + BinomiallyExtendable<EXTENSION_DEGREE>
{
    /// The width-16 Poseidon2 permutation over this field (scalar and SIMD-packed states).
    type Perm: CryptographicPermutation<[Self; PERM_WIDTH]>
        + CryptographicPermutation<[<Self as Field>::Packing; PERM_WIDTH]>
        + Clone
        + Send
        + Sync
        + 'static;

    /// Human-readable field name, for reports.
    const NAME: &'static str;

    /// The permutation with Plonky3's default round constants. These are the constants the
    /// recursion circuits hard-code, so proofs stay recursively verifiable.
    fn default_poseidon2_16() -> Self::Perm;
}

impl ProverField for KoalaBear {
    type Perm = Poseidon2KoalaBear<PERM_WIDTH>;
    const NAME: &'static str = "KoalaBear";
    fn default_poseidon2_16() -> Self::Perm {
        default_koalabear_poseidon2_16()
    }
}

impl ProverField for BabyBear {
    type Perm = Poseidon2BabyBear<PERM_WIDTH>;
    const NAME: &'static str = "BabyBear";
    fn default_poseidon2_16() -> Self::Perm {
        default_babybear_poseidon2_16()
    }
}

/// Challenge field: the degree-4 binomial extension.
pub type Challenge<F> = BinomialExtensionField<F, EXTENSION_DEGREE>;
/// Leaf hash: sponge over Poseidon2-16, rate 8, 8-element digest.
pub type LeafHash<F> =
    PaddingFreeSponge<<F as ProverField>::Perm, PERM_WIDTH, HASH_RATE, HASH_RATE>;
/// Node compression: 2-to-1 truncated Poseidon2-16.
pub type NodeCompress<F> = TruncatedPermutation<<F as ProverField>::Perm, 2, HASH_RATE, PERM_WIDTH>;
/// Merkle MMCS over base-field matrices (binary tree, 8-element digests).
pub type ValMmcs<F> = MerkleTreeMmcs<
    <F as Field>::Packing,
    <F as Field>::Packing,
    LeafHash<F>,
    NodeCompress<F>,
    2,
    HASH_RATE,
>;
/// MMCS over extension-field matrices (FRI codewords), flattened onto [`ValMmcs`].
pub type ChallengeMmcs<F> = ExtensionMmcs<F, Challenge<F>, ValMmcs<F>>;
/// Fiat–Shamir challenger: Plonky3's duplex sponge, with canonical (smallest) PoW witnesses.
pub type Challenger<F> = CanonicalChallenger<F, <F as ProverField>::Perm>;
/// The DFT the CPU PCS uses for coset LDEs.
pub type CpuDft<F> = Radix2DitParallel<F>;
/// The polynomial commitment scheme.
pub type Pcs<F> = TwoAdicFriPcs<F, CpuDft<F>, ValMmcs<F>, ChallengeMmcs<F>>;
/// The full STARK configuration for field `F`.
pub type ProverConfig<F> = StarkConfig<Pcs<F>, Challenge<F>, Challenger<F>>;

/// The Merkle MMCS over traces and the FRI parameters for these settings. The CPU backend builds
/// its own copies (the PCS keeps its fields private); construction is deterministic, so they are
/// the very same commitment scheme the configuration uses.
pub fn fri_components<F: ProverField>(
    settings: &FriSettings,
) -> (ValMmcs<F>, FriParameters<ChallengeMmcs<F>>) {
    let perm = F::default_poseidon2_16();
    let hash = LeafHash::<F>::new(perm.clone());
    let compress = NodeCompress::<F>::new(perm);
    let val_mmcs = ValMmcs::<F>::new(hash, compress, settings.merkle_cap_height);
    let fri = FriParameters {
        log_blowup: settings.log_blowup,
        log_final_poly_len: settings.log_final_poly_len,
        max_log_arity: settings.max_log_arity,
        num_queries: settings.num_queries,
        batch_proof_of_work_bits: settings.batch_pow_bits,
        commit_proof_of_work_bits: settings.commit_pow_bits,
        query_proof_of_work_bits: settings.query_pow_bits,
        mmcs: ChallengeMmcs::<F>::new(val_mmcs.clone()),
    };
    (val_mmcs, fri)
}

/// Build the STARK configuration for field `F` with the given FRI settings.
pub fn stark_config<F: ProverField>(settings: &FriSettings) -> ProverConfig<F> {
    let (val_mmcs, fri) = fri_components::<F>(settings);
    let pcs = Pcs::<F>::new(CpuDft::<F>::default(), val_mmcs, fri);
    StarkConfig::new(pcs, Challenger::<F>::new(F::default_poseidon2_16()))
        .with_lookup_proof_of_work_bits(settings.lookup_pow_bits)
        .with_ood_proof_of_work_bits(settings.ood_pow_bits)
}
