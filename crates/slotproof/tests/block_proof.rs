//! A block proof of the project's own `transfers` block verifies; tampered proofs, proofs
//! presented for another block and broken shard chains are rejected without panicking.
//! (Tampered subblock public values: `tests/subblocks.rs`.)

use slotproof::executor::BlockInput;
use slotproof::{BlockProof, BlockProver, VerifyError, verify_block_proof};
use std::sync::OnceLock;

/// Proven once (a few seconds), shared by every test: 188 steps (one subblock) in shards of at
/// most 64.
fn proved() -> &'static (BlockProof, Vec<u8>) {
    static PROOF: OnceLock<(BlockProof, Vec<u8>)> = OnceLock::new();
    PROOF.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/transfers.json");
        let input = BlockInput::from_path(path).unwrap();
        let proved = BlockProver::builder()
            .max_shard_rows(64)
            .build()
            .prove(&input)
            .unwrap();
        assert_eq!(proved.proof.subblocks.len(), 1);
        assert_eq!(proved.proof.block.number, proved.execution.number);
        assert_eq!(proved.proof.block.gas_used, proved.execution.gas_used);
        let bytes = proved.proof.to_bytes().unwrap();
        (proved.proof, bytes)
    })
}

fn reencode(p: &BlockProof) -> Vec<u8> {
    p.to_bytes().unwrap()
}

#[test]
fn block_proof_verifies_and_names_its_block() {
    let (proof, bytes) = proved();
    assert!(proof.shards.len() >= 3, "188 steps in shards of 64");
    let block = verify_block_proof(bytes).unwrap();
    assert_eq!(&block, &proof.block);
}

#[test]
fn flipped_proof_byte_is_rejected() {
    let (proof, _) = proved();
    let mut p = proof.clone();
    let n = p.shards[1].proof.len();
    p.shards[1].proof[n / 2] ^= 0x10;
    assert!(matches!(
        verify_block_proof(&reencode(&p)),
        Err(VerifyError::ShardRejected { shard: 1, .. } | VerifyError::Malformed(_))
    ));
}

#[test]
fn proof_does_not_verify_for_another_block() {
    let (proof, _) = proved();
    // Another block's claim with the shards unchanged: the binding no longer matches. (The
    // parent state root: the header the claim carries does not hold it, so only the binding
    // can tell; a changed state root is the header's, see `the_block_context_claim_is_checked`.)
    let mut p = proof.clone();
    p.block.parent_state_root[31] ^= 1;
    assert_eq!(
        verify_block_proof(&reencode(&p)),
        Err(VerifyError::WrongBlock { shard: 0 })
    );
    // ... and rewriting the shards' binding to the new claim breaks their proofs (the binding is
    // in the Fiat-Shamir transcript).
    let binding = slotproof::air::shard::shard_binding::<slotproof::prover::KoalaBear>(
        &p.block.claim(),
        &p.subblocks[0].claim(),
    );
    use p3_field::PrimeField32;
    for s in &mut p.shards {
        s.public_values[slotproof::air::shard::OPCODE_TABLE].splice(
            ..binding.len(),
            binding.iter().map(|f| f.as_canonical_u32()),
        );
    }
    assert!(matches!(
        verify_block_proof(&reencode(&p)),
        Err(VerifyError::ShardRejected { shard: 0, .. })
    ));
}

