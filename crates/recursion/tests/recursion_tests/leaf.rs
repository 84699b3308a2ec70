//! The leaf: a recursion proof that a shard proof verifies, over the test AIRs (lookups,
//! preprocessed columns, grinding at every site with a Merkle cap and arity 4). The leaf
//! proves and the stock verifier accepts it; its public values are the shard's; the circuit is
//! the same for every proof of a shape (the fixed-program property); a leaf checked against
//! another circuit's key, or with another public value, is rejected; a rejected shard proof
//! gives no leaf.

use p3_field::PrimeCharacteristicRing;
use slotproof_prover::test_airs::Shard;
use slotproof_prover::{CpuShardProver, FriSettings, ShardProver};
use slotproof_recursion::config::{ShardProof, Val};
use slotproof_recursion::leaf::{
    LEAF_SETTINGS, LeafCircuit, LeafError, LeafWitness, build_leaf, prove_leaf, verify_leaf,
};
use slotproof_recursion::{MirrorError, MirrorKey, PowStep};

/// Grinding at every site, a Merkle cap, arity 4 and a longer final polynomial.
const STRESS: FriSettings = FriSettings {
    log_blowup: 2,
    log_final_poly_len: 2,
    max_log_arity: 2,
    num_queries: 12,
    batch_pow_bits: 4,
    commit_pow_bits: 4,
    query_pow_bits: 4,
    lookup_pow_bits: 4,
    ood_pow_bits: 4,
    merkle_cap_height: 1,
};

/// Few queries keep the leaves small; the shape is otherwise the shard layer's.
const SMALL: FriSettings = FriSettings {
    num_queries: 8,
    query_pow_bits: 2,
    ..FriSettings::DEFAULT
};

struct Proven {
    key: MirrorKey,
    proof: ShardProof,
    public_values: Vec<Vec<Val>>,
}

fn prove_shard(settings: FriSettings, shard: &Shard<Val>) -> Proven {
    let prover: CpuShardProver<Val> = ShardProver::cpu(settings);
    let proof = prover
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .expect("the shard proves");
    let data = prover
        .setup(&shard.airs, &proof.degree_bits)
        .expect("key for the proof's heights");
    let key = MirrorKey::new(settings, &shard.airs, &proof.degree_bits, &data.common)
        .expect("mirror key");
    Proven {
        key,
        proof,
        public_values: shard.public_values.clone(),
    }
}

fn leaf_of(p: &Proven) -> (LeafCircuit, LeafWitness) {
    build_leaf(&p.key, &p.proof, &p.public_values).expect("the leaf circuit builds")
}

fn leaf_prover() -> CpuShardProver<Val> {
    ShardProver::cpu(LEAF_SETTINGS)
}

/// Build, prove and verify a leaf; returns the circuit for further checks.
fn prove_and_verify(p: &Proven) -> LeafCircuit {
    let (circuit, witness) = leaf_of(p);
    let flat: Vec<Val> = p.public_values.iter().flatten().copied().collect();
    assert_eq!(
        witness.public_values, flat,
        "the leaf's public values are the shard's"
    );
    let prover = leaf_prover();
    let key = circuit.keygen(&prover).expect("leaf key");
    let proven = prove_leaf(&prover, &key, &circuit, &witness).expect("the leaf proves");
    verify_leaf(&prover, &key, &circuit, &proven.proof).expect("the stock verifier accepts");

    // Another public value is another statement.
    let mut forged = proven.proof;
    if let Some(v) = forged.public_values.first_mut() {
        *v += Val::ONE;
        assert!(
            verify_leaf(&prover, &key, &circuit, &forged).is_err(),
            "a leaf with an altered public value must not verify"
        );
    }
    circuit
}

/// The circuit's verifying key, as bytes (the preprocessed commitment of its tables).
fn vk_bytes(circuit: &LeafCircuit) -> Vec<u8> {
    let key = circuit.keygen(&leaf_prover()).expect("leaf key");
    postcard::to_allocvec(&key.preprocessed_commitment()).expect("encode")
}

