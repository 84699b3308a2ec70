//! The field and configuration types: KoalaBear with its degree-4 extension, the project's
//! shard-proof configuration (`slotproof_prover::ProverConfig`), and the same configuration with
//! recording wrappers around the challenger and the MMCS.

use p3_commit::ExtensionMmcs;
use p3_fri::{FriParameters, TwoAdicFriPcs};
use p3_koala_bear::KoalaBear;
use p3_uni_stark::StarkConfig;
use slotproof_prover::field::{
    Challenge as ChallengeOf, Challenger as ChallengerOf, CpuDft, LeafHash, NodeCompress, ValMmcs,
};
use slotproof_prover::{FriSettings, ProverField};

use crate::log::SharedLog;
use crate::recording::{RecordingChallenger, RecordingMmcs};

/// The base field of the proofs verified here (the design's field; see the README).
pub type Val = KoalaBear;
/// The challenge field.
pub type Challenge = ChallengeOf<Val>;
/// The shard-proof configuration.
pub type ShardConfig = slotproof_prover::ProverConfig<Val>;
/// A shard proof.
pub type ShardProof = p3_batch_stark::BatchProof<ShardConfig>;
/// The Merkle MMCS of traces (Poseidon2-16, binary, 8-element digests).
pub type InputMmcs = ValMmcs<Val>;
/// The project's challenger (duplex sponge, canonical PoW witnesses).
pub type ShardChallenger = ChallengerOf<Val>;
/// A commitment (Merkle cap).
pub type Commitment = <InputMmcs as p3_commit::Mmcs<Val>>::Commitment;
/// A Merkle multi-opening proof.
pub type MultiProof = <InputMmcs as p3_commit::Mmcs<Val>>::MultiProof;

/// The trace MMCS with every opening check logged.
pub type RecordedMmcs = RecordingMmcs<InputMmcs>;
/// The FRI MMCS over it (extension rows flattened to base rows, then logged).
pub type RecordedChallengeMmcs = ExtensionMmcs<Val, Challenge, RecordedMmcs>;
/// The PCS with both MMCS logged.
pub type RecordedPcs = TwoAdicFriPcs<Val, CpuDft<Val>, RecordedMmcs, RecordedChallengeMmcs>;
/// The challenger with every call logged.
pub type RecordedChallenger = RecordingChallenger<ShardChallenger>;
/// The shard-proof configuration with recording challenger and MMCS: proofs of
/// [`ShardConfig`] deserialise as proofs of this configuration (the wrappers change no type
/// that is serialised).
pub type RecordedConfig = StarkConfig<RecordedPcs, Challenge, RecordedChallenger>;

/// The trace MMCS and FRI parameters for `settings`, exactly as the prover builds them.
pub fn input_mmcs(settings: &FriSettings) -> InputMmcs {
    let perm = Val::default_poseidon2_16();
    InputMmcs::new(
        LeafHash::<Val>::new(perm.clone()),
        NodeCompress::<Val>::new(perm),
        settings.merkle_cap_height,
    )
}

/// FRI parameters over any FRI MMCS, from the prover's settings.
pub fn fri_parameters<M>(settings: &FriSettings, mmcs: M) -> FriParameters<M> {
    FriParameters {
        log_blowup: settings.log_blowup,
        log_final_poly_len: settings.log_final_poly_len,
        max_log_arity: settings.max_log_arity,
        num_queries: settings.num_queries,
        batch_proof_of_work_bits: settings.batch_pow_bits,
        commit_proof_of_work_bits: settings.commit_pow_bits,
        query_proof_of_work_bits: settings.query_pow_bits,
        mmcs,
    }
}

/// The recording configuration for `settings`, logging into `log`.
pub fn recorded_config(settings: &FriSettings, log: &SharedLog) -> RecordedConfig {
    let mmcs = RecordingMmcs::new(input_mmcs(settings), log.clone());
    let fri = fri_parameters(settings, RecordedChallengeMmcs::new(mmcs.clone()));
    let pcs = RecordedPcs::new(CpuDft::<Val>::default(), mmcs, fri);
    let challenger = RecordingChallenger::new(
        ShardChallenger::new(Val::default_poseidon2_16()),
        log.clone(),
    );
    StarkConfig::new(pcs, challenger)
        .with_lookup_proof_of_work_bits(settings.lookup_pow_bits)
        .with_ood_proof_of_work_bits(settings.ood_pow_bits)
}