/// The block-context claim (`slotproof::context`): a header that does not hash to the block
/// hash, one that hashes but does not decode, a header field the claim contradicts, a chain id
/// other than the one the shards were proven with, a BLOCKHASH read without its ancestor and
/// shards carrying other context values are typed errors.
#[test]
fn the_block_context_claim_is_checked() {
    use slotproof::context::ContextError;
    let (proof, _) = proved();
    let rejects = |p: &BlockProof| verify_block_proof(&reencode(p)).unwrap_err();

    let mut p = proof.clone();
    let n = p.block.context.header.len();
    p.block.context.header[n - 1] ^= 1;
    assert_eq!(rejects(&p), VerifyError::Context(ContextError::HeaderHash));

    let mut p = proof.clone();
    p.block.context.header = vec![0xc1, 0x80];
    p.block.block_hash = alloy_primitives::keccak256(&p.block.context.header).0;
    assert!(matches!(
        rejects(&p),
        VerifyError::Context(ContextError::HeaderDecode(_))
    ));

    let mut p = proof.clone();
    p.block.state_root[31] ^= 1;
    assert_eq!(
        rejects(&p),
        VerifyError::Context(ContextError::HeaderField {
            field: "state root"
        })
    );

    // CHAINID's value is not in the header: a claim of another chain gives other context
    // values than the shards carry.
    let mut p = proof.clone();
    p.block.context.chain_id += 1;
    assert_eq!(rejects(&p), VerifyError::WrongBlockContext { shard: 0 });

    // A read of the parent's hash with no ancestor header in the claim.
    let mut p = proof.clone();
    p.block.context.block_hash_reads = vec![p.block.number - 1];
    p.block.context.ancestors.clear();
    assert_eq!(
        rejects(&p),
        VerifyError::Context(ContextError::MissingAncestor {
            number: p.block.number - 1
        })
    );
    // ... or with an ancestor that is not the parent.
    p.block.context.ancestors = vec![p.block.context.header.clone()];
    assert!(matches!(
        rejects(&p),
        VerifyError::Context(ContextError::BrokenAncestorChain { index: 0, .. })
    ));
    p.block.context.ancestors = vec![vec![0x01]];
    assert!(matches!(
        rejects(&p),
        VerifyError::Context(ContextError::AncestorDecode { index: 0, .. })
    ));
    p.block.context.block_hash_reads = vec![5, 5];
    assert_eq!(
        rejects(&p),
        VerifyError::Context(ContextError::ReadsNotSorted)
    );

    // A shard that carries other context values than the claim gives.
    let mut p = proof.clone();
    let last = p.shards[1].public_values[slotproof::air::shard::OPCODE_TABLE]
        .last_mut()
        .unwrap();
    *last ^= 1;
    assert_eq!(rejects(&p), VerifyError::WrongBlockContext { shard: 1 });
}

#[test]
fn missing_or_reordered_shards_are_rejected() {
    let (proof, _) = proved();
    let mut p = proof.clone();
    p.shards.remove(1);
    assert!(matches!(
        verify_block_proof(&reencode(&p)),
        Err(VerifyError::BrokenChain { .. })
    ));
    let mut p = proof.clone();
    p.shards.swap(0, 1);
    assert!(verify_block_proof(&reencode(&p)).is_err());
    let mut p = proof.clone();
    p.shards.clear();
    assert_eq!(
        verify_block_proof(&reencode(&p)),
        Err(VerifyError::MissingShards {
            subblock: 0,
            steps: 188
        })
    );
    let mut p = proof.clone();
    p.subblocks.clear();
    assert_eq!(verify_block_proof(&reencode(&p)), Err(VerifyError::Empty));
}

