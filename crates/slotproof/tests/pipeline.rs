//! Trace generation overlapped with proving: the same proof bytes as generating every trace
//! first, shards reported in proof order, and progress that names every shard once. Runs on the
//! CPU (the lanes of a CUDA run take shards from the same queue).

use slotproof::executor::BlockInput;
use slotproof::{BlockProver, Progress, ProveError, ProvedBlock, verify_block_proof};
use std::sync::Mutex;

fn token() -> BlockInput {
    BlockInput::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/token.json"
    ))
    .unwrap()
}

/// Small subblocks and shards, so the block has several of each (3 subblocks of about 1,200
/// steps, 2 shards each).
fn prove(overlap: bool, budget: Option<u64>) -> (ProvedBlock, Vec<Progress>) {
    try_prove(overlap, budget).unwrap()
}

fn try_prove(
    overlap: bool,
    budget: Option<u64>,
) -> Result<(ProvedBlock, Vec<Progress>), ProveError> {
    let events = Mutex::new(Vec::new());
    let proved = BlockProver::builder()
        .subblock_gas(700_000)
        .max_shard_rows(1 << 10)
        .device_memory_budget(budget)
        .overlap_tracegen(overlap)
        .build()
        .prove_with_progress(&token(), &|p| events.lock().unwrap().push(p))?;
    Ok((proved, events.into_inner().unwrap()))
}

/// Every shard proven once, `ShardsPlanned` once with the shard count; with overlap off it
/// comes before any shard is proven.
fn check_progress(events: &[Progress], shards: usize, overlap: bool) {
    let planned: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Progress::ShardsPlanned(n) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(planned, vec![shards]);
    let mut proven: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Progress::ShardProven(k) => Some(*k),
            _ => None,
        })
        .collect();
    if !overlap {
        assert_eq!(events[0], Progress::ShardsPlanned(shards));
    }
    proven.sort_unstable();
    assert_eq!(proven, (0..shards).collect::<Vec<_>>());
}

/// Overlapped, shards are streamed and each subblock analysed shard by shard; sequential, every
/// subblock is analysed whole first: the same bytes either way.
#[test]
fn overlapped_and_sequential_trace_generation_give_the_same_proof() {
    let (overlapped, events) = prove(true, None);
    let (sequential, sequential_events) = prove(false, None);
    let shards = overlapped.proof.shards.len();
    let subblocks: std::collections::BTreeSet<usize> =
        overlapped.shards.iter().map(|r| r.subblock).collect();
    assert!(
        subblocks.len() >= 3 && shards > subblocks.len(),
        "{shards} shards in {} subblocks",
        subblocks.len()
    );
    assert!(overlapped.timings.overlapped && !sequential.timings.overlapped);

    let bytes = overlapped.proof.to_bytes().unwrap();
    assert!(bytes == sequential.proof.to_bytes().unwrap());
    verify_block_proof(&bytes).unwrap();
    // The same reports but for the phase times, which are wall times of two different runs.
    let without_times = |reports: &[slotproof::ShardReport]| {
        let mut reports = reports.to_vec();
        for r in &mut reports {
            assert!(
                !r.phases.is_empty(),
                "every proven shard reports its phases"
            );
            r.phases.clear();
        }
        reports
    };
    assert_eq!(
        without_times(&overlapped.shards),
        without_times(&sequential.shards)
    );
    check_progress(&events, shards, true);
    check_progress(&sequential_events, shards, false);

    // Reports in proof order: indices 0.., subblocks ascending, steps contiguous in each.
    let mut next_step = std::collections::BTreeMap::new();
    for (k, r) in overlapped.shards.iter().enumerate() {
        assert_eq!(r.index, k);
        assert_eq!(overlapped.proof.shards[k].subblock as usize, r.subblock);
        let start = next_step.entry(r.subblock).or_insert(0);
        assert_eq!(r.steps.start, *start, "{r:?}");
        *start = r.steps.end;
    }
    assert!(overlapped.shards.is_sorted_by_key(|r| r.subblock));
    assert_eq!(overlapped.timings.shards.len(), shards);
}

