//! The **leaf** of the aggregation tree: one recursion proof that one shard proof verifies.
//!
//! [`build_leaf`] runs [`crate::verify_generic`] through [`crate::build::Build`] on a shard proof: the emitted
//! [`Program`] is the leaf's circuit (its tables' preprocessed columns, so its commitment is the
//! leaf's verifying key; it depends only on the shard's shape), and the hinted words and the
//! shard's public values are its witness. [`prove_leaf`] proves the recursion tables on any
//! [`Backend`] of the project's prover; [`verify_leaf`] checks the recursion proof with the
//! verifying key made from the circuit alone. The shard's public values are the leaf's own
//! public values (the `Public` table reads them), so a verified leaf binds the shard's block,
//! subblock and boundary claims.

use std::time::{Duration, Instant};

use slotproof_prover::prover::ShardKey;
use slotproof_prover::{Backend, FriSettings, ProveError, ShardProver, VerifyError};
use thiserror::Error;

use crate::build::BuildError;
use crate::config::{Challenge, ShardConfig, ShardProof, Val};
use crate::error::MirrorError;
use crate::key::MirrorKey;
use crate::node::{Child, build_node};
use crate::tables::RecursionAir;
use crate::tables::program::{Program, ProgramError, TABLE_NAMES};

/// FRI settings of the recursion layers (design §4: blowup 4, 42 queries, 16 bits of query
/// grinding: 2·42 + 16 = 100 conjectured bits by the toy formula, like the shard layer's).
pub const LEAF_SETTINGS: FriSettings = FriSettings {
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

/// Why a leaf cannot be made or does not verify.
#[derive(Debug, Error)]
pub enum LeafError {
    /// The shard proof itself is rejected (the native verdict of the verifier being compiled).
    #[error("the shard proof does not verify: {0}")]
    ShardRejected(MirrorError),
    #[error("the leaf circuit cannot be built: {0}")]
    Build(#[from] BuildError),
    /// Running the circuit on its witness failed (e.g. a failed assertion naming its op).
    #[error("the leaf circuit's witness: {0}")]
    Program(#[from] ProgramError),
    #[error("proving the leaf: {0}")]
    Prove(#[from] ProveError),
    #[error("the leaf proof does not verify: {0}")]
    Verify(#[from] VerifyError),
}

/// The leaf circuit for one shard shape: the recursion program, which is the verifying key.
/// Equal circuits (the same program and public-value count) have the same key.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LeafCircuit {
    pub program: Program,
    /// How many public values the verified shard has (and so the leaf).
    pub num_public_values: usize,
}

/// The witness of one leaf: the program's hinted words and the shard's public values.
#[derive(Clone, Debug)]
pub struct LeafWitness {
    pub hints: Vec<Challenge>,
    pub public_values: Vec<Val>,
}

/// A leaf proof: a batch-STARK proof over the recursion tables, and its public values (the
/// verified shard's, flattened in instance order).
pub struct LeafProof {
    pub proof: ShardProof,
    pub public_values: Vec<Val>,
}

/// Rows per recursion table of a leaf (before padding to a power of two: the used rows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableRows {
    pub table: &'static str,
    pub rows: usize,
    pub padded_rows: usize,
}

/// Compile the verification of `proof` (of the statement `key`, with `public_values` per
/// instance) into the leaf circuit and its witness. A proof the verifier rejects is
/// [`LeafError::ShardRejected`] naming the step.
pub fn build_leaf(
    key: &MirrorKey,
    proof: &ShardProof,
    public_values: &[Vec<Val>],
) -> Result<(LeafCircuit, LeafWitness), LeafError> {
    build_node(
        key,
        &[Child {
            proof,
            public_values,
        }],
    )
}

/// The circuit and witness a finished [`crate::build::Build`] holds (every node of the tree is
/// made this way).
pub(crate) fn into_circuit(
    build: crate::build::Build,
) -> Result<(LeafCircuit, LeafWitness), BuildError> {
    let (program, hints, public_values) = build.finish_with_publics()?;
    Ok((
        LeafCircuit {
            num_public_values: public_values.len(),
            program,
        },
        LeafWitness {
            hints,
            public_values,
        },
    ))
}

impl LeafCircuit {
    /// The recursion tables of this circuit, in batch order.
    pub fn airs(&self) -> Vec<RecursionAir> {
        self.program.all_airs(self.num_public_values)
    }

    /// The used and padded rows of every table.
    pub fn rows(&self) -> Vec<TableRows> {
        let padded = self.program.table_rows();
        TABLE_NAMES
            .into_iter()
            .zip(self.program.used_rows())
            .zip(padded)
            .map(|((table, rows), padded_rows)| TableRows {
                table,
                rows,
                padded_rows,
            })
            .collect()
    }

    /// Public values per table instance: the `Public` table carries the shard's.
    pub fn instance_public_values(&self, public_values: &[Val]) -> Vec<Vec<Val>> {
        self.airs()
            .iter()
            .map(|air| match air {
                RecursionAir::Public(_) => public_values.to_vec(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// The verifying key: the recursion tables' preprocessed commitment at their heights.
    pub fn keygen<B: Backend<ShardConfig>>(
        &self,
        prover: &ShardProver<ShardConfig, B>,
    ) -> Result<ShardKey<ShardConfig, B::Committed>, LeafError> {
        let airs = self.airs();
        let heights = self.log_heights();
        Ok(prover.keygen(&airs, &heights)?)
    }

    fn log_heights(&self) -> Vec<usize> {
        self.rows()
            .iter()
            .map(|r| r.padded_rows.trailing_zeros() as usize)
            .collect()
    }
}

/// A proven leaf and what it cost.
pub struct ProvenLeaf {
    pub proof: LeafProof,
    /// Witness generation (running the circuit) and proving.
    pub witness_time: Duration,
    pub prove_time: Duration,
}

/// Prove the leaf: run the circuit on the witness, then prove every recursion table in one
/// batch with the circuit's key.
pub fn prove_leaf<B: Backend<ShardConfig>>(
    prover: &ShardProver<ShardConfig, B>,
    key: &ShardKey<ShardConfig, B::Committed>,
    circuit: &LeafCircuit,
    witness: &LeafWitness,
) -> Result<ProvenLeaf, LeafError> {
    let start = Instant::now();
    // The run carries the tables' AIRs and public values too: nothing is built twice.
    let run = circuit
        .program
        .run_tables(&witness.hints, &witness.public_values)?;
    let witness_time = start.elapsed();
    let start = Instant::now();
    let proof = prover.prove_with_key(key, &run.airs, &run.traces, &run.public_values)?;
    Ok(ProvenLeaf {
        proof: LeafProof {
            proof,
            public_values: witness.public_values.clone(),
        },
        witness_time,
        prove_time: start.elapsed(),
    })
}

/// Verify a leaf proof against the circuit's verifying key (made from the circuit alone: a
/// proof of another circuit does not verify).
pub fn verify_leaf<B: Backend<ShardConfig>>(
    prover: &ShardProver<ShardConfig, B>,
    key: &ShardKey<ShardConfig, B::Committed>,
    circuit: &LeafCircuit,
    proof: &LeafProof,
) -> Result<(), LeafError> {
    let airs = circuit.airs();
    let public_values = circuit.instance_public_values(&proof.public_values);
    if public_values.iter().map(Vec::len).sum::<usize>() != circuit.num_public_values {
        return Err(LeafError::Verify(VerifyError::Malformed(format!(
            "{} public values for a leaf of {}",
            proof.public_values.len(),
            circuit.num_public_values
        ))));
    }
    prover.verify_with_key(&airs, &proof.proof, &public_values, key.common())?;
    Ok(())
}
