//! FRI over engine-resident codewords and rounds, proof-identical to `p3_fri::prover::prove_fri`.
//!
//! Why not p3's `prove_fri`: it folds host vectors (`fold_matrix` returns a `Vec`) and reads the
//! committed matrices back through `Mmcs::get_matrices`, so every layer would cross to the host
//! and back. Here every layer stays on the engine: per round the leaf matrix (`fri_leaves`) and
//! its tree are built there, only the cap comes back for the transcript, the fold (with the
//! next input rolled in) runs there. The transcript is p3's own [`ProverTranscript`] driven by
//! the same [`FriShape`], so the order of observations, grinding and samples cannot drift from
//! the verifier's. After the query indices are drawn, only the rows and digests the answers
//! name are read back ([`super::openings`]).

use p3_dft::{Radix2DFTSmallBatch, TwoAdicSubgroupDft};
use p3_field::BasedVectorSpace;
use p3_fri::{
    BatchMultiOpening, CommitPhaseMultiStep, FriParameters, FriProof, FriShape, ProverTranscript,
};
use p3_merkle_tree::MerkleCap;
use slotproof_prover::OpeningRound;
use slotproof_prover::field::{Challenge, ChallengeMmcs, Challenger, ProverField, ValMmcs};

use super::ResidentRound;
use super::engine::ProverEngine;
use super::openings::{cap_layer, opened_rows, pruned_paths};
use crate::error::{Error, Result};
use crate::field::DeviceField;
use crate::fri::FoldSchedule;

/// The FRI proof type of the prover configuration.
pub type PcsFriProof<F> =
    FriProof<Challenge<F>, ChallengeMmcs<F>, F, Vec<BatchMultiOpening<F, ValMmcs<F>>>>;

/// The cap of a resident tree at `cap_height` (clamped as `MerkleTreeMmcs` clamps it).
pub fn tree_cap<F: DeviceField, E: ProverEngine<F>>(
    engine: &E,
    tree: &E::Tree,
    cap_height: usize,
) -> Result<MerkleCap<F, [F; 8]>> {
    let layers = engine.tree_layers(tree);
    let layer = cap_layer(layers, cap_height);
    let width = 1usize << (layers - 1 - layer);
    let positions: Vec<usize> = (0..width).collect();
    Ok(MerkleCap::new(engine.digests(tree, layer, &positions)?))
}

