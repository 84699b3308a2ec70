//! Planned device memory per shard (reported on every backend), shards re-cut to fit a device
//! memory budget (the split shards prove and verify), a budget nothing fits is a typed error,
//! and device lists are checked before any work. Runs on the CPU; the budget stands in for a
//! device's free memory.

use slotproof::executor::BlockInput;
use slotproof::{
    BackendUnavailable, BlockProver, DevicePhase, ProveError, ProvedBlock, verify_block_proof,
};

fn transfers() -> BlockInput {
    BlockInput::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/transfers.json"
    ))
    .unwrap()
}

const MAX_ROWS: usize = 1 << 10;

fn prove(budget: Option<u64>) -> Result<ProvedBlock, ProveError> {
    BlockProver::builder()
        .max_shard_rows(MAX_ROWS)
        .device_memory_budget(budget)
        .build()
        .prove(&transfers())
}

/// Every shard is reported in proof order with its steps and a planned peak; a CPU run has no
/// device and cuts nothing without a budget.
fn check_reports(proved: &ProvedBlock) {
    assert_eq!(proved.shards.len(), proved.proof.shards.len());
    for (k, (r, s)) in proved.shards.iter().zip(&proved.proof.shards).enumerate() {
        assert_eq!(r.index, k);
        assert_eq!(r.subblock, s.subblock as usize);
        assert!(!r.steps.is_empty());
        assert_eq!(r.device, None);
        // Measured only where a device proves it.
        assert_eq!(r.measured_device_bytes, None);
        // At least the range-16 table's LDE (2^17 rows of 2 words + its tree).
        assert!(r.planned_device_bytes > 1 << 20, "{r:?}");
        assert_ne!(r.peak_phase, DevicePhase::MainCommit, "{r:?}");
    }
    // Per subblock the steps are contiguous from 0.
    let mut next = std::collections::BTreeMap::new();
    for r in &proved.shards {
        let start = next.entry(r.subblock).or_insert(0);
        assert_eq!(r.steps.start, *start, "{r:?}");
        *start = r.steps.end;
    }
}

#[test]
fn a_budget_cuts_shards_until_each_fits_and_the_proof_verifies() {
    let whole = prove(None).unwrap();
    check_reports(&whole);
    assert!(whole.shards.iter().all(|r| !r.cut_to_fit));
    let largest = whole.max_planned_device_bytes();
    let big_steps = whole.shards.iter().map(|r| r.steps.len()).max().unwrap();
    assert!(big_steps > 4, "a shard to cut ({big_steps} steps)");

    // The largest shard no longer fits; every shard that did still does.
    let budget = largest - 1;
    let cut = prove(Some(budget)).unwrap();
    check_reports(&cut);
    assert!(cut.shards.len() > whole.shards.len());
    assert!(cut.shards.iter().any(|r| r.cut_to_fit));
    for r in &cut.shards {
        assert!(r.planned_device_bytes <= budget, "{r:?} over {budget}");
    }
    // Shards under the budget were left as they were.
    for w in whole
        .shards
        .iter()
        .filter(|r| r.planned_device_bytes <= budget)
    {
        assert!(
            cut.shards
                .iter()
                .any(|c| c.subblock == w.subblock && c.steps == w.steps && !c.cut_to_fit),
            "{w:?} was cut"
        );
    }
    let bytes = cut.proof.to_bytes().unwrap();
    verify_block_proof(&bytes).unwrap();
    assert_eq!(
        cut.proof.block, whole.proof.block,
        "the same block, proven in more shards"
    );
}

#[test]
fn a_budget_nothing_fits_is_a_typed_error() {
    let budget = 1 << 20;
    match prove(Some(budget)) {
        Err(ProveError::OutOfDeviceMemory {
            subblock,
            shard,
            steps,
            needed,
            available,
        }) => {
            assert_eq!(available, budget);
            assert!(needed > available);
            assert!(!steps.is_empty());
            let msg = ProveError::OutOfDeviceMemory {
                subblock,
                shard,
                steps,
                needed,
                available,
            }
            .to_string();
            assert!(msg.contains(&format!("needs {needed} bytes")), "{msg}");
            assert!(
                msg.contains(&format!("shard {shard} of subblock {subblock}")),
                "{msg}"
            );
        }
        Err(e) => panic!("expected OutOfDeviceMemory, got {e}"),
        Ok(_) => panic!("a 1 MiB budget fits a shard"),
    }
}

#[test]
fn device_lists_are_checked_before_any_work() {
    let input = transfers();
    let err = |prover: BlockProver| match prover.prove(&input) {
        Err(ProveError::Backend(e)) => {
            assert_eq!(prover.check_backend(), Err(e.clone()));
            e
        }
        Err(e) => panic!("expected a backend error, got {e}"),
        Ok(_) => panic!("proved on a bad device list"),
    };
    assert_eq!(
        err(BlockProver::builder().cuda_devices(&[]).build()),
        BackendUnavailable::NoCudaDevices
    );
    assert_eq!(
        err(BlockProver::builder().cuda_devices(&[1, 0, 1]).build()),
        BackendUnavailable::DuplicateCudaDevice(1)
    );
    assert_eq!(
        err(BlockProver::builder().cuda(0).cuda_streams(0).build()),
        BackendUnavailable::NoStreams(0)
    );
    #[cfg(not(feature = "cuda"))]
    assert_eq!(
        err(BlockProver::builder().cuda_devices(&[0, 1]).build()),
        BackendUnavailable::CudaNotCompiled
    );
    #[cfg(feature = "cuda")]
    if slotproof::cuda::CudaBackend::new().is_err() {
        assert!(matches!(
            err(BlockProver::builder().cuda_devices(&[0, 1]).build()),
            BackendUnavailable::CudaDevice { device: 0, .. }
        ));
    }
}