/// A budget under the smallest shape's plan: a shard of that shape cannot be cut into anything
/// smaller, and a larger one is cut down to it, so the overlapped pipeline stops with the first
/// shard's typed error (no cut down to single steps, no lane left waiting). (Budget cuts of
/// larger shapes, in order: `memory.rs` unit tests.)
#[test]
fn a_budget_under_the_smallest_shape_stops_the_pipeline_with_a_typed_error() {
    let (whole, _) = prove(true, None);
    let smallest = whole
        .shards
        .iter()
        .filter(|r| r.shape == Some(slotproof::air::shape::SMALLEST_SHAPE))
        .map(|r| r.planned_device_bytes)
        .min()
        .expect("a shard of the smallest shape");
    assert!(
        whole
            .shards
            .iter()
            .all(|r| r.planned_device_bytes >= smallest)
    );
    let first = &whole.shards[0];
    match try_prove(true, Some(smallest - 1)) {
        Err(ProveError::OutOfDeviceMemory {
            subblock,
            shard: 0,
            steps,
            needed,
            ..
        }) => {
            assert_eq!(subblock, first.subblock);
            // The first shard, or (of a larger shape) its first part.
            assert_eq!(steps.start, first.steps.start);
            assert!(steps.end <= first.steps.end);
            assert_eq!(needed, smallest);
        }
        other => panic!(
            "expected OutOfDeviceMemory, got {:?}",
            other.map(|p| p.0.shards.len())
        ),
    }
}

/// The mixed fixture (several subblocks, calls, memory): with its subblocks analysed shard by
/// shard as shards are streamed (the default) or whole before their first shard
/// (`stream_trace(false)`), the same proof bytes. Two proofs of the whole block take minutes in
/// the test profile, so it is ignored by default (run it with `--ignored`); by default the same
/// equality is checked on the shards' tables and public values (`memory::tests::
/// shards_analysed_shard_by_shard_are_the_shards_analysed_whole`, the mixed block in 1,024-step
/// shards), on the token block's proof bytes (overlapped, so streamed and analysed shard by
/// shard, against sequential, analysed whole: the test above) and on a giant transaction's
/// (`tests/giant.rs`).
#[test]
#[ignore = "proves the mixed block twice (minutes): cargo test --test pipeline -- --ignored"]
fn subblocks_analysed_shard_by_shard_or_whole_give_the_same_proof() {
    let input = BlockInput::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/mixed.json"
    ))
    .unwrap();
    let prove = |stream: bool| {
        let proved = BlockProver::builder()
            .max_shard_rows(1 << 12)
            .stream_trace(stream)
            .build()
            .prove(&input)
            .unwrap();
        assert!(proved.shards.len() > proved.proof.subblocks.len());
        proved.proof.to_bytes().unwrap()
    };
    let streamed = prove(true);
    assert!(streamed == prove(false));
    verify_block_proof(&streamed).unwrap();
}

/// A cancelled proof stops early: cancelled when its first shard is proven, no more shards are
/// started (those already running finish) and the proof ends with `Cancelled`; a token
/// cancelled before the start does no work at all.
#[test]
fn a_cancelled_proof_stops_after_the_shards_it_started() {
    let cancel = slotproof::CancelToken::new();
    let proven = Mutex::new(0usize);
    let prover = BlockProver::builder()
        .subblock_gas(700_000)
        .max_shard_rows(1 << 10)
        .shards_in_flight(slotproof::ShardsInFlight::AtMost(1))
        .build();
    let result = prover.prove_cancellable(
        &token(),
        &|p| {
            if let Progress::ShardProven(_) = p {
                *proven.lock().unwrap() += 1;
                cancel.cancel();
            }
        },
        &cancel,
    );
    assert!(
        matches!(result, Err(ProveError::Cancelled)),
        "{:?}",
        result.err()
    );
    let proven = proven.into_inner().unwrap();
    // Six shards in all (see `prove`); the CPU lane proves the shards it took in parallel, but
    // with one shard in flight it never holds more than one.
    assert!(
        (1..6).contains(&proven),
        "{proven} shards proven after the cancel"
    );
    assert!(matches!(
        prover.prove_cancellable(&token(), &|_| {}, &cancel),
        Err(ProveError::Cancelled)
    ));
}
