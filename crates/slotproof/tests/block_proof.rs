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
    // Another block's claim with the shards unchanged: the binding no longer matches.
    let mut p = proof.clone();
    p.block.state_root[31] ^= 1;
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
        s.public_values[slotproof::air::shard::OPCODE_TABLE] =
            binding.iter().map(|f| f.as_canonical_u32()).collect();
    }
    assert!(matches!(
        verify_block_proof(&reencode(&p)),
        Err(VerifyError::ShardRejected { shard: 0, .. })
    ));
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