#[test]
fn malformed_bytes_are_errors_not_panics() {
    let (_, bytes) = proved();
    assert!(matches!(
        verify_block_proof(&[]),
        Err(VerifyError::Malformed(_))
    ));
    for cut in [1, 7, bytes.len() / 3, bytes.len() - 1] {
        assert!(
            verify_block_proof(&bytes[..cut]).is_err(),
            "truncated at {cut}"
        );
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for len in [3usize, 64, 1000, 50_000] {
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(verify_block_proof(&junk).is_err());
    }
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(verify_block_proof(&extra).is_err(), "trailing bytes");
    let mut p = BlockProof::from_bytes(bytes).unwrap();
    p.shards[0].public_values[0][0] = u32::MAX;
    assert_eq!(
        verify_block_proof(&reencode(&p)),
        Err(VerifyError::NonCanonical { shard: 0 })
    );
    let mut p = BlockProof::from_bytes(bytes).unwrap();
    p.shards[0].public_values[0].pop();
    assert_eq!(
        verify_block_proof(&reencode(&p)),
        Err(VerifyError::PublicValueShape { shard: 0 })
    );
    let mut p = BlockProof::from_bytes(bytes).unwrap();
    p.version = 1;
    assert!(matches!(
        verify_block_proof(&reencode(&p)),
        Err(VerifyError::Unsupported(_))
    ));
}

#[test]
fn babybear_block_proof_verifies_and_unknown_fields_are_rejected() {
    use slotproof::Field;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/transfers.json");
    let input = BlockInput::from_path(path).unwrap();
    let proved = BlockProver::builder()
        .field(Field::BabyBear)
        .max_shard_rows(128)
        .build()
        .prove(&input)
        .unwrap();
    assert_eq!(proved.proof.field, "babybear");
    let bytes = proved.proof.to_bytes().unwrap();
    assert_eq!(verify_block_proof(&bytes).unwrap(), proved.proof.block);
    // The same shards claimed as KoalaBear proofs do not verify.
    let mut p = proved.proof.clone();
    p.field = "koalabear".into();
    assert!(verify_block_proof(&p.to_bytes().unwrap()).is_err());
    p.field = "goldilocks".into();
    assert!(matches!(
        verify_block_proof(&p.to_bytes().unwrap()),
        Err(VerifyError::Unsupported(_))
    ));
}

/// Shard 1 of the `transfers` proof made again with its CPU table one doubling past its shape:
/// a valid STARK proof of the same statement, but of a shape off the menu.
fn off_menu_shard_proof(proof: &BlockProof) -> Vec<u8> {
    use p3_field::PrimeCharacteristicRing;
    use slotproof::air::shard::{CPU, Padding, ShardStream, plan_shards};
    use slotproof::air::{
        EvmAir,
        shape::{SHARD_SHAPES, SMALLEST_SHAPE},
    };
    use slotproof::executor::{ExecuteOptions, execute_block};
    use slotproof::prover::{CpuShardProver, FriSettings, KoalaBear, ShardProver, proof_to_bytes};

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/transfers.json");
    let exec = execute_block(
        &BlockInput::from_path(path).unwrap(),
        &ExecuteOptions::default(),
    )
    .unwrap();
    let trace = &exec.subblocks[0].trace;
    let ranges = plan_shards(trace, 64).unwrap();
    let stream = ShardStream::new(trace, &ranges).unwrap();
    let menu = stream
        .generate_padded::<KoalaBear>(ranges[1].clone(), &Padding::Menu)
        .unwrap();
    assert_eq!(menu.shape, Some(SMALLEST_SHAPE));
    let mut heights = SHARD_SHAPES[SMALLEST_SHAPE].log_heights;
    heights[CPU] += 1;
    let shard = stream
        .generate_padded::<KoalaBear>(ranges[1].clone(), &Padding::LogHeights(heights))
        .unwrap();
    // The statement the block proof's shard 1 makes (binding included).
    let public_values: Vec<Vec<KoalaBear>> = proof.shards[1]
        .public_values
        .iter()
        .map(|v| v.iter().map(|&x| KoalaBear::from_u32(x)).collect())
        .collect();
    let prover: CpuShardProver<KoalaBear> = ShardProver::cpu(FriSettings::DEFAULT);
    let airs = EvmAir::shard_airs();
    let stark = prover
        .prove(&airs, &shard.traces, &public_values)
        .expect("proves");
    prover
        .verify(&airs, &stark, &public_values)
        .expect("a valid proof, whatever its shape");
    proof_to_bytes(&stark).unwrap()
}

#[test]
fn a_shard_proof_of_a_shape_off_the_menu_is_rejected() {
    let (proof, _) = proved();
    let off_menu = off_menu_shard_proof(proof);
    let mut p = proof.clone();
    p.shards[1].proof = off_menu;
    assert_eq!(
        verify_block_proof(&reencode(&p)),
        Err(VerifyError::ShapeNotInMenu {
            shard: 1,
            table: "cpu",
            log_height: slotproof::air::shape::SHARD_SHAPES[slotproof::air::shape::SMALLEST_SHAPE]
                .log_heights[0]
                + 1,
        })
    );
}

#[test]
fn an_aggregated_proof_naming_a_shape_off_the_menu_is_rejected() {
    use slotproof::aggregated::{
        AGGREGATED_PROOF_VERSION, AggregatedProof, CompactClaims, ShardShape,
    };
    use slotproof::air::shape::SHARD_SHAPES;
    let (proof, _) = proved();
    let menu: Vec<u8> = SHARD_SHAPES[0]
        .log_heights
        .iter()
        .map(|&h| h as u8)
        .collect();
    let v3 = |degree_bits: Vec<Vec<u8>>| {
        AggregatedProof {
            version: AGGREGATED_PROOF_VERSION,
            field: proof.field.clone(),
            block: proof.block.clone(),
            subblocks: CompactClaims::encode(&proof.subblocks),
            coverage_version: proof.coverage_version,
            shards: proof
                .shards
                .iter()
                .zip(degree_bits)
                .map(|(s, degree_bits)| ShardShape {
                    subblock: s.subblock,
                    degree_bits,
                })
                .collect(),
            // No root keys or proof: the shapes are checked before they are read.
            root_keys: Vec::new(),
            root_proof: Vec::new(),
        }
        .to_bytes()
        .unwrap()
    };
    // Menu shapes pass the shape check and reach the (missing) root proof.
    let on_menu = vec![menu.clone(); proof.shards.len()];
    assert!(matches!(
        verify_block_proof(&v3(on_menu.clone())),
        Err(VerifyError::Malformed(m)) if m.starts_with("root proof")
    ));
    let mut off_menu = on_menu;
    off_menu[2][slotproof::air::shard::MULDIV] += 1;
    assert_eq!(
        verify_block_proof(&v3(off_menu)),
        Err(VerifyError::ShapeNotInMenu {
            shard: 2,
            table: "muldiv",
            log_height: usize::from(menu[slotproof::air::shard::MULDIV]) + 1,
        })
    );
}
