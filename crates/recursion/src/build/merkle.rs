//! Merkle multi-openings in a [`Build`], for the project's MMCS (`MerkleTreeMmcs`, binary,
//! 8-element digests, a cap; leaves hashed by `PaddingFreeSponge<Poseidon2, 16, 8, 8>`, nodes
//! compressed by `TruncatedPermutation<Poseidon2, 2, 8, 16>`).
//!
//! The proof carries a **pruned** multi-opening (siblings shared between queries are sent once).
//! The circuit must not depend on which queries share paths, so the witness generator expands it
//! natively into one full path per query (`MerkleTreeMmcs::restore_and_recompute_paths`, the walk
//! `verify_multi_batch` does) and gives every sibling to its Merkle-mode row. Per query the program then:
//!
//! 1. hashes the opened rows of the tallest matrices as a sponge (zero state; each block of 8
//!    words overwrites the leading lanes, a short last block only its own lanes; the other
//!    lanes are the previous row's output words);
//! 2. walks the path with Merkle-mode rows: `digest ‖ sibling`, swapped by the query's index
//!    bit at that level, and keeps the first 8 output words (the sibling is a witness of the
//!    row, not a memory word);
//! 3. after each level, **injects** the rows of the matrices whose height the layer has
//!    reached, exactly where `MerkleTreeMmcs::verify_batch` does: `compress(digest ‖ hash)`;
//! 4. selects the cap entry by the index's remaining top bits and checks the root equals it:
//!    the path's last Poseidon2 row reads the commitment words the transcript observed as its
//!    digest outputs (a digest-check row) instead of writing them.
//!
//! The verdict returned is the native one (`verify_multi_batch`); when it is false, an assertion
//! of step 4 fails when the program runs.

use std::cmp::Reverse;

use p3_commit::Mmcs;
use p3_field::PrimeCharacteristicRing;
use p3_matrix::Dimensions;

use super::{Build, Word};
use crate::config::{Challenge, Commitment, MultiProof, Val};
use crate::ops::Ops;
use crate::tables::poseidon2::WIDTH;

/// Digest length and sponge rate.
const DIGEST: usize = 8;

/// `PaddingFreeSponge` over words: the digest of `words`.
fn hash_words(build: &mut Build, words: &[Word]) -> [Word; DIGEST] {
    let zero = build.constant_word(Challenge::ZERO);
    let mut state = [zero; WIDTH];
    for block in words.chunks(DIGEST) {
        state[..block.len()].copy_from_slice(block);
        state = build.poseidon2(state);
    }
    core::array::from_fn(|i| state[i])
}

/// `TruncatedPermutation` of `left ‖ right`.
fn compress(build: &mut Build, left: [Word; DIGEST], right: [Word; DIGEST]) -> [Word; DIGEST] {
    let input: [Word; WIDTH] = core::array::from_fn(|i| {
        if i < DIGEST {
            left[i]
        } else {
            right[i - DIGEST]
        }
    });
    let out = build.poseidon2(input);
    core::array::from_fn(|i| out[i])
}

/// A layer's length rounded up to whole pairs, as the MMCS pads it (a single node stays).
fn padded_len(len: usize) -> usize {
    if len <= 1 { len } else { len.div_ceil(2) * 2 }
}

pub(crate) fn verify_opening(
    build: &mut Build,
    commitment: &[Word],
    native_commitment: &Commitment,
    dims: &[Dimensions],
    index_bits: &[Vec<Word>],
    rows: &[Vec<Vec<Word>>],
    proof: &MultiProof,
) -> bool {
    let Some(mmcs) = build.mmcs.clone() else {
        build.unsupported("verify_opening (a Build without FRI settings)");
        return false;
    };
    let indices: Vec<usize> = index_bits.iter().map(|b| build.bits_value(b)).collect();
    let row_values: Vec<Vec<Vec<Val>>> = rows
        .iter()
        .map(|q| {
            q.iter()
                .map(|r| r.iter().map(|&w| build.value(w)).collect())
                .collect()
        })
        .collect();
    let accepted = mmcs
        .verify_multi_batch(native_commitment, dims, &indices, &row_values, proof)
        .is_ok();
    let levels = mmcs.proof_arity_schedule(dims).map_or(0, |s| s.len());
    // One full path per query; a proof that cannot be expanded gets zero siblings (its
    // verdict is already false, and the root assertion fails).
    let paths: Vec<Vec<[Val; DIGEST]>> =
        match mmcs.restore_and_recompute_paths(dims, &indices, &row_values, proof) {
            Ok(paths) if paths.iter().all(|p| p.siblings.len() == levels) => {
                paths.into_iter().map(|p| p.siblings).collect()
            }
            _ => vec![vec![[Val::ZERO; DIGEST]; levels]; indices.len()],
        };

    // Tallest first; ties keep their order, as in the MMCS.
    let mut order: Vec<usize> = (0..dims.len()).collect();
    order.sort_by_key(|&i| Reverse(dims[i].height));
    let max_height = order.first().map_or(0, |&i| dims[i].height);
    let cap_roots = commitment.len() / DIGEST;

    let zero = build.constant_word(Challenge::ZERO);
    for ((bits, query_rows), siblings) in index_bits.iter().zip(rows).zip(&paths) {
        // The cap entry at the index's remaining bits, by a tree of selects (before the path, so
        // that the path's last row is the one that checks it).
        let mut candidates: Vec<[Word; DIGEST]> = (0..cap_roots)
            .map(|k| core::array::from_fn(|j| commitment[k * DIGEST + j]))
            .collect();
        let mut bit = levels;
        while candidates.len() > 1 {
            let b = bits.get(bit).copied().unwrap_or(zero);
            candidates = candidates
                .chunks(2)
                .map(|pair| match pair {
                    [even, odd] => core::array::from_fn(|j| build.select(b, odd[j], even[j])),
                    _ => pair[0],
                })
                .collect();
            bit += 1;
        }
        let mut pending = order.iter().copied().peekable();
        let leaf_npt = max_height.next_power_of_two();
        let mut leaf: Vec<Word> = Vec::new();
        while let Some(m) = pending.next_if(|&m| dims[m].height.next_power_of_two() == leaf_npt) {
            leaf.extend_from_slice(&query_rows[m]);
        }
        let mut digest = hash_words(build, &leaf);
        let mut layer = padded_len(max_height);
        for (level, sibling) in siblings.iter().enumerate() {
            let direction = bits.get(level).copied().unwrap_or(zero);
            // `node ‖ sibling`, or `sibling ‖ node` when the index bit is 1.
            let out = build.poseidon2_merkle(digest, *sibling, direction);
            digest = core::array::from_fn(|i| out[i]);
            let logical = layer / 2;
            layer = padded_len(logical);
            let layer_npt = logical.next_power_of_two();
            if let Some(&next) = pending.peek()
                && dims[next].height.next_power_of_two() == layer_npt
            {
                let height = dims[next].height;
                let mut injected: Vec<Word> = Vec::new();
                while let Some(m) = pending.next_if(|&m| dims[m].height == height) {
                    injected.extend_from_slice(&query_rows[m]);
                }
                let hash = hash_words(build, &injected);
                digest = compress(build, digest, hash);
            }
        }
        match candidates.first() {
            // The path's last row reads the root on the bus (a digest check).
            Some(&root) => {
                build.assert_digest(digest, root);
            }
            None => build.unsupported("verify_opening against an empty commitment"),
        }
    }
    accepted
}