/// FRI on the α-reduced codewords `inputs` (one per height, tallest first), answering the
/// queries from `rounds`' resident trees. Challenges come from `challenger`, whose
/// proof-of-work searches the caller may have lent to the engine.
pub fn prove_fri<F, E>(
    engine: &E,
    params: &FriParameters<ChallengeMmcs<F>>,
    cap_height: usize,
    inputs: Vec<E::Codeword>,
    rounds: &[OpeningRound<'_, ResidentRound<F, E>, Challenge<F>>],
    challenger: &mut Challenger<F>,
    batch_pow_witness: F,
) -> Result<PcsFriProof<F>>
where
    F: ProverField + DeviceField,
    E: ProverEngine<F>,
{
    let log_heights: Vec<usize> = inputs
        .iter()
        .map(|c| engine.codeword_len(c).trailing_zeros() as usize)
        .collect();
    let shape_error = |what: String| Error::InvalidShape(format!("FRI inputs: {what}"));
    if log_heights.is_empty() {
        return Err(shape_error("none".into()));
    }
    if inputs
        .iter()
        .any(|c| !engine.codeword_len(c).is_power_of_two())
        || log_heights.windows(2).any(|w| w[0] <= w[1])
    {
        return Err(shape_error(format!(
            "heights 2^{log_heights:?} are not powers of two in strictly decreasing order"
        )));
    }
    let log_global_max_height = log_heights[0];
    let log_min_height = *log_heights.last().expect("non-empty");
    let log_final_height = params.log_final_poly_len + params.log_blowup;
    if params.log_final_poly_len > 0 && log_min_height <= log_final_height {
        return Err(shape_error(format!(
            "the shortest input (2^{log_min_height}) is not above the final height 2^{log_final_height}"
        )));
    }
    // TwoAdicFriFolding draws no extra query index bits.
    let shape = FriShape::new(params, &log_heights, log_global_max_height);
    let log_arities = shape.log_arities.clone();
    let final_poly_len = shape.final_poly_len;
    let mut transcript = ProverTranscript::<Challenger<F>, F, Challenge<F>>::new(challenger, shape);

    let committed = commit_phase(
        engine,
        cap_height,
        inputs,
        &log_arities,
        final_poly_len,
        &mut transcript,
    );
    let (layers, commits, pow_witnesses, final_poly) = match committed {
        Ok(c) => c,
        Err(e) => {
            // p3's FRI transcript has no abort and panics when dropped unfinished; the proof is
            // abandoned, so release it without its drop check (its small pattern state leaks,
            // once per failed proof) and return the engine's error.
            std::mem::forget(transcript);
            return Err(e);
        }
    };

    let (indices, query_pow) = transcript.query_phase(&final_poly);
    transcript.finish();

    // Query phase: input openings from the committed rounds' trees...
    let mut input_openings = Vec::with_capacity(rounds.len());
    for round in rounds {
        let data = round.committed;
        let log_max_height = engine.tree_layers(&data.tree) - 1;
        let bits_reduced = log_global_max_height.checked_sub(log_max_height).ok_or_else(|| {
            shape_error(format!(
                "a round of 2^{log_max_height} rows above the tallest input 2^{log_global_max_height}"
            ))
        })?;
        let reduced: Vec<usize> = indices.iter().map(|&i| i >> bits_reduced).collect();
        input_openings.push(BatchMultiOpening {
            opened_values: opened_rows(engine, &data.matrices, log_max_height, &reduced)?,
            opening_proof: pruned_paths(engine, &data.tree, &reduced, cap_height)?,
        });
    }

    // ...and each commit-phase layer's siblings of every query's group.
    let mut current = indices;
    let mut commit_phase_openings = Vec::with_capacity(layers.len());
    for FriLayer {
        leaves,
        tree,
        log_arity,
    } in &layers
    {
        let arity = 1usize << log_arity;
        let groups: Vec<usize> = current.iter().map(|&i| i >> log_arity).collect();
        let rows = engine.rows(leaves, &groups)?;
        let sibling_values = current
            .iter()
            .zip(rows)
            .map(|(&index, row)| {
                let elements: Vec<Challenge<F>> = row
                    .chunks_exact(4)
                    .map(|c| Challenge::<F>::from_basis_coefficients_fn(|k| c[k]))
                    .collect();
                let in_group = index % arity;
                elements
                    .into_iter()
                    .enumerate()
                    .filter(|&(j, _)| j != in_group)
                    .map(|(_, v)| v)
                    .collect()
            })
            .collect();
        commit_phase_openings.push(CommitPhaseMultiStep {
            sibling_values,
            opening_proof: pruned_paths(engine, tree, &groups, cap_height)?,
        });
        current = groups;
    }

    Ok(FriProof {
        batch_pow_witness,
        commit_phase_commits: commits,
        commit_pow_witnesses: pow_witnesses,
        input_openings,
        commit_phase_openings,
        final_poly,
        query_pow_witness: query_pow.unwrap_or(F::ZERO),
    })
}

/// One committed FRI layer, resident: its leaf matrix and tree.
struct FriLayer<F: DeviceField, E: ProverEngine<F>> {
    leaves: E::Matrix,
    tree: E::Tree,
    log_arity: usize,
}

type CommitPhase<F, E> = (
    Vec<FriLayer<F, E>>,
    Vec<MerkleCap<F, [F; 8]>>,
    Vec<F>,
    Vec<Challenge<F>>,
);

/// The commit phase: commit the current codeword, draw beta, fold (rolling in the next input of
/// the folded length), all on the engine; then the final polynomial from the last layer's first
/// elements (bit-reversed, back to natural order and interpolated on the host: a handful).
fn commit_phase<F, E>(
    engine: &E,
    cap_height: usize,
    inputs: Vec<E::Codeword>,
    log_arities: &[usize],
    final_poly_len: usize,
    transcript: &mut ProverTranscript<'_, Challenger<F>, F, Challenge<F>>,
) -> Result<CommitPhase<F, E>>
where
    F: ProverField + DeviceField,
    E: ProverEngine<F>,
{
    let mut inputs = inputs.into_iter().peekable();
    let mut folded = inputs.next().expect("checked non-empty");
    let mut commits = Vec::with_capacity(log_arities.len());
    let mut pow_witnesses = Vec::with_capacity(log_arities.len());
    let mut layers = Vec::with_capacity(log_arities.len());
    for &log_arity in log_arities {
        let leaves = engine.fri_leaves(&folded, log_arity)?;
        let tree = engine.merkle_tree(&[&leaves])?;
        let commit = tree_cap(engine, &tree, cap_height)?;
        let (beta, witness) = transcript.commit_round(commit.clone());
        commits.push(commit);
        pow_witnesses.push(witness.unwrap_or(F::ZERO));
        let log_len = engine.codeword_len(&folded).trailing_zeros() as usize;
        let schedule = FoldSchedule::new::<F, Challenge<F>>(log_len, log_arity, beta)?;
        let folded_len = 1usize << (log_len - log_arity);
        let roll_in = inputs.next_if(|v| engine.codeword_len(v) == folded_len);
        folded = engine.fri_fold(&folded, &schedule, roll_in.as_ref())?;
        layers.push(FriLayer {
            leaves,
            tree,
            log_arity,
        });
    }
    let mut last = super::ext_values::<F>(engine.codeword_prefix(&folded, final_poly_len)?)?;
    p3_util::reverse_slice_index_bits(&mut last);
    let final_poly = Radix2DFTSmallBatch::<F>::default().idft_algebra(last);
    Ok((layers, commits, pow_witnesses, final_poly))
}