#[test]
fn a_leaf_of_two_tables_proves_and_verifies() {
    prove_and_verify(&prove_shard(SMALL, &Shard::two_tables(8, 8, 1)));
}

#[test]
fn a_leaf_with_preprocessed_columns_proves_and_verifies() {
    prove_and_verify(&prove_shard(SMALL, &Shard::fixed_range(7, 6, 3, true)));
}

#[test]
fn a_leaf_under_every_fri_knob_proves_and_verifies() {
    prove_and_verify(&prove_shard(STRESS, &Shard::two_tables(8, 7, 2)));
}

#[test]
fn the_circuit_is_the_same_for_every_proof_of_a_shape() {
    let a = leaf_of(&prove_shard(SMALL, &Shard::two_tables(8, 8, 1))).0;
    let b = leaf_of(&prove_shard(SMALL, &Shard::two_tables(8, 8, 5))).0;
    assert_eq!(
        vk_bytes(&a),
        vk_bytes(&b),
        "two proofs of one shape must compile to one circuit"
    );
    let c = leaf_of(&prove_shard(STRESS, &Shard::two_tables(8, 7, 2))).0;
    assert_ne!(
        vk_bytes(&a),
        vk_bytes(&c),
        "another shape is another circuit"
    );
}

#[test]
fn a_leaf_does_not_verify_against_another_circuit() {
    let p = prove_shard(SMALL, &Shard::two_tables(8, 8, 1));
    let (circuit, witness) = leaf_of(&p);
    let prover = leaf_prover();
    let key = circuit.keygen(&prover).expect("leaf key");
    let proven = prove_leaf(&prover, &key, &circuit, &witness).expect("proves");
    let other = leaf_of(&prove_shard(SMALL, &Shard::two_tables(7, 8, 1))).0;
    let other_key = other.keygen(&prover).expect("other key");
    assert!(verify_leaf(&prover, &other_key, &other, &proven.proof).is_err());
}

#[test]
fn a_rejected_shard_proof_gives_no_leaf() {
    let mut p = prove_shard(SMALL, &Shard::two_tables(8, 8, 1));
    p.proof.opening_proof.query_pow_witness += Val::ONE;
    match build_leaf(&p.key, &p.proof, &p.public_values) {
        Err(LeafError::ShardRejected(MirrorError::Pow(PowStep::Query))) => {}
        Err(LeafError::ShardRejected(other)) => {
            // A flipped witness may pass a 2-bit grind by chance; then the queries it
            // draws differ and a later check fails.
            assert!(!matches!(other, MirrorError::Shape(_)), "{other}");
        }
        other => panic!("expected a rejected shard proof, got {:?}", other.err()),
    }
}

/// One flipped cell in the first row of any recursion table (a multiplicity, a value, an
/// operand, a permutation state, an accumulator) is refused: the checked prover finds the broken
/// constraint or the unbalanced bus, and the unchecked prover's proof does not verify.
#[test]
fn a_tampered_cell_of_every_table_is_rejected() {
    use slotproof_prover::{ProveError, ProverOptions};
    use slotproof_recursion::tables::program::TABLE_NAMES;

    let (circuit, witness) = leaf_of(&prove_shard(SMALL, &Shard::two_tables(6, 5, 4)));
    let run = circuit
        .program
        .run_tables(&witness.hints, &witness.public_values)
        .expect("the leaf circuit runs");
    let checked = leaf_prover();
    let unchecked = leaf_prover().with_options(ProverOptions {
        check_witness: false,
    });
    for (t, name) in TABLE_NAMES.iter().enumerate() {
        let mut traces = run.traces.clone();
        traces[t].values[0] += Val::ONE;
        match checked.prove(&run.airs, &traces, &run.public_values) {
            Err(ProveError::ConstraintViolation { .. } | ProveError::LookupImbalance(_)) => {}
            Err(e) => panic!("{name}: unexpected error {e}"),
            Ok(_) => panic!("{name}: a tampered table proved"),
        }
        let proof = unchecked
            .prove(&run.airs, &traces, &run.public_values)
            .expect("an unchecked prover proves anything");
        assert!(
            checked
                .verify(&run.airs, &proof, &run.public_values)
                .is_err(),
            "{name}: the proof of a tampered table verified"
        );
    }
}

