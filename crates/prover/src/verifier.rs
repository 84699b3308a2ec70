//! Verification (delegated to the stock `p3_batch_stark::verify_batch`) and proof bytes.
//!
//! A verifier faces untrusted bytes, so everything here returns an error instead of panicking:
//! the proof's shape is checked against the AIRs before the stock verifier sees it, and the
//! stock verifier itself runs behind `catch_unwind` as a last line of defence against inputs it
//! asserts on rather than rejects.

use std::panic::{AssertUnwindSafe, catch_unwind};

use p3_air::Air;
use p3_batch_stark::folder::VerifierConstraintFolderWithLookups;
use p3_batch_stark::{BatchProof, CommonData, ProverData, StarkGenericConfig, Val, verify_batch};
use p3_challenger::GrindingChallenger;
use p3_commit::UnivariateStarkPcs;
use p3_field::{Algebra, BasedVectorSpace, PrimeField64};
use p3_lookup::InteractionSymbolicBuilder;
use p3_uni_stark::SymbolicExpressionExt;

use crate::error::VerifyError;
use crate::prover::{MIN_LOG_HEIGHT, ShardProver};

/// Serialise a proof with postcard.
pub fn proof_to_bytes<SC: StarkGenericConfig>(
    proof: &BatchProof<SC>,
) -> Result<Vec<u8>, postcard::Error> {
    postcard::to_allocvec(proof)
}

/// Deserialise a proof; trailing bytes are an error (one encoding per proof).
pub fn proof_from_bytes<SC: StarkGenericConfig>(
    bytes: &[u8],
) -> Result<BatchProof<SC>, VerifyError> {
    let (proof, rest) = postcard::take_from_bytes::<BatchProof<SC>>(bytes)?;
    if !rest.is_empty() {
        return Err(VerifyError::TrailingBytes(rest.len()));
    }
    Ok(proof)
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "verifier panicked".into())
}

impl<SC, B> ShardProver<SC, B>
where
    SC: StarkGenericConfig,
    Val<SC>: PrimeField64,
    SymbolicExpressionExt<Val<SC>, SC::Challenge>: Algebra<SC::Challenge>,
    SC::Challenge: BasedVectorSpace<Val<SC>>,
    SC::Challenger: GrindingChallenger<Witness = Val<SC>>,
{
    /// The tallest trace a proof may claim: the PCS's two-adicity less the blowup.
    fn max_verified_log_height(&self) -> usize {
        self.config()
            .pcs()
            .log_max_trace_height()
            .saturating_sub(self.settings().log_blowup.max(1))
    }

    /// Verify a proof of `airs` with `public_values` using the stock batch-STARK verifier.
    pub fn verify<A>(
        &self,
        airs: &[A],
        proof: &BatchProof<SC>,
        public_values: &[Vec<Val<SC>>],
    ) -> Result<(), VerifyError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>>
            + for<'a> Air<VerifierConstraintFolderWithLookups<'a, SC>>,
    {
        check_proof_shape(airs, proof, public_values, self.max_verified_log_height())?;

        // The lookup layout is derived from the AIRs at the proof's (now range-checked) sizes,
        // exactly as the prover's key generation did.
        let config = self.config();
        let prover_data = catch_unwind(AssertUnwindSafe(|| {
            ProverData::from_airs_and_degrees(config, airs, &proof.degree_bits)
        }))
        .map_err(|p| VerifyError::Malformed(panic_message(p)))?
        .map_err(|e| VerifyError::Malformed(format!("{e:?}")))?;

        self.verify_with_key(airs, proof, public_values, &prover_data.common)
    }

    /// Verify against a verifying key (`ShardKey::common`, or Plonky3's `CommonData`): the
    /// lookup layout and the preprocessed commitment are taken from `key`, not recomputed.
    pub fn verify_with_key<A>(
        &self,
        airs: &[A],
        proof: &BatchProof<SC>,
        public_values: &[Vec<Val<SC>>],
        key: &CommonData<SC>,
    ) -> Result<(), VerifyError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>>
            + for<'a> Air<VerifierConstraintFolderWithLookups<'a, SC>>,
    {
        check_proof_shape(airs, proof, public_values, self.max_verified_log_height())?;
        if key.lookups.len() != airs.len() {
            return Err(VerifyError::Malformed(format!(
                "a key for {} AIRs, {} given",
                key.lookups.len(),
                airs.len()
            )));
        }
        let config = self.config();
        catch_unwind(AssertUnwindSafe(|| {
            verify_batch(config, airs, proof, public_values, key)
        }))
        .map_err(|p| VerifyError::Malformed(panic_message(p)))?
        .map_err(|e| VerifyError::Rejected(format!("{e:?}")))
    }

    /// Decode `bytes` and verify the proof; never panics on arbitrary input.
    pub fn verify_bytes<A>(
        &self,
        airs: &[A],
        bytes: &[u8],
        public_values: &[Vec<Val<SC>>],
    ) -> Result<(), VerifyError>
    where
        A: Air<InteractionSymbolicBuilder<Val<SC>, SC::Challenge>>
            + for<'a> Air<VerifierConstraintFolderWithLookups<'a, SC>>,
    {
        let proof = proof_from_bytes::<SC>(bytes)?;
        self.verify(airs, &proof, public_values)
    }
}

/// Counts and sizes a well-formed proof of these AIRs must have. The stock verifier checks the
/// finer structure (opened-value widths, FRI shape) itself.
fn check_proof_shape<SC: StarkGenericConfig, A: p3_air::BaseAir<Val<SC>>>(
    airs: &[A],
    proof: &BatchProof<SC>,
    public_values: &[Vec<Val<SC>>],
    max_log_height: usize,
) -> Result<(), VerifyError> {
    let n = airs.len();
    if n == 0 {
        return Err(VerifyError::Malformed("no AIRs".into()));
    }
    let counts = [
        ("degree_bits", proof.degree_bits.len()),
        ("opened instances", proof.opened_values.instances.len()),
        ("lookup terminals", proof.lookup_terminals.len()),
        ("public value vectors", public_values.len()),
    ];
    for (what, count) in counts {
        if count != n {
            return Err(VerifyError::Malformed(format!(
                "{count} {what} for {n} AIRs"
            )));
        }
    }
    for (i, (air, &bits)) in airs.iter().zip(&proof.degree_bits).enumerate() {
        if !(MIN_LOG_HEIGHT..=max_log_height).contains(&bits) {
            return Err(VerifyError::Malformed(format!(
                "instance {i}: degree bits {bits} outside {MIN_LOG_HEIGHT}..={max_log_height}"
            )));
        }
        if public_values[i].len() != air.num_public_values() {
            return Err(VerifyError::Malformed(format!(
                "instance {i}: {} public values, the AIR has {}",
                public_values[i].len(),
                air.num_public_values()
            )));
        }
        let opened = &proof.opened_values.instances[i].base_opened_values;
        if opened.trace_local.len() != air.width() {
            return Err(VerifyError::Malformed(format!(
                "instance {i}: {} opened trace values for width {}",
                opened.trace_local.len(),
                air.width()
            )));
        }
    }
    Ok(())
}
