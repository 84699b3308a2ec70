//! What the mirror knows before it reads a proof: per instance, the AIR's shape and its compiled
//! constraint program, the lookup layout and the preprocessed commitment (the verifying key).

use p3_air::Air;
use p3_batch_stark::CommonData;
use p3_lookup::{InteractionSymbolicBuilder, Lookup};
use slotproof_prover::program::ConstraintProgram;
use slotproof_prover::{CpuShardProver, FriSettings, ShardProver};

use crate::config::{Challenge, Commitment, ShardConfig, Val};
use crate::error::MirrorError;

/// One instance as the verifier sees it.
#[derive(Clone, Debug)]
pub struct InstanceShape {
    pub width: usize,
    pub preprocessed_width: usize,
    pub num_public_values: usize,
    pub opens_next_row: bool,
    pub opens_preprocessed_next_row: bool,
    pub lookups: Vec<Lookup<Val>>,
    pub log_quotient_chunks: usize,
    /// AIR + LogUp constraints over the row `[main | preprocessed]`, as the prover compiles them.
    pub program: ConstraintProgram<Val, Challenge>,
}

/// Where an instance's preprocessed matrix sits in the preprocessed commitment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreprocessedMeta {
    pub matrix_index: usize,
    pub width: usize,
    pub degree_bits: usize,
}

/// The preprocessed commitment and its layout.
#[derive(Clone, Debug)]
pub struct PreprocessedKey {
    pub commitment: Commitment,
    pub instances: Vec<Option<PreprocessedMeta>>,
    pub matrix_to_instance: Vec<usize>,
}

/// Everything fixed for a list of AIRs at given heights.
#[derive(Clone, Debug)]
pub struct MirrorKey {
    pub settings: FriSettings,
    pub instances: Vec<InstanceShape>,
    pub preprocessed: Option<PreprocessedKey>,
}

impl MirrorKey {
    /// The key for `airs` at trace heights `2^degree_bits[i]`, with the lookup layout and
    /// preprocessed commitment of `common` (what the stock verifier is given).
    pub fn new<A>(
        settings: FriSettings,
        airs: &[A],
        degree_bits: &[usize],
        common: &CommonData<ShardConfig>,
    ) -> Result<Self, MirrorError>
    where
        A: Air<InteractionSymbolicBuilder<Val, Challenge>>,
    {
        if airs.len() != degree_bits.len() || airs.len() != common.lookups.len() {
            return Err(MirrorError::Shape(format!(
                "{} AIRs, {} degree bits, {} lookup lists",
                airs.len(),
                degree_bits.len(),
                common.lookups.len()
            )));
        }
        let prover: CpuShardProver<Val> = ShardProver::cpu(settings);
        let programs = prover
            .instance_programs(airs, degree_bits)
            .map_err(|e| MirrorError::Shape(e.to_string()))?;
        let instances = airs
            .iter()
            .zip(programs)
            .zip(&common.lookups)
            .map(|((air, program), lookups)| InstanceShape {
                width: air.width(),
                preprocessed_width: air.preprocessed_width(),
                num_public_values: air.num_public_values(),
                opens_next_row: !air.main_next_row_columns().is_empty(),
                opens_preprocessed_next_row: !air.preprocessed_next_row_columns().is_empty(),
                lookups: lookups.to_vec(),
                log_quotient_chunks: program.log_quotient_chunks,
                program: program.program,
            })
            .collect();
        let preprocessed = common.preprocessed.as_ref().map(|g| PreprocessedKey {
            commitment: g.commitment.clone(),
            instances: g
                .instances
                .iter()
                .map(|m| {
                    m.as_ref().map(|m| PreprocessedMeta {
                        matrix_index: m.matrix_index,
                        width: m.width,
                        degree_bits: m.degree_bits,
                    })
                })
                .collect(),
            matrix_to_instance: g.matrix_to_instance.clone(),
        });
        Ok(Self {
            settings,
            instances,
            preprocessed,
        })
    }
}