/// The shard layer's default settings are no weaker than the leaf's that verify them, by the
/// toy formula and by Plonky3's estimate: the shard is not the weakest link of a block proof
/// (and more shard queries would buy only recursion rows).
#[test]
fn shard_settings_are_not_weaker_than_the_leaf() {
    let shard = FriSettings::DEFAULT.security::<Val>();
    let leaf = LEAF_SETTINGS.security::<Val>();
    assert!(
        shard.conjectured_bits >= leaf.conjectured_bits,
        "{shard} / {leaf}"
    );
    assert!(
        shard.p3_random_words_ldt_bits >= leaf.p3_random_words_ldt_bits,
        "{shard} / {leaf}"
    );
}

/// A Merkle path's last row reads the root instead of writing its digest. A prover who also
/// writes the digest from that row (which would balance the read whatever the root) breaks the
/// row's `check·m = 0` constraint, and the proof does not verify.
#[test]
fn a_digest_check_row_cannot_write_its_own_root() {
    use slotproof_prover::{ProveError, ProverOptions};
    use slotproof_recursion::tables::poseidon2::WIDTH;
    use slotproof_recursion::tables::poseidon2_bus::permutation_width;

    let (circuit, witness) = leaf_of(&prove_shard(SMALL, &Shard::two_tables(6, 5, 4)));
    let check_row = circuit
        .program
        .poseidon2()
        .position(|p| p.check_digest)
        .expect("every Merkle path ends in a digest check");
    let run = circuit
        .program
        .run_tables(&witness.hints, &witness.public_values)
        .expect("the leaf circuit runs");
    let table = slotproof_recursion::tables::program::TABLE_NAMES
        .iter()
        .position(|&t| t == "Poseidon2Bus")
        .expect("the Poseidon2 table");
    let mut traces = run.traces.clone();
    let width = traces[table].width;
    // Output lane 0's multiplicity: after the permutation, `read[16]` and `dir`.
    traces[table].values[check_row * width + permutation_width() + WIDTH + 1] = Val::ONE;
    let checked = leaf_prover();
    match checked.prove(&run.airs, &traces, &run.public_values) {
        Err(ProveError::ConstraintViolation { .. } | ProveError::LookupImbalance(_)) => {}
        other => panic!("a writing digest check: unexpected {:?}", other.map(|_| ())),
    }
    let unchecked = leaf_prover().with_options(ProverOptions {
        check_witness: false,
    });
    let proof = unchecked
        .prove(&run.airs, &traces, &run.public_values)
        .expect("an unchecked prover proves anything");
    assert!(
        checked
            .verify(&run.airs, &proof, &run.public_values)
            .is_err()
    );
}

/// Recursion composes: a leaf proof is itself a batch-STARK proof the mirror verifies event for
/// event like the stock verifier, and the recursion circuit compiled from it (a leaf of a leaf:
/// the one-child case of the aggregation tree's internal node) proves and verifies, with the
/// first leaf's public values (the shard's) carried through as its own.
#[test]
fn a_leaf_proof_is_verified_by_the_recursion_circuit_in_turn() {
    use slotproof_prover::proof_to_bytes;
    use slotproof_recursion::oracle::{compare, native_run, stock_run};

    let shard = prove_shard(SMALL, &Shard::two_tables(6, 5, 1));
    let (circuit, witness) = leaf_of(&shard);
    let prover = leaf_prover();
    let key = circuit.keygen(&prover).expect("leaf key");
    let leaf = prove_leaf(&prover, &key, &circuit, &witness)
        .expect("the leaf proves")
        .proof;

    let airs = circuit.airs();
    let public_values = circuit.instance_public_values(&leaf.public_values);
    let leaf_key = MirrorKey::new(LEAF_SETTINGS, &airs, &leaf.proof.degree_bits, key.common())
        .expect("the leaf's statement");
    let bytes = proof_to_bytes(&leaf.proof).expect("encode");
    let stock = stock_run(&leaf_key, &airs, &bytes, &public_values, key.common());
    let native = native_run(&leaf_key, &leaf.proof, &public_values);
    assert!(compare(&stock, &native).divergence.is_none(), "logs differ");
    assert_eq!(stock.verdict, Ok(()));
    assert_eq!(native.verdict, Ok(()));

    let (outer, outer_witness) =
        build_leaf(&leaf_key, &leaf.proof, &public_values).expect("the outer circuit builds");
    assert_eq!(
        outer_witness.public_values, leaf.public_values,
        "the shard's public values are carried through"
    );
    let outer_key = outer.keygen(&prover).expect("outer key");
    let proven = prove_leaf(&prover, &outer_key, &outer, &outer_witness).expect("proves");
    verify_leaf(&prover, &outer_key, &outer, &proven.proof).expect("the stock verifier accepts");
    eprintln!(
        "leaf of a leaf: rows {:?}",
        outer
            .rows()
            .iter()
            .map(|r| (r.table, r.rows))
            .collect::<Vec<_>>()
    );
}

