//! Running both verifiers on one proof and comparing what they did.
//!
//! [`stock_run`] decodes a shard proof's bytes as a proof of [`RecordedConfig`] and runs the
//! stock `verify_batch` on it (the oracle); [`native_run`] runs [`verify_generic`] with
//! [`Native`]. [`compare`] says where the logs part and whether the verdicts agree.

use std::panic::{AssertUnwindSafe, catch_unwind};

use p3_air::Air;
use p3_batch_stark::common::GlobalPreprocessed;
use p3_batch_stark::folder::VerifierConstraintFolderWithLookups;
use p3_batch_stark::{BatchProof, CommonData, verify_batch};
use p3_lookup::InteractionSymbolicBuilder;

use crate::config::{Challenge, RecordedConfig, ShardConfig, ShardProof, Val, recorded_config};
use crate::error::MirrorError;
use crate::key::MirrorKey;
use crate::log::{Divergence, Event, SharedLog, first_divergence};
use crate::native::Native;
use crate::verifier::verify_generic;

/// A verifier run: its log and its verdict (`Err` carries the reason, as text for the stock
/// verifier, whose error type is Plonky3's).
#[derive(Debug)]
pub struct Run<E> {
    pub log: Vec<Event>,
    pub verdict: Result<(), E>,
}

/// The stock verifier's view of the verifying key: the same data under [`RecordedConfig`].
fn recorded_common(common: &CommonData<ShardConfig>) -> CommonData<RecordedConfig> {
    CommonData::new(
        common.preprocessed.as_ref().map(|g| GlobalPreprocessed {
            commitment: g.commitment.clone(),
            instances: g.instances.clone(),
            matrix_to_instance: g.matrix_to_instance.clone(),
        }),
        common.lookups.clone(),
    )
}

/// Stock `verify_batch` on `proof_bytes` with logging challenger and MMCS.
pub fn stock_run<A>(
    key: &MirrorKey,
    airs: &[A],
    proof_bytes: &[u8],
    public_values: &[Vec<Val>],
    common: &CommonData<ShardConfig>,
) -> Run<String>
where
    A: Air<InteractionSymbolicBuilder<Val, Challenge>>
        + for<'a> Air<VerifierConstraintFolderWithLookups<'a, RecordedConfig>>,
{
    let log = SharedLog::default();
    let config = recorded_config(&key.settings, &log);
    let verdict = match postcard::from_bytes::<BatchProof<RecordedConfig>>(proof_bytes) {
        Err(e) => Err(format!("decode: {e}")),
        Ok(proof) => {
            let common = recorded_common(common);
            catch_unwind(AssertUnwindSafe(|| {
                verify_batch(&config, airs, &proof, public_values, &common)
            }))
            .map_err(|_| "stock verifier panicked".to_string())
            .and_then(|r| r.map_err(|e| format!("{e:?}")))
        }
    };
    Run {
        log: log.events(),
        verdict,
    }
}

/// The native mirror on `proof`.
pub fn native_run(
    key: &MirrorKey,
    proof: &ShardProof,
    public_values: &[Vec<Val>],
) -> Run<MirrorError> {
    let mut ops = Native::new(&key.settings);
    let verdict = verify_generic(&mut ops, key, proof, public_values);
    Run {
        log: ops.into_log(),
        verdict,
    }
}

/// How two runs compare.
#[derive(Debug)]
pub struct Comparison {
    /// Where the logs first differ (`None`: identical).
    pub divergence: Option<Divergence>,
    /// Both accepted, or both rejected.
    pub same_verdict: bool,
}

pub fn compare(stock: &Run<String>, native: &Run<MirrorError>) -> Comparison {
    Comparison {
        divergence: first_divergence(&stock.log, &native.log),
        same_verdict: stock.verdict.is_ok() == native.verdict.is_ok(),
    }
}
