//! Memory carried across cuts inside a transaction: the non-zero words of the contexts alive at
//! a cut are tokens of the carry table's commitments (taken in by the later shard's bound rows,
//! handed on by the earlier one's), a live word cannot be left out, and a word not listed reads
//! zero.

use core::borrow::BorrowMut;
use std::sync::OnceLock;

use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_matrix::Matrix;
use slotproof_executor::generate::{GiantKind, generate_giant};
use slotproof_executor::trace::{AccessKind, SubblockTrace};

use crate::chips::carry::{self, CarryToken};
use crate::chips::cpu::columns::{CpuCols, NUM_CPU_COLS};
use crate::chips::memory::columns::{MemoryCols, NUM_MEMORY_COLS};
use crate::shard::{self, CARRY, CPU, MEMORY, Padding, Shard, ShardStream};
use crate::tests::{F, check};
use crate::tests_carry::{memory_rows, sent};

/// The `calls` fixture's shards, cut every 1,024 steps (through calls and returns).
fn shards() -> &'static [Shard<F>] {
    crate::tests_carry::shards()
}

fn memory_row_mut(s: &mut Shard<F>, r: usize) -> &mut MemoryCols<F> {
    s.traces[MEMORY].values[r * NUM_MEMORY_COLS..(r + 1) * NUM_MEMORY_COLS].borrow_mut()
}

fn cpu_row_mut(s: &mut Shard<F>, r: usize) -> &mut CpuCols<F> {
    s.traces[CPU].values[r * NUM_CPU_COLS..(r + 1) * NUM_CPU_COLS].borrow_mut()
}

fn cpu_rows(s: &Shard<F>) -> Vec<CpuCols<F>> {
    s.traces[CPU]
        .values
        .chunks_exact(NUM_CPU_COLS)
        .map(|r| *core::borrow::Borrow::<CpuCols<F>>::borrow(r))
        .collect()
}

/// The shard with its carry table regenerated for these tokens (same height or taller).
fn recommit(s: &mut Shard<F>, incoming: &[CarryToken], outgoing: &[CarryToken]) {
    let height = s.traces[CARRY].height();
    let (trace, pv) = carry::generate::<F>(incoming, outgoing, height);
    s.traces[CARRY] = trace;
    s.public_values[CARRY] = pv;
}

fn nonzero_final(c: &MemoryCols<F>) -> bool {
    c.old_a.iter().any(|b| *b != F::ZERO)
}

/// A shard taking memory words in, handing some on, and dropping words of a context that ended
/// in it with non-zero content.
fn memory_carrying() -> usize {
    (1..shards().len())
        .find(|&k| {
            let rows = memory_rows(&shards()[k]);
            rows.iter().any(|c| c.carried == F::ONE)
                && rows.iter().any(|c| c.out == F::ONE)
                && rows.iter().any(|c| c.dead == F::ONE && nonzero_final(c))
        })
        .expect("a shard carrying memory in and out and ending a context with memory")
}

#[test]
fn memory_words_are_carried_across_cuts() {
    let shards = shards();
    let mut words = 0;
    for w in shards.windows(2) {
        assert!(shard::carries_on(&w[0].public_values, &w[1].public_values));
        words += sent(&w[0], true)
            .iter()
            .filter(|t| matches!(t, CarryToken::Memory { .. }))
            .count();
    }
    assert!(words > 0, "no memory word carried");
    // The shard ending a context drops its words (its CPU row provides the context's end) and
    // proves.
    let s = &shards[memory_carrying()];
    check(s).expect("a shard dropping an ended context's words proves");
    let ended: u32 = cpu_rows(s).iter().map(|c| c.ended.as_canonical_u32()).sum();
    let dead = memory_rows(s).iter().filter(|c| c.dead == F::ONE).count();
    assert_eq!(ended as usize, dead);
}

