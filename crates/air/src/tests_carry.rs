//! Carried state across cuts inside a transaction: the boundary chip sends the stack items and
//! suspended calls a shard takes in and hands on to the carry table, whose commitments
//! consecutive shards must agree on (`shard::carries_on`).

use core::borrow::{Borrow, BorrowMut};
use std::sync::OnceLock;

use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_matrix::Matrix;

use crate::chips::carry::{self, CarryToken, TokenKind};
use crate::chips::memory::columns::{MemoryCols, NUM_MEMORY_COLS};
use crate::chips::stack_boundary::columns::{BoundaryCols, NUM_BOUNDARY_COLS};
use crate::chips::stack_boundary::trace::StackToken;
use crate::shard::{self, BOUNDARY, CARRY, MEMORY, Padding, Shard, ShardStream};
use crate::tests::{F, check, fixture};

/// Steps per shard: the `calls` fixture cut through calls and returns.
pub(crate) const STEPS: usize = 1024;

/// The `calls` fixture's shards (natural heights).
pub(crate) fn shards() -> &'static [Shard<F>] {
    static S: OnceLock<Vec<Shard<F>>> = OnceLock::new();
    S.get_or_init(|| {
        let t = &fixture("calls")[0];
        shard::generate_shards_in::<F>(t, shard::fixed_ranges(t.steps.len(), STEPS)).unwrap()
    })
}

fn nonzero(d: &[F]) -> bool {
    d.iter().any(|x| *x != F::ZERO)
}

/// The first shard that takes in and hands on both stack items and suspended calls.
fn carrying() -> usize {
    (0..shards().len())
        .find(|&k| {
            let rows = boundary_rows(&shards()[k]);
            rows.iter().any(|c| c.init == F::ONE)
                && rows.iter().any(|c| c.r_init == F::ONE)
                && rows.iter().any(|c| c.carry_out == F::ONE)
                && rows.iter().any(|c| c.r_fin == F::ONE)
        })
        .expect("a shard carrying stack items and calls both ways")
}

fn boundary_rows(s: &Shard<F>) -> Vec<BoundaryCols<F>> {
    s.traces[BOUNDARY]
        .values
        .chunks_exact(NUM_BOUNDARY_COLS)
        .map(|r| *Borrow::<BoundaryCols<F>>::borrow(r))
        .collect()
}

fn stack_token(c: &BoundaryCols<F>) -> StackToken {
    let u = |x: F| x.as_canonical_u32();
    StackToken {
        ctx: u(c.ctx),
        slot: u(c.slot),
        value: c.value.map(|v| u(v) as u16),
        ts: u(c.ts),
    }
}

fn resume_token(c: &BoundaryCols<F>) -> [u32; 8] {
    [
        c.r_ctx, c.r_callee, c.r_pc, c.r_sp, c.r_code, c.r_ok, c.r_ncalls, c.r_mw,
    ]
    .map(|x| x.as_canonical_u32())
}

/// The tokens a shard's boundary rows send in one direction (`out`), in position order.
pub(crate) fn sent(s: &Shard<F>, out: bool) -> Vec<CarryToken> {
    let mut v: Vec<(u32, CarryToken)> = Vec::new();
    for c in boundary_rows(s) {
        let stack = if out { c.carry_out } else { c.init };
        if stack == F::ONE {
            v.push((c.pos.as_canonical_u32(), CarryToken::Stack(stack_token(&c))));
        }
        let resume = if out { c.r_fin } else { c.r_init };
        if resume == F::ONE {
            v.push((
                c.r_pos.as_canonical_u32(),
                CarryToken::Resume(resume_token(&c)),
            ));
        }
    }
    for c in memory_rows(s) {
        let (flag, pos, bytes) = if out {
            (c.out, c.pos_out, c.old_a)
        } else {
            (c.carried, c.pos_in, c.new_a)
        };
        if flag == F::ONE {
            v.push((
                pos.as_canonical_u32(),
                CarryToken::Memory {
                    ctx: c.ctx.as_canonical_u32(),
                    word: c.word.as_canonical_u32(),
                    bytes: bytes.map(|b| b.as_canonical_u32() as u8),
                },
            ));
        }
    }
    v.sort_by_key(|(p, _)| *p);
    v.into_iter().map(|(_, t)| t).collect()
}

pub(crate) fn memory_rows(s: &Shard<F>) -> Vec<MemoryCols<F>> {
    s.traces[MEMORY]
        .values
        .chunks_exact(NUM_MEMORY_COLS)
        .map(|r| *Borrow::<MemoryCols<F>>::borrow(r))
        .collect()
}

fn with_digest_in(s: &Shard<F>, tokens: &[CarryToken]) -> Vec<Vec<F>> {
    let mut pv = s.public_values.clone();
    pv[CARRY][..carry::RATE].copy_from_slice(&carry::commitment::<F>(tokens));
    pv
}

