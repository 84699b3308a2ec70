//! Merkle multi-openings in a [`Build`]: the pruned proof expanded into one full path per
//! query, hashed by Poseidon2 rows on the memory bus (not emitted yet: reported as
//! unsupported).

use p3_matrix::Dimensions;

use super::{Build, Word};
use crate::config::{Commitment, MultiProof};

pub(crate) fn verify_opening(
    build: &mut Build,
    _commitment: &[Word],
    _native_commitment: &Commitment,
    _dims: &[Dimensions],
    _index_bits: &[Vec<Word>],
    _rows: &[Vec<Vec<Word>>],
    _proof: &MultiProof,
) -> bool {
    build.unsupported("verify_opening");
    false
}
