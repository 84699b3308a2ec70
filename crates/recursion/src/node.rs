//! A node over several child proofs of one statement: one program that verifies each under a
//! transcript of its own, in order, and publishes the children's public values, concatenated in
//! child order. Generic over the statement (any AIRs); the aggregation tree's nodes, which
//! check that EVM shards chain and publish one combined layout, are [`crate::tree`]'s.

use crate::build::Build;
use crate::config::{ShardProof, Val};
use crate::key::MirrorKey;
use crate::leaf::{LeafCircuit, LeafError, LeafWitness};
use crate::verifier::verify_generic;

/// One child: its proof and its public values per instance.
pub struct Child<'a> {
    pub proof: &'a ShardProof,
    pub public_values: &'a [Vec<Val>],
}

/// Compile the verification of every child (all of the statement `key`) into one circuit. A
/// child the verifier rejects is [`LeafError::ShardRejected`] naming the step; the program is
/// the same for any children of the statement's shape.
pub fn build_node(
    key: &MirrorKey,
    children: &[Child<'_>],
) -> Result<(LeafCircuit, LeafWitness), LeafError> {
    let mut build = Build::for_settings(&key.settings);
    for child in children {
        build.start_transcript();
        let verdict = verify_generic(&mut build, key, child.proof, child.public_values);
        if let Some(op) = build.unsupported_op() {
            return Err(crate::build::BuildError::Unsupported(op).into());
        }
        verdict.map_err(LeafError::ShardRejected)?;
    }
    Ok(crate::leaf::into_circuit(build)?)
}
