//! The mutation corpus: one flip of each kind of proof field, and the step a verifier must
//! refuse it at (under grinding at every site, where a proof of work guards every challenge).

use p3_field::PrimeCharacteristicRing;
use p3_lookup::LookupTerminal;
use p3_symmetric::MerkleCap;
use slotproof_recursion::config::{Challenge, ShardProof, Val};
use slotproof_recursion::{MirrorError, OpenedCommitment, PowStep};

/// One proof-field flip and the step both verifiers must refuse it at.
pub struct Mutation {
    pub name: &'static str,
    pub apply: fn(&mut ShardProof, &mut Vec<Vec<Val>>),
    pub expect: fn(&MirrorError) -> bool,
}

pub fn bump_ext(v: &mut Challenge) {
    *v += Challenge::ONE;
}

pub fn bump_cap(cap: &mut MerkleCap<Val, [Val; 8]>) {
    let mut roots = cap.roots().to_vec();
    roots[0][0] += Val::ONE;
    *cap = MerkleCap::from(roots);
}

pub fn mutations() -> Vec<Mutation> {
    vec![
        Mutation {
            name: "main commitment",
            apply: |p, _| bump_cap(&mut p.commitments.main),
            expect: |e| matches!(e, MirrorError::Pow(PowStep::Lookup)),
        },
        Mutation {
            name: "quotient commitment",
            apply: |p, _| bump_cap(&mut p.commitments.quotient_chunks),
            expect: |e| matches!(e, MirrorError::Pow(PowStep::OutOfDomain)),
        },
        Mutation {
            name: "zeta opening of a trace column",
            apply: |p, _| {
                bump_ext(&mut p.opened_values.instances[0].base_opened_values.trace_local[0])
            },
            expect: |e| matches!(e, MirrorError::Pow(PowStep::Batch)),
        },
        Mutation {
            name: "zeta opening of a quotient chunk",
            apply: |p, _| {
                bump_ext(
                    &mut p.opened_values.instances[0]
                        .base_opened_values
                        .quotient_chunks[0][0],
                )
            },
            expect: |e| matches!(e, MirrorError::Pow(PowStep::Batch)),
        },
        Mutation {
            name: "opened row of an input commitment",
            apply: |p, _| p.opening_proof.input_openings[0].opened_values[0][0][0] += Val::ONE,
            expect: |e| matches!(e, MirrorError::MerkleOpening(OpenedCommitment::Input(0))),
        },
        Mutation {
            name: "Merkle sibling of an input opening",
            apply: |p, _| {
                p.opening_proof.input_openings[0]
                    .opening_proof
                    .sibling_hashes[0][0] += Val::ONE
            },
            expect: |e| matches!(e, MirrorError::MerkleOpening(OpenedCommitment::Input(0))),
        },
        Mutation {
            name: "FRI sibling value",
            apply: |p, _| {
                bump_ext(&mut p.opening_proof.commit_phase_openings[0].sibling_values[0][0])
            },
            expect: |e| matches!(e, MirrorError::FinalPolynomial { query: 0 }),
        },
        Mutation {
            name: "FRI commit-phase Merkle sibling",
            apply: |p, _| {
                p.opening_proof.commit_phase_openings[0]
                    .opening_proof
                    .sibling_hashes[0][0] += Val::ONE
            },
            expect: |e| matches!(e, MirrorError::MerkleOpening(OpenedCommitment::Fri(0))),
        },
        Mutation {
            name: "final polynomial coefficient",
            apply: |p, _| bump_ext(&mut p.opening_proof.final_poly[0]),
            expect: |e| matches!(e, MirrorError::Pow(PowStep::Query)),
        },
        Mutation {
            name: "lookup PoW witness",
            apply: |p, _| {
                if let Some(w) = &mut p.lookup_pow_witness {
                    *w += Val::ONE;
                }
            },
            // `w + 1` passes a 6-bit grind with probability 1/64, and for this proof it does:
            // the changed transcript is then caught by the next grind.
            expect: |e| matches!(e, MirrorError::Pow(PowStep::Lookup | PowStep::OutOfDomain)),
        },
        Mutation {
            name: "out-of-domain PoW witness",
            apply: |p, _| p.ood_pow_witness += Val::ONE,
            expect: |e| matches!(e, MirrorError::Pow(PowStep::OutOfDomain)),
        },
        Mutation {
            name: "batch PoW witness",
            apply: |p, _| p.opening_proof.batch_pow_witness += Val::ONE,
            expect: |e| matches!(e, MirrorError::Pow(PowStep::Batch)),
        },
        Mutation {
            name: "FRI commit PoW witness",
            apply: |p, _| p.opening_proof.commit_pow_witnesses[0] += Val::ONE,
            expect: |e| matches!(e, MirrorError::Pow(PowStep::Commit(0))),
        },
        Mutation {
            name: "query PoW witness",
            apply: |p, _| p.opening_proof.query_pow_witness += Val::ONE,
            expect: |e| matches!(e, MirrorError::Pow(PowStep::Query)),
        },
        Mutation {
            name: "lookup terminal",
            apply: |p, _| {
                let t = p.lookup_terminals[0]
                    .as_mut()
                    .expect("instance 0 has lookups");
                *t = LookupTerminal(t.0 + Challenge::ONE);
            },
            expect: |e| matches!(e, MirrorError::Pow(PowStep::OutOfDomain)),
        },
        Mutation {
            name: "degree bits",
            apply: |p, _| p.degree_bits[0] += 1,
            expect: |e| matches!(e, MirrorError::Pow(PowStep::Lookup) | MirrorError::Shape(_)),
        },
        Mutation {
            name: "public value",
            apply: |_, pv| pv[0][0] += Val::ONE,
            expect: |e| matches!(e, MirrorError::Pow(PowStep::Lookup)),
        },
    ]
}
