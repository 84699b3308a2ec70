//! The analysis' look-ahead from the subblock's outline (issue 18's streaming executor: an
//! untraced run gives each context's last step and end before the trace is recorded): the same
//! shards and the same errors as from a first pass over the whole trace, and an outline that is
//! not the trace's is a typed error.

use core::ops::Range;

use slotproof_executor::generate::{GiantKind, fixture_text, generate_giant};
use slotproof_executor::trace::{SubblockOutline, SubblockTrace};
use slotproof_executor::{BlockInput, ExecuteOptions, execute_block, outline_block};

use crate::shard::{Padding, Shard, ShardStream, plan_shards};
use crate::tests::F;

/// Each subblock's recorded trace with its outline from an untraced run.
fn traced_and_outlined(input: &BlockInput) -> Vec<(SubblockTrace, SubblockOutline)> {
    let opts = ExecuteOptions::default();
    let recorded = execute_block(input, &opts).unwrap();
    let outlined = outline_block(input, &opts).unwrap();
    recorded
        .subblocks
        .into_iter()
        .zip(outlined.subblocks)
        .filter(|(r, _)| !r.trace.steps.is_empty())
        .map(|(r, o)| (r.trace, o.outline.unwrap()))
        .collect()
}

fn mixed() -> BlockInput {
    let path = format!("{}/../../fixtures/mixed.json", env!("CARGO_MANIFEST_DIR"));
    BlockInput::from_path(&path).unwrap()
}

/// Every shard of `ranges` in order, or the first error (with the shards before it).
fn shards(mut stream: ShardStream<'_>, ranges: &[Range<usize>]) -> (Vec<Shard<F>>, Option<String>) {
    let mut out = Vec::new();
    for r in ranges {
        match stream.next_padded(r.clone(), &Padding::Natural) {
            Ok(s) => out.push(s),
            Err(e) => return (out, Some(e.to_string())),
        }
    }
    (out, None)
}

fn both_ways(
    trace: &SubblockTrace,
    outline: &SubblockOutline,
    max_rows: usize,
) -> [(Vec<Shard<F>>, Option<String>); 2] {
    let ranges = plan_shards(trace, max_rows).unwrap();
    let whole = shards(ShardStream::incremental(trace, &ranges).unwrap(), &ranges);
    let outlined = ShardStream::incremental_outlined(trace, outline, &ranges).unwrap();
    [whole, shards(outlined, &ranges)]
}

fn assert_same(a: &[Shard<F>], b: &[Shard<F>]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.steps, y.steps);
        assert!(x.public_values == y.public_values, "{:?}", x.steps);
        assert!(x.traces == y.traces, "{:?}", x.steps);
    }
}

/// Cuts inside transactions and calls (the mixed block at 2^10 steps) and inside one MULMOD
/// transaction.
#[test]
fn shards_with_the_outlines_look_ahead_are_the_shards_of_the_whole_trace() {
    let giant = generate_giant(GiantKind::Mulmod, 100_000).unwrap();
    let giant = BlockInput::from_json_str(&fixture_text(&giant.json).unwrap()).unwrap();
    let mut compared = 0;
    for input in [mixed(), giant] {
        for (trace, outline) in traced_and_outlined(&input) {
            let [(whole, e1), (outlined, e2)] = both_ways(&trace, &outline, 1 << 10);
            assert_eq!((e1, e2), (None, None));
            assert_same(&whole, &outlined);
            compared += whole.len();
        }
    }
    assert!(compared >= 20, "{compared} shards");
}

/// A recorded stack word changed in a later shard: the same typed error, after the same shards.
#[test]
fn a_malformed_trace_is_the_same_error_with_the_outlines_look_ahead() {
    let (mut trace, outline) = traced_and_outlined(&mixed()).swap_remove(1);
    let k = (trace.steps.len() * 3 / 4..trace.steps.len())
        .find(|&i| trace.steps[i].reads > 0)
        .unwrap();
    trace.stack_words[trace.steps[k].stack_words as usize].0[0] ^= 1;
    let [(whole, e1), (outlined, e2)] = both_ways(&trace, &outline, 1 << 10);
    assert!(e1.is_some());
    assert_eq!(e1, e2);
    assert!(!whole.is_empty());
    assert_same(&whole, &outlined);
}

/// Another subblock's outline: a typed error, not a panic or other shards.
#[test]
fn an_outline_that_is_not_the_traces_is_a_typed_error() {
    let mut subblocks = traced_and_outlined(&mixed());
    let (_, other) = subblocks.swap_remove(0);
    let (trace, _) = subblocks.swap_remove(0);
    let ranges = plan_shards(&trace, 1 << 10).unwrap();
    let stream = ShardStream::incremental_outlined(&trace, &other, &ranges);
    let error = match stream {
        Ok(stream) => shards(stream, &ranges).1,
        Err(e) => Some(e.to_string()),
    };
    let error = error.expect("another subblock's outline was accepted");
    assert!(error.contains("outline"), "{error}");
}