/// A node over two leaf proofs of one circuit (the internal node of the tree, before its
/// chaining checks): the two leaves of two shard proofs of one shape share their circuit, the
/// node verifies both in one program, each under its own transcript, and its public values are
/// both leaves' in order. A tampered child gives no node.
#[test]
fn a_node_verifies_two_leaf_proofs_of_one_circuit() {
    use slotproof_recursion::node::{Child, build_node};

    let (circuit, first) = leaf_of(&prove_shard(SMALL, &Shard::two_tables(6, 5, 1)));
    let (other_circuit, second) = leaf_of(&prove_shard(SMALL, &Shard::two_tables(6, 5, 5)));
    assert_eq!(
        vk_bytes(&circuit),
        vk_bytes(&other_circuit),
        "one shape, one circuit"
    );
    let prover = leaf_prover();
    let key = circuit.keygen(&prover).expect("leaf key");
    let leaves: Vec<_> = [first, second]
        .iter()
        .map(|w| {
            prove_leaf(&prover, &key, &circuit, w)
                .expect("a leaf proves")
                .proof
        })
        .collect();

    let airs = circuit.airs();
    let leaf_key = MirrorKey::new(
        LEAF_SETTINGS,
        &airs,
        &leaves[0].proof.degree_bits,
        key.common(),
    )
    .expect("the leaves' statement");
    let public_values: Vec<Vec<Vec<Val>>> = leaves
        .iter()
        .map(|l| circuit.instance_public_values(&l.public_values))
        .collect();
    let children: Vec<Child<'_>> = leaves
        .iter()
        .zip(&public_values)
        .map(|(l, pv)| Child {
            proof: &l.proof,
            public_values: pv,
        })
        .collect();
    let (node, witness) = build_node(&leaf_key, &children).expect("the node circuit builds");
    let expected: Vec<Val> = leaves
        .iter()
        .flat_map(|l| l.public_values.clone())
        .collect();
    assert_eq!(
        witness.public_values, expected,
        "both leaves' public values, in order"
    );
    let node_key = node.keygen(&prover).expect("node key");
    let proven = prove_leaf(&prover, &node_key, &node, &witness).expect("the node proves");
    verify_leaf(&prover, &node_key, &node, &proven.proof).expect("the stock verifier accepts");

    let mut tampered =
        slotproof_prover::proof_from_bytes::<slotproof_recursion::config::ShardConfig>(
            &slotproof_prover::proof_to_bytes(&leaves[1].proof).expect("encode"),
        )
        .expect("decode");
    tampered.opening_proof.input_openings[0].opened_values[0][0][0] += Val::ONE;
    let children = [
        Child {
            proof: &leaves[0].proof,
            public_values: &public_values[0],
        },
        Child {
            proof: &tampered,
            public_values: &public_values[1],
        },
    ];
    assert!(matches!(
        build_node(&leaf_key, &children),
        Err(LeafError::ShardRejected(_))
    ));
}