#[test]
fn carried_memory_mutations_are_rejected() {
    let k = memory_carrying();
    // The shard with padding rows in its CPU table.
    let t = &crate::tests::fixture("calls")[0];
    let ranges = shard::fixed_ranges(t.steps.len(), crate::tests_carry::STEPS);
    let mut heights = shards()[k].natural_log_heights;
    heights[CPU] += 1;
    let roomy = ShardStream::new(t, &ranges)
        .unwrap()
        .generate_padded::<F>(ranges[k].clone(), &Padding::LogHeights(heights))
        .unwrap();
    let (prev, base) = (&shards()[k - 1], &roomy);
    let rows = memory_rows(base);
    let (incoming, outgoing) = (sent(base, false), sent(base, true));
    let rejected = |s: &Shard<F>, what: &str| assert!(check(s).is_err(), "{what} goes unnoticed");

    // A carried-in word's byte changed in the commitment: the bound row sends other content (and
    // the earlier shard handed on the honest one).
    let at = incoming
        .iter()
        .position(|t| matches!(t, CarryToken::Memory { .. }))
        .unwrap();
    let mut tampered = incoming.clone();
    if let CarryToken::Memory { bytes, .. } = &mut tampered[at] {
        bytes[31] ^= 1;
    }
    let mut s = base.clone();
    recommit(&mut s, &tampered, &outgoing);
    rejected(&s, "a carried word with a changed byte");
    let mut pv = base.public_values.clone();
    pv[CARRY].copy_from_slice(&s.public_values[CARRY]);
    assert!(!shard::carries_on(&prev.public_values, &pv));

    // A word invented in the in list (committed after the honest tokens, no bound row sends it).
    let mut invented = incoming.clone();
    invented.push(CarryToken::Memory {
        ctx: 0,
        word: 1 << 20,
        bytes: [7; 32],
    });
    let mut s = base.clone();
    recommit(&mut s, &invented, &outgoing);
    rejected(&s, "a carried-in word no bound row takes");

    // A live word dropped from the out list: the last one, so no other token moves.
    let last = rows
        .iter()
        .enumerate()
        .filter(|(_, c)| c.out == F::ONE)
        .max_by_key(|(_, c)| c.pos_out.as_canonical_u32())
        .map(|(r, _)| r)
        .unwrap();
    assert!(nonzero_final(&rows[last]));
    let dropped = &outgoing[..outgoing.len() - 1];
    let mut s = base.clone();
    memory_row_mut(&mut s, last).out = F::ZERO;
    recommit(&mut s, &incoming, dropped);
    rejected(&s, "a live word left out of the out list");
    // ... claiming its context ended, where it did not (no CPU row provides its end) ...
    let mut s = base.clone();
    {
        let c = memory_row_mut(&mut s, last);
        c.out = F::ZERO;
        c.dead = F::ONE;
    }
    recommit(&mut s, &incoming, dropped);
    rejected(&s, "a live word claimed of an ended context");
    // ... with a CPU step of that context providing the end though it continues, suspends, or
    // a padding row providing it.
    let ctx = rows[last].ctx;
    let cpu = cpu_rows(base);
    let continuing = cpu
        .iter()
        .position(|c| c.ctx == ctx && c.cont == F::ONE)
        .unwrap();
    let padding = cpu.iter().position(|c| c.is_real == F::ZERO).unwrap();
    let mut fakes = vec![(continuing, "a continuing step")];
    if let Some(r) = cpu.iter().position(|c| c.ctx == ctx && c.suspend == F::ONE) {
        fakes.push((r, "a suspending call"));
    }
    fakes.push((padding, "a padding row"));
    for (r, what) in fakes {
        let mut s = base.clone();
        {
            let c = memory_row_mut(&mut s, last);
            c.out = F::ZERO;
            c.dead = F::ONE;
        }
        let c = cpu_row_mut(&mut s, r);
        c.ended += F::ONE;
        c.ctx = ctx;
        recommit(&mut s, &incoming, dropped);
        rejected(&s, &format!("a context's end provided by {what}"));
    }

    // An access row handing on a word (only bound rows do, one per word).
    let op = rows
        .iter()
        .position(|c| c.is_store == F::ONE && nonzero_final(c))
        .unwrap();
    let mut more = outgoing.clone();
    let pos: usize = outgoing.iter().map(|t| t.kind().chunks()).sum();
    let u = |x: F| x.as_canonical_u32();
    more.push(CarryToken::Memory {
        ctx: u(rows[op].ctx),
        word: u(rows[op].word),
        bytes: rows[op].old_a.map(|b| u(b) as u8),
    });
    let mut s = base.clone();
    {
        let c = memory_row_mut(&mut s, op);
        c.out = F::ONE;
        c.pos_out = F::from_usize(pos);
    }
    recommit(&mut s, &incoming, &more);
    rejected(&s, "an access row handing on a word");
}

