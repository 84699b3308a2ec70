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

/// Every `transfers` shard has the smallest shape, so its parts would be padded to the same
/// shape: a budget under the plan of that shape is a typed error at once, not a cut down to one
/// step. (Cutting a shard of a larger shape until its parts fit: `memory.rs` unit tests, which
/// need no proof of a full-size shard.)
#[test]
fn a_budget_under_the_smallest_shape_is_refused_without_cutting() {
    let whole = prove(None).unwrap();
    check_reports(&whole);
    assert!(
        whole
            .shards
            .iter()
            .all(|r| !r.cut_to_fit && r.shape == Some(slotproof::air::shape::SMALLEST_SHAPE))
    );
    let plan = whole.max_planned_device_bytes();
    assert!(whole.shards.iter().all(|r| r.planned_device_bytes == plan));
    let big = whole.shards.iter().max_by_key(|r| r.steps.len()).unwrap();
    assert!(big.steps.len() > 4, "a shard that could be cut ({big:?})");
    match prove(Some(plan - 1)) {
        Err(ProveError::OutOfDeviceMemory {
            subblock: 0,
            shard: 0,
            steps,
            needed,
            available,
        }) => {
            assert_eq!(
                steps, whole.shards[0].steps,
                "the whole first shard, not a part"
            );
            assert_eq!(needed, plan);
            assert_eq!(available, plan - 1);
        }
        other => panic!(
            "expected OutOfDeviceMemory, got {:?}",
            other.map(|p| p.shards.len())
        ),
    }
    // A budget the shape fits cuts nothing: the same proof.
    let fits = prove(Some(plan)).unwrap();
    assert!(fits.proof.to_bytes().unwrap() == whole.proof.to_bytes().unwrap());
    verify_block_proof(&fits.proof.to_bytes().unwrap()).unwrap();
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