#[test]
fn consecutive_shards_commit_to_the_same_carried_state() {
    let shards = shards();
    let mut carrying_cuts = 0;
    for w in shards.windows(2) {
        assert!(shard::carries_on(&w[0].public_values, &w[1].public_values));
        // The boundary rows send exactly the committed tokens, the out side of one shard the in
        // side of the next.
        let out = sent(&w[0], true);
        assert_eq!(out, sent(&w[1], false));
        assert_eq!(
            carry::commitment::<F>(&out).as_slice(),
            shard::carried_out(&w[0].public_values)
        );
        carrying_cuts += nonzero(shard::carried_out(&w[0].public_values)) as usize;
    }
    assert!(
        carrying_cuts >= shards.len() / 2,
        "{carrying_cuts} cuts carry"
    );
    // The subblock's ends carry nothing.
    assert!(!nonzero(shard::carried_in(&shards[0].public_values)));
    assert!(!nonzero(shard::carried_out(
        &shards[shards.len() - 1].public_values
    )));
    assert!(shard::subblock_ends(&shards[0], &shards[shards.len() - 1]));

    // A shard taking in other state than the previous one hands on is rejected: a changed stack
    // item, a changed resume pc, a dropped token, an invented one, two tokens swapped.
    let k = carrying();
    let (prev, next) = (&shards[k - 1], &shards[k]);
    let honest = sent(next, false);
    assert!(shard::carries_on(
        &prev.public_values,
        &with_digest_in(next, &honest)
    ));
    let stack_at = honest
        .iter()
        .position(|t| matches!(t, CarryToken::Stack(_)))
        .unwrap();
    let resume_at = honest
        .iter()
        .position(|t| matches!(t, CarryToken::Resume(_)))
        .unwrap();
    let mut tampered: Vec<Vec<CarryToken>> = Vec::new();
    let mut t = honest.clone();
    if let CarryToken::Stack(s) = &mut t[stack_at] {
        s.value[0] ^= 1;
    }
    tampered.push(t);
    let mut t = honest.clone();
    if let CarryToken::Resume(r) = &mut t[resume_at] {
        r[2] += 1;
    }
    tampered.push(t);
    let mut t = honest.clone();
    t.remove(stack_at);
    tampered.push(t);
    let mut t = honest.clone();
    t.push(honest[stack_at]);
    tampered.push(t);
    let mut t = honest.clone();
    t.swap(stack_at, resume_at);
    tampered.push(t);
    for (i, t) in tampered.iter().enumerate() {
        assert!(
            !shard::carries_on(&prev.public_values, &with_digest_in(next, t)),
            "tampering {i} goes unnoticed"
        );
    }
}

/// The carrying shard with a spare boundary row at the end.
fn roomy() -> Shard<F> {
    let k = carrying();
    let t = &fixture("calls")[0];
    let ranges = shard::fixed_ranges(t.steps.len(), STEPS);
    let mut heights = shards()[k].natural_log_heights;
    heights[BOUNDARY] += 1;
    ShardStream::new(t, &ranges)
        .unwrap()
        .generate_padded(ranges[k].clone(), &Padding::LogHeights(heights))
        .unwrap()
}

fn boundary_row_mut(s: &mut Shard<F>, r: usize) -> &mut BoundaryCols<F> {
    s.traces[BOUNDARY].values[r * NUM_BOUNDARY_COLS..(r + 1) * NUM_BOUNDARY_COLS].borrow_mut()
}

/// The shard with its carry table regenerated for these tokens.
fn recommit(s: &mut Shard<F>, incoming: &[CarryToken], outgoing: &[CarryToken]) {
    let height = s.traces[CARRY].height();
    let (trace, pv) = carry::generate::<F>(incoming, outgoing, height);
    s.traces[CARRY] = trace;
    s.public_values[CARRY] = pv;
}

fn assert_rejected(s: &Shard<F>, what: &str) {
    assert!(check(s).is_err(), "{what} goes unnoticed");
}

#[test]
fn carried_token_mutations_are_rejected() {
    let base = roomy();
    check(&base).expect("the carrying shard proves");
    let rows = boundary_rows(&base);

    // A carried-out item left out of the commitment (its out flag cleared).
    let r = rows.iter().position(|c| c.carry_out == F::ONE).unwrap();
    let mut s = base.clone();
    boundary_row_mut(&mut s, r).carry_out = F::ZERO;
    assert_rejected(&s, "a dropped carried-out item");
    // Sent at another position (the commitment would take it out of order).
    let mut s = base.clone();
    boundary_row_mut(&mut s, r).pos += F::ONE;
    assert_rejected(&s, "a moved carried-out item");
    // A suspended call's resume token at another position.
    let r = rows.iter().position(|c| c.r_fin == F::ONE).unwrap();
    let mut s = base.clone();
    boundary_row_mut(&mut s, r).r_pos += F::ONE;
    assert_rejected(&s, "a moved resume token");
    // A carried-in item whose commitment names another value.
    let mut s = base.clone();
    let mut incoming = sent(&base, false);
    if let Some(CarryToken::Stack(t)) = incoming.first_mut() {
        t.value[0] ^= 1;
    }
    recommit(&mut s, &incoming, &sent(&base, true));
    assert_rejected(&s, "a carried-in item committed with another value");
    // The digest itself.
    let mut s = base.clone();
    s.public_values[CARRY][carry::RATE] += F::ONE;
    assert_rejected(&s, "a tampered out digest");

    // An item carried out that the shard never took off its stack (`carry_out ≤ fin`): a spare
    // row hands it on, committed after the honest tokens.
    let spare = rows.len() - 1;
    assert_eq!(rows[spare].init + rows[spare].fin, F::ZERO);
    let mut s = base.clone();
    let invented = StackToken {
        ctx: 1,
        slot: 0,
        value: [7; crate::word::LIMBS],
        ts: 1,
    };
    let mut outgoing = sent(&base, true);
    let pos: usize = outgoing.iter().map(|t| t.kind().chunks()).sum();
    outgoing.push(CarryToken::Stack(invented));
    {
        let c = boundary_row_mut(&mut s, spare);
        c.ctx = F::from_u32(invented.ctx);
        c.slot = F::from_u32(invented.slot);
        c.value = invented.value.map(F::from_u16);
        c.ts = F::from_u32(invented.ts);
        c.carry_out = F::ONE;
        c.pos = F::from_usize(pos);
    }
    recommit(&mut s, &sent(&base, false), &outgoing);
    assert_eq!(TokenKind::Stack.chunks(), 3);
    assert_rejected(&s, "an invented carried-out item");
}