/// A single-transaction MCOPY loop: its memory is written before the loop and read after it.
fn mcopy_trace() -> &'static SubblockTrace {
    static T: OnceLock<SubblockTrace> = OnceLock::new();
    T.get_or_init(|| {
        let giant = generate_giant(GiantKind::Mcopy, 100_000).unwrap();
        let mut subs = giant.execution.subblocks;
        subs.sort_by_key(|s| s.trace.steps.len());
        subs.pop().unwrap().trace
    })
}

/// The old gap: a shard reading a word as zero that the shard before it wrote. The MCOPY loop
/// ends with `MLOAD(0)` (then SSTORE); the last shard holds only that tail. Its forged twin is
/// generated from a trace whose memory writes before the cut are gone and whose MLOAD pushes
/// (and SSTORE stores) zero: it proves on its own and carries the same stack as the honest
/// shard, so before memory was committed it chained with the honest shards. Now the honest
/// shard before the cut hands on the words the forged one does not take in.
#[test]
fn a_word_read_as_zero_after_the_cut_is_rejected() {
    let t = mcopy_trace();
    let n = t.steps.len();
    let mload = (0..n)
        .rev()
        .find(|&i| t.steps[i].opcode == crate::opcodes::MLOAD)
        .unwrap();
    let cut = mload - 1;
    let ranges = vec![0..cut / 2, cut / 2..cut, cut..n];
    let honest = shard::generate_shards_in::<F>(t, ranges.clone()).unwrap();
    assert!(shard::carries_on(
        &honest[1].public_values,
        &honest[2].public_values
    ));

    let mut forged = t.clone();
    forged
        .mem_accesses
        .retain(|m| !(m.kind == AccessKind::MemoryWrite as u32 && (m.step as usize) < cut));
    let word = |i: usize| forged.steps[i].stack_words as usize;
    let value = word(mload) + forged.steps[mload].reads as usize;
    assert_ne!(forged.stack_words[value], Default::default());
    forged.stack_words[value] = Default::default();
    let sstore = mload + 2;
    assert_eq!(forged.steps[sstore].opcode, 0x55);
    forged.stack_words[word(sstore) + 1] = Default::default();
    let twin = shard::generate_shards_in::<F>(&forged, ranges)
        .unwrap()
        .pop()
        .unwrap();
    check(&twin).expect("the forged last shard proves on its own");
    assert!(
        !shard::carries_on(&honest[1].public_values, &twin.public_values),
        "a word read as zero after the cut chains with the shard that wrote it"
    );
}

/// A live memory image too large for the ordinary shapes' carry tables takes the live-memory
/// shape (a memory-expansion loop keeps every word it stored alive, and a cut halfway through
/// it carries hundreds of them); one too large for every shape is a typed error naming the
/// table, not a panic or a truncated commitment.
#[test]
fn a_large_live_image_takes_the_live_memory_shape_and_a_larger_one_is_a_typed_error() {
    let giant = generate_giant(GiantKind::MemExpand, 100_000).unwrap();
    let mut subs = giant.execution.subblocks;
    subs.sort_by_key(|s| s.trace.steps.len());
    let t = subs.pop().unwrap().trace;
    let n = t.steps.len();
    let ranges = vec![0..n / 2, n / 2..n];
    let later = ShardStream::new(&t, &ranges)
        .unwrap()
        .generate_padded::<F>(ranges[1].clone(), &Padding::Menu);
    let later = later.expect("the live-memory shape holds it");
    assert!(
        later.natural_log_heights[shard::CARRY]
            > crate::shape::SHARD_SHAPES[4].log_heights[shard::CARRY],
        "no ordinary shape's carry table holds it: {:?}",
        later.natural_log_heights
    );
    assert_eq!(later.shape, Some(crate::shape::LIVE_MEMORY_SHAPE));

    let mut beyond = later.natural_log_heights;
    beyond[shard::CARRY] = crate::shape::tallest(shard::CARRY) + 1;
    match crate::shape::overflow(&beyond) {
        Some(o) => assert_eq!(o.table, "carry"),
        None => panic!("a carry table taller than every shape's fits one"),
    }
}
