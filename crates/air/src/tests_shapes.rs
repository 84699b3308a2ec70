//! Shards padded to the menu's shapes, and past them, still prove; shards that fit no shape,
//! or padding below a table's rows, are refused with the table named.

use crate::TraceError;
use crate::shape::{self, SHARD_SHAPES};
use crate::shard::{
    self, ALU, BITWISE, CPU, FIXED_LOG_HEIGHTS, MULDIV, NUM_INSTANCES, Padding, Shard, ShardStream,
};
use crate::tests::{F, fixture, prove_verify};

/// Every shard (65,536 steps at most, natural heights) of the mainnet fixtures
/// (`../shared/fixtures`, or `SLOTPROOF_FIXTURES`) and of the repository's, handed to `visit`
/// with its fixture's path and subblock: what the ignored height printers measure the shape menu
/// on. An absent fixture is printed and passed over.
pub(crate) fn for_each_fixture_shard(mut visit: impl FnMut(&str, usize, &Shard<F>)) {
    for_each_fixture_subblock(|p, k, t| {
        for s in shard::generate_shards::<F>(t, 1 << 16).expect("shards") {
            visit(p, k, &s);
        }
    });
}

/// Every non-empty subblock trace of the fixtures [`for_each_fixture_shard`] walks.
pub(crate) fn for_each_fixture_subblock(
    mut visit: impl FnMut(&str, usize, &slotproof_executor::trace::SubblockTrace),
) {
    use slotproof_executor::{BlockInput, ExecuteOptions, execute_block};
    let root = std::env::var("SLOTPROOF_FIXTURES")
        .unwrap_or_else(|_| format!("{}/../../../shared/fixtures", env!("CARGO_MANIFEST_DIR")));
    let mut paths: Vec<String> = ["21688509", "22615247", "21872325-flat"]
        .iter()
        .map(|b| format!("{root}/mainnet/{b}.json"))
        .collect();
    for f in ["mixed", "keccak", "calls", "token"] {
        paths.push(format!(
            "{}/../../fixtures/{f}.json",
            env!("CARGO_MANIFEST_DIR")
        ));
    }
    for p in paths {
        let Ok(input) = BlockInput::from_path(&p) else {
            println!("{p}: absent");
            continue;
        };
        let exec = execute_block(&input, &ExecuteOptions::default()).expect("executes");
        for (k, sb) in exec.subblocks.iter().enumerate() {
            if !sb.trace.steps.is_empty() {
                visit(&p, k, &sb.trace);
            }
        }
    }
}

fn log_heights(s: &Shard<F>) -> Vec<usize> {
    use p3_matrix::Matrix;
    s.traces
        .iter()
        .map(|t| t.height().trailing_zeros() as usize)
        .collect()
}

#[test]
fn a_shard_padded_to_its_shape_and_to_a_larger_one_proves_and_verifies() {
    // A shard of 256 steps of the mixed block that uses the ALU, the byte-AND table and the
    // multiplication chip, so that their padding rows follow real ones.
    let t = &fixture("mixed")[0];
    let ranges = shard::plan_shards(t, 256).unwrap();
    let stream = ShardStream::new(t, &ranges).unwrap();
    let (range, natural) = ranges
        .iter()
        .find_map(|r| {
            let s: Shard<F> = stream.generate(r.clone()).unwrap();
            let used = |k: usize| s.natural_log_heights[k] > 2;
            (used(ALU) && used(BITWISE) && used(MULDIV)).then(|| (r.clone(), s))
        })
        .expect("a shard using the ALU, byte-AND and multiplication tables");
    assert_eq!(natural.shape, None);
    assert_eq!(log_heights(&natural), natural.natural_log_heights.to_vec());

    let menu: Shard<F> = stream
        .generate_padded(range.clone(), &Padding::Menu)
        .unwrap();
    assert_eq!(
        menu.shape,
        Some(shape::SMALLEST_SHAPE),
        "{:?}",
        natural.natural_log_heights
    );
    assert_eq!(
        log_heights(&menu),
        SHARD_SHAPES[shape::SMALLEST_SHAPE].log_heights.to_vec()
    );
    assert_eq!(menu.natural_log_heights, natural.natural_log_heights);
    assert_eq!(menu.public_values, natural.public_values);

    // Every table that follows the shard one doubling past the smallest shape: not on the
    // menu, but a valid proof all the same (the menu is the verifier's rule, not the AIR's).
    let mut larger = SHARD_SHAPES[shape::SMALLEST_SHAPE].log_heights;
    for (h, fixed) in larger.iter_mut().zip(FIXED_LOG_HEIGHTS) {
        if fixed.is_none() {
            *h += 1;
        }
    }
    let padded: Shard<F> = stream
        .generate_padded(range, &Padding::LogHeights(larger))
        .unwrap();
    assert_eq!(padded.shape, None);
    assert_eq!(log_heights(&padded), larger.to_vec());
    assert_eq!(padded.public_values, natural.public_values);

    prove_verify(&menu);
    prove_verify(&padded);
}

#[test]
fn a_shard_that_fits_no_shape_names_the_table() {
    // The keccak block's subblock as one shard: more steps than any shape's CPU table.
    let t = &fixture("keccak")[0];
    let whole = 0..t.steps.len();
    let stream = ShardStream::new(t, std::slice::from_ref(&whole)).unwrap();
    match stream.generate_padded::<F>(whole, &Padding::Menu) {
        Err(TraceError::NoShapeFits {
            table,
            log_height,
            largest,
            natural,
            ..
        }) => {
            assert_eq!(table, "cpu");
            assert_eq!(log_height, natural[CPU]);
            assert_eq!(largest, shape::tallest(CPU));
            assert!(log_height > largest);
        }
        other => panic!("expected NoShapeFits, got {:?}", other.map(|s| s.shape)),
    }
}

#[test]
fn padding_below_a_table_or_off_a_fixed_height_is_refused() {
    let t = &fixture("transfers")[0];
    let ranges = shard::plan_shards(t, 128).unwrap();
    let stream = ShardStream::new(t, &ranges).unwrap();
    let natural = stream
        .generate::<F>(ranges[0].clone())
        .unwrap()
        .natural_log_heights;
    let mut short = natural;
    short[CPU] -= 1;
    assert!(matches!(
        stream.generate_padded::<F>(ranges[0].clone(), &Padding::LogHeights(short)),
        Err(TraceError::BelowNatural { table: "cpu", .. })
    ));
    let mut range_table = natural;
    range_table[shard::RANGE_U16] += 1;
    assert!(matches!(
        stream.generate_padded::<F>(ranges[0].clone(), &Padding::LogHeights(range_table)),
        Err(TraceError::FixedHeight {
            table: "range-u16",
            ..
        })
    ));
    assert_eq!(natural.len(), NUM_INSTANCES);
}
