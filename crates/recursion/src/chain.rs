//! The aggregation tree's chaining checks, written once over [`Ops`]: [`crate::Native`] runs
//! them on values (the native block verifier), [`crate::build::Build`] emits them as recursion
//! rows (the tree's nodes).
//!
//! Every node of the tree, leaf or internal, exposes the same [`NodeValues`]: the block binding,
//! the subblock bindings of its first and last shard, the CPU state its first shard starts from
//! and its last shard leaves (with the boundary chip's carried-state flags and the carry
//! table's commitments to the carried stack items and calls), and a digest of the
//! subblock bindings of all its shards. So an internal node takes leaf or internal children
//! alike.
//!
//! - [`leaf_values`]: a shard's public values as node values.
//! - [`merge`]: two adjacent nodes as one. Both carry one block binding. Where the left one's
//!   last shard and the right one's first shard belong to one subblock, they chain (the checks
//!   of `slotproof_air::shard::chains`, and `carries_on`: the left one's out commitment is the
//!   right one's in commitment); otherwise the left one ends its subblock (no context
//!   continues, no state is carried out, its last step is the subblock's step count less one)
//!   and the right one starts the next (`slotproof_air::shard::subblock_ends_public`). Which
//!   case holds is a hinted bit, constrained by the bindings, so the program does not depend on
//!   it: both cases' checks are emitted, each multiplied by its selector.
//! - [`check_root`]: the top node starts a subblock and ends one; the block binding and digest
//!   are what the root exposes ([`RootValues`]).
//!
//! The digest is tree-shaped (a node's is the hash of its children's), not a hash chain: a
//! chain does not compose across a binary tree, whereas a tree digest over the shards'
//! subblock bindings (and the block context), with the tree's fixed pairing ([`fold_tree`]),
//! can be recomputed by a verifier from the claims that name each shard's subblock. Hashing is Poseidon2 over the
//! transcript's duplex sponge (a fresh sponge per hash, a domain tag first).

use p3_field::{PrimeCharacteristicRing, PrimeField32};
use slotproof_air::CpuPublic;
use slotproof_air::block_context::BLOCK_CONTEXT_LEN;
use slotproof_air::chips::cpu::air::NUM_CPU_PUBLIC;
use slotproof_air::opcodes::JUMPDEST;
use slotproof_air::shard::{
    BLOCK_BINDING_LEN, BOUNDARY, CARRY, CPU, OPCODE_TABLE, SHARD_BINDING_LEN, SUBBLOCK_BINDING_LEN,
};
use thiserror::Error;

use crate::config::{Challenge, Val};
use crate::ops::Ops;

/// Elements of a digest (one sponge rate).
pub const DIGEST_LEN: usize = 8;
/// Elements of [`FirstShard`] and [`LastShard`].
pub const FIRST_SHARD_LEN: usize = 12 + CARRY_DIGEST_LEN;
pub const LAST_SHARD_LEN: usize = 13 + CARRY_DIGEST_LEN;
/// Elements of a carried-state commitment (the carry table's `digest_in` / `digest_out`).
pub const CARRY_DIGEST_LEN: usize = slotproof_air::chips::carry::RATE;
/// Public values of every node of the tree ([`NodeValues::to_vec`]).
pub const NODE_VALUES_LEN: usize =
    BLOCK_BINDING_LEN + 2 * SUBBLOCK_BINDING_LEN + FIRST_SHARD_LEN + LAST_SHARD_LEN + DIGEST_LEN;
/// Public values of the root ([`RootValues::to_vec`]).
pub const ROOT_VALUES_LEN: usize = BLOCK_BINDING_LEN + DIGEST_LEN;
/// EVM tables of a shard proof.
const SHARD_TABLES: usize = slotproof_air::shard::NUM_INSTANCES;

/// Domain tags of the two hashes.
const LEAF_TAG: u32 = 1;
const NODE_TAG: u32 = 2;

/// Why nodes do not chain (each names the broken check; values are this run's, for the message).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ChainError {
    #[error("public values have the wrong shape: {0}")]
    Shape(String),
    #[error("the two children are bound to different blocks")]
    BlockMismatch,
    #[error("shards of one subblock skip steps: step {next} follows step {last}")]
    StepsSkipped { last: u32, next: u32 },
    #[error("shards of one subblock repeat or reorder steps: step {next} follows step {last}")]
    StepsRepeated { last: u32, next: u32 },
    #[error("shards of one subblock do not continue one execution context")]
    ContextBroken,
    #[error(
        "a shard does not take in the stack items and suspended calls the previous one carries out"
    )]
    CarriedStateMismatch,
    #[error("a shard ending subblock {subblock} leaves a context to continue or carries state out")]
    SubblockNotEnded { subblock: u32 },
    #[error("subblock {subblock}: its last shard ends at step {last}, it claims {steps} steps")]
    StepCount {
        subblock: u32,
        last: u32,
        steps: u64,
    },
    #[error("a shard starting subblock {subblock} does not start from a fresh state")]
    SubblockNotStarted { subblock: u32 },
    #[error("subblock {subblock} is followed by other shards of the same subblock index")]
    SubblockRepeated { subblock: u32 },
    #[error("a public value of the node differs from the value it publishes")]
    Publish,
}

/// The state the first shard of a node starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirstShard<F> {
    pub step: F,
    pub pc: F,
    pub gas: F,
    pub sp: F,
    pub ctx: F,
    pub code: F,
    pub nctx: F,
    pub entry: F,
    pub opcode: F,
    /// The boundary chip's "state carried in" flag.
    pub carried_in: F,
    /// The first context's call count and memory size in words.
    pub ncalls: F,
    pub mw: F,
    /// The commitment to the stack items and suspended calls carried in.
    pub digest_in: [F; CARRY_DIGEST_LEN],
}

/// The state the last shard of a node leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastShard<F> {
    pub step: F,
    pub npc: F,
    pub gas_after: F,
    pub sp_next: F,
    pub ctx: F,
    pub code: F,
    pub nctx: F,
    pub cont: F,
    pub jump: F,
    pub is_call: F,
    /// The boundary chip's "state carried out" flag.
    pub carried_out: F,
    /// The call count and memory size in words of the last step's context's next step.
    pub ncalls_next: F,
    pub mw_next: F,
    /// The commitment to the stack items and suspended calls carried out.
    pub digest_out: [F; CARRY_DIGEST_LEN],
}

impl<F: Copy> FirstShard<F> {
    fn to_vec(self) -> Vec<F> {
        vec![
            self.step,
            self.pc,
            self.gas,
            self.sp,
            self.ctx,
            self.code,
            self.nctx,
            self.entry,
            self.opcode,
            self.carried_in,
            self.ncalls,
            self.mw,
        ]
        .into_iter()
        .chain(self.digest_in)
        .collect()
    }

    fn from_slice(v: &[F]) -> Self {
        Self {
            step: v[0],
            pc: v[1],
            gas: v[2],
            sp: v[3],
            ctx: v[4],
            code: v[5],
            nctx: v[6],
            entry: v[7],
            opcode: v[8],
            carried_in: v[9],
            ncalls: v[10],
            mw: v[11],
            digest_in: core::array::from_fn(|k| v[12 + k]),
        }
    }
}

impl<F: Copy> LastShard<F> {
    fn to_vec(self) -> Vec<F> {
        vec![
            self.step,
            self.npc,
            self.gas_after,
            self.sp_next,
            self.ctx,
            self.code,
            self.nctx,
            self.cont,
            self.jump,
            self.is_call,
            self.carried_out,
            self.ncalls_next,
            self.mw_next,
        ]
        .into_iter()
        .chain(self.digest_out)
        .collect()
    }

    fn from_slice(v: &[F]) -> Self {
        Self {
            step: v[0],
            npc: v[1],
            gas_after: v[2],
            sp_next: v[3],
            ctx: v[4],
            code: v[5],
            nctx: v[6],
            cont: v[7],
            jump: v[8],
            is_call: v[9],
            carried_out: v[10],
            ncalls_next: v[11],
            mw_next: v[12],
            digest_out: core::array::from_fn(|k| v[13 + k]),
        }
    }
}

/// The public values of a node of the tree (leaf or internal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeValues<F> {
    pub block: Vec<F>,
    pub first_subblock: Vec<F>,
    pub last_subblock: Vec<F>,
    pub first: FirstShard<F>,
    pub last: LastShard<F>,
    pub digest: [F; DIGEST_LEN],
}

impl<F: Copy> NodeValues<F> {
    /// The flat layout: block, first subblock, last subblock, first shard, last shard, digest.
    pub fn to_vec(&self) -> Vec<F> {
        let mut v = Vec::with_capacity(NODE_VALUES_LEN);
        v.extend_from_slice(&self.block);
        v.extend_from_slice(&self.first_subblock);
        v.extend_from_slice(&self.last_subblock);
        v.extend(self.first.to_vec());
        v.extend(self.last.to_vec());
        v.extend_from_slice(&self.digest);
        v
    }

    /// The values of [`Self::to_vec`]'s layout.
    pub fn from_slice(v: &[F]) -> Result<Self, ChainError> {
        if v.len() != NODE_VALUES_LEN {
            return Err(ChainError::Shape(format!(
                "{} node public values, expected {NODE_VALUES_LEN}",
                v.len()
            )));
        }
        let (block, rest) = v.split_at(BLOCK_BINDING_LEN);
        let (first_subblock, rest) = rest.split_at(SUBBLOCK_BINDING_LEN);
        let (last_subblock, rest) = rest.split_at(SUBBLOCK_BINDING_LEN);
        let (first, rest) = rest.split_at(FIRST_SHARD_LEN);
        let (last, digest) = rest.split_at(LAST_SHARD_LEN);
        Ok(Self {
            block: block.to_vec(),
            first_subblock: first_subblock.to_vec(),
            last_subblock: last_subblock.to_vec(),
            first: FirstShard::from_slice(first),
            last: LastShard::from_slice(last),
            digest: core::array::from_fn(|k| digest[k]),
        })
    }
}

/// The public values of the root: the block binding and the digest of the shards' subblock
/// bindings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootValues<F> {
    pub block: Vec<F>,
    pub digest: [F; DIGEST_LEN],
}

impl<F: Copy> RootValues<F> {
    pub fn to_vec(&self) -> Vec<F> {
        let mut v = self.block.clone();
        v.extend_from_slice(&self.digest);
        v
    }

    pub fn from_slice(v: &[F]) -> Result<Self, ChainError> {
        if v.len() != ROOT_VALUES_LEN {
            return Err(ChainError::Shape(format!(
                "{} root public values, expected {ROOT_VALUES_LEN}",
                v.len()
            )));
        }
        let (block, digest) = v.split_at(BLOCK_BINDING_LEN);
        Ok(Self {
            block: block.to_vec(),
            digest: core::array::from_fn(|k| digest[k]),
        })
    }
}

/// Pair a layer's nodes left to right until one is left; an odd node moves up unchanged. The
/// tree's one shape for `n` leaves: the prover builds it, the verifier recomputes its digest.
pub fn fold_tree<T, E>(
    mut layer: Vec<T>,
    mut merge: impl FnMut(T, T) -> Result<T, E>,
) -> Result<Option<T>, E> {
    while layer.len() > 1 {
        let mut next = Vec::with_capacity(layer.len().div_ceil(2));
        let mut nodes = layer.into_iter();
        while let Some(left) = nodes.next() {
            match nodes.next() {
                Some(right) => next.push(merge(left, right)?),
                None => next.push(left),
            }
        }
        layer = next;
    }
    Ok(layer.pop())
}

/// Hash `values` under `tag` in a fresh sponge: observe the tag and the values, squeeze a
/// digest.
pub(crate) fn hash<O: Ops>(ops: &mut O, tag: u32, values: &[O::F]) -> [O::F; DIGEST_LEN] {
    ops.restart_transcript();
    let tag = ops.constant(Val::from_u32(tag));
    ops.observe(tag);
    for &v in values {
        ops.observe(v);
    }
    core::array::from_fn(|_| ops.sample())
}

/// The digest of one shard's subblock binding and block context (a leaf's digest). The
/// block context (`slotproof_air::block_context`: the values the block-context opcodes read,
/// the same in every shard of a block) is hashed here rather than carried in the node values:
/// the verifier derives it once from the block claim and recomputes every leaf's digest, so a
/// shard proven with other values gives another root digest, and the nodes stay small.
pub fn leaf_digest<O: Ops>(ops: &mut O, subblock: &[O::F], context: &[O::F]) -> [O::F; DIGEST_LEN] {
    let values: Vec<O::F> = subblock.iter().chain(context).copied().collect();
    hash(ops, LEAF_TAG, &values)
}

/// The digest of two adjacent nodes (an internal node's digest).
pub fn node_digest<O: Ops>(
    ops: &mut O,
    left: &[O::F; DIGEST_LEN],
    right: &[O::F; DIGEST_LEN],
) -> [O::F; DIGEST_LEN] {
    let values: Vec<O::F> = left.iter().chain(right).copied().collect();
    hash(ops, NODE_TAG, &values)
}

fn u32_of<O: Ops>(ops: &O, a: O::F) -> u32 {
    ops.value(a).as_canonical_u32()
}

/// `a − b` in the extension.
fn diff<O: Ops>(ops: &mut O, a: O::F, b: O::F) -> O::E {
    let (a, b) = (ops.lift(a), ops.lift(b));
    ops.sub(a, b)
}

/// Assert `selector·value = 0`.
fn assert_zero_where<O: Ops>(
    ops: &mut O,
    selector: O::E,
    value: O::E,
    err: ChainError,
) -> Result<(), ChainError> {
    let product = ops.mul(selector, value);
    if ops.is_zero(product) {
        Ok(())
    } else {
        Err(err)
    }
}

/// Assert `a` is 0 or 1.
fn assert_bit<O: Ops>(ops: &mut O, a: O::F, err: ChainError) -> Result<(), ChainError> {
    let a = ops.lift(a);
    let one = ops.ext_constant(Challenge::ONE);
    let a_minus_one = ops.sub(a, one);
    assert_zero_where(ops, a, a_minus_one, err)
}

/// The number four little-endian 16-bit limbs hold, as a field element (what the circuit can
/// compare with a step or an index).
fn limbs_value<O: Ops>(ops: &mut O, limbs: &[O::F]) -> O::E {
    let mut acc = ops.ext_zero();
    for &limb in limbs.iter().rev() {
        let radix = ops.ext_constant(Challenge::from(Val::from_u32(1 << 16)));
        let limb = ops.lift(limb);
        acc = ops.mul_add(acc, radix, limb);
    }
    acc
}

/// The subblock index of a binding (its first four limbs), natively (for messages).
fn subblock_index<O: Ops>(ops: &O, binding: &[O::F]) -> u32 {
    u32_of(ops, binding[0]) | (u32_of(ops, binding[1]) << 16)
}

/// A shard's public values (the EVM tables', in table order) as a leaf's node values.
pub fn leaf_values<O: Ops>(
    ops: &mut O,
    public_values: &[Vec<O::F>],
) -> Result<NodeValues<O::F>, ChainError> {
    let shape_ok = public_values.len() == SHARD_TABLES
        && public_values[CPU].len() == NUM_CPU_PUBLIC
        && public_values[BOUNDARY].len() == 2
        && public_values[CARRY].len() == 2 * CARRY_DIGEST_LEN
        && public_values[OPCODE_TABLE].len() == SHARD_BINDING_LEN + BLOCK_CONTEXT_LEN;
    if !shape_ok {
        return Err(ChainError::Shape("not an EVM shard's public values".into()));
    }
    let cpu = CpuPublic::from_slice(&public_values[CPU]);
    let boundary = &public_values[BOUNDARY];
    let carry = &public_values[CARRY];
    let (binding, context) = public_values[OPCODE_TABLE].split_at(SHARD_BINDING_LEN);
    let (block, subblock) = binding.split_at(BLOCK_BINDING_LEN);
    let digest = leaf_digest(ops, subblock, context);
    Ok(NodeValues {
        block: block.to_vec(),
        first_subblock: subblock.to_vec(),
        last_subblock: subblock.to_vec(),
        first: FirstShard {
            step: cpu.first_step,
            pc: cpu.first_pc,
            gas: cpu.first_gas,
            sp: cpu.first_sp,
            ctx: cpu.first_ctx,
            code: cpu.first_code,
            nctx: cpu.first_nctx,
            entry: cpu.first_entry,
            opcode: cpu.first_opcode,
            carried_in: boundary[0],
            ncalls: cpu.first_ncalls,
            mw: cpu.first_mw,
            digest_in: core::array::from_fn(|k| carry[k]),
        },
        last: LastShard {
            step: cpu.last_step,
            npc: cpu.last_npc,
            gas_after: cpu.last_gas_after,
            sp_next: cpu.last_sp_next,
            ctx: cpu.last_ctx,
            code: cpu.last_code,
            nctx: cpu.last_nctx,
            cont: cpu.last_cont,
            jump: cpu.last_jump,
            is_call: cpu.last_is_call,
            carried_out: boundary[1],
            ncalls_next: cpu.last_ncalls_next,
            mw_next: cpu.last_mw_next,
            digest_out: core::array::from_fn(|k| carry[CARRY_DIGEST_LEN + k]),
        },
        digest,
    })
}

/// Where `selector` is one: `last` ends its subblock `binding` (no context continues, no state
/// carried out, its last step is the subblock's step count less one).
fn ends_subblock<O: Ops>(
    ops: &mut O,
    selector: O::E,
    last: &LastShard<O::F>,
    binding: &[O::F],
) -> Result<(), ChainError> {
    let subblock = subblock_index(ops, binding);
    let not_ended = ChainError::SubblockNotEnded { subblock };
    let cont = ops.lift(last.cont);
    assert_zero_where(ops, selector, cont, not_ended.clone())?;
    let carried = ops.lift(last.carried_out);
    assert_zero_where(ops, selector, carried, not_ended.clone())?;
    // Nothing carried out: the empty commitment (the AIR forces it where `carried_out = 0`;
    // checked here too so the tree does not depend on that argument).
    for &d in &last.digest_out {
        let d = ops.lift(d);
        assert_zero_where(ops, selector, d, not_ended.clone())?;
    }
    // The step count: limbs 4..8 of the binding.
    let steps_limbs = &binding[4..8];
    let steps = limbs_value(ops, steps_limbs);
    let one = ops.ext_constant(Challenge::ONE);
    let last_step = ops.lift(last.step);
    let count = ops.add(last_step, one);
    let mismatch = ops.sub(count, steps);
    let steps_native = steps_limbs
        .iter()
        .rev()
        .fold(0u64, |acc, &l| (acc << 16) | u64::from(u32_of(ops, l)));
    assert_zero_where(
        ops,
        selector,
        mismatch,
        ChainError::StepCount {
            subblock,
            last: u32_of(ops, last.step),
            steps: steps_native,
        },
    )
}

/// Where `selector` is one: `first` starts subblock `binding` from a fresh state (step 0, no
/// context entered, empty stack, pc 0, no state carried in).
fn starts_subblock<O: Ops>(
    ops: &mut O,
    selector: O::E,
    first: &FirstShard<O::F>,
    binding: &[O::F],
) -> Result<(), ChainError> {
    let err = ChainError::SubblockNotStarted {
        subblock: subblock_index(ops, binding),
    };
    for v in [
        first.step,
        first.entry,
        first.nctx,
        first.sp,
        first.pc,
        first.carried_in,
    ]
    .into_iter()
    .chain(first.digest_in)
    {
        let v = ops.lift(v);
        assert_zero_where(ops, selector, v, err.clone())?;
    }
    Ok(())
}

/// Where `selector` is one: shard `b` continues shard `a` within one subblock
/// (`slotproof_air::shard::chains`, with the case split on `a.cont` as selectors).
fn continues<O: Ops>(
    ops: &mut O,
    selector: O::E,
    a: &LastShard<O::F>,
    b: &FirstShard<O::F>,
) -> Result<(), ChainError> {
    let one = ops.ext_constant(Challenge::ONE);
    let (last, next) = (u32_of(ops, a.step), u32_of(ops, b.step));
    let step_err = if next > last.wrapping_add(1) {
        ChainError::StepsSkipped { last, next }
    } else {
        ChainError::StepsRepeated { last, next }
    };
    let a_step = ops.lift(a.step);
    let expected = ops.add(a_step, one);
    let b_step = ops.lift(b.step);
    let gap = ops.sub(b_step, expected);
    assert_zero_where(ops, selector, gap, step_err)?;

    // What `a` carries out is what `b` takes in (stack items, suspended calls): equal
    // commitments, whether or not the context continues (both empty at a cut between segments).
    for (&x, &y) in b.digest_in.iter().zip(&a.digest_out) {
        let d = diff(ops, x, y);
        assert_zero_where(ops, selector, d, ChainError::CarriedStateMismatch)?;
    }

    let broken = ChainError::ContextBroken;
    let nctx = diff(ops, b.nctx, a.nctx);
    assert_zero_where(ops, selector, nctx, broken.clone())?;
    for flag in [a.cont, a.jump, a.is_call] {
        assert_bit(ops, flag, broken.clone())?;
    }
    // The context continues: `cont = 1`.
    let cont = ops.lift(a.cont);
    let continuing = ops.mul(selector, cont);
    let entry = ops.lift(b.entry);
    let entry_minus_one = ops.sub(entry, one);
    assert_zero_where(ops, continuing, entry_minus_one, broken.clone())?;
    for (x, y) in [
        (b.pc, a.npc),
        (b.sp, a.sp_next),
        (b.ctx, a.ctx),
        (b.code, a.code),
        (b.ncalls, a.ncalls_next),
        (b.mw, a.mw_next),
    ] {
        let d = diff(ops, x, y);
        assert_zero_where(ops, continuing, d, broken.clone())?;
    }
    // Gas carries over unless the last step is a call.
    let is_call = ops.lift(a.is_call);
    let not_call = ops.sub(one, is_call);
    let gas_carries = ops.mul(continuing, not_call);
    let gas = diff(ops, b.gas, a.gas_after);
    assert_zero_where(ops, gas_carries, gas, broken.clone())?;
    // After a jump the next shard starts on a JUMPDEST.
    let jump = ops.lift(a.jump);
    let jumped = ops.mul(continuing, jump);
    let jumpdest = ops.constant(Val::from_u8(JUMPDEST));
    let opcode = diff(ops, b.opcode, jumpdest);
    assert_zero_where(ops, jumped, opcode, broken.clone())?;
    // A fresh context: `cont = 0`, the next shard does not enter one.
    let fresh = ops.sub(selector, continuing);
    assert_zero_where(ops, fresh, entry, broken)
}

/// Two adjacent nodes as one (module docs); `left` covers the shards before `right`'s.
pub fn merge<O: Ops>(
    ops: &mut O,
    left: &NodeValues<O::F>,
    right: &NodeValues<O::F>,
) -> Result<NodeValues<O::F>, ChainError> {
    for (&a, &b) in left.block.iter().zip(&right.block) {
        if !ops.base_eq(a, b) {
            return Err(ChainError::BlockMismatch);
        }
    }

    // `same`: both shards at the seam belong to one subblock. Hinted from the values, then
    // constrained: `same = 1` forces equal bindings, `same = 0` distinct subblock indices.
    let same_native = left
        .last_subblock
        .iter()
        .zip(&right.first_subblock)
        .all(|(&a, &b)| ops.value(a) == ops.value(b));
    let same = ops.input(Val::from_bool(same_native));
    let subblock = subblock_index(ops, &left.last_subblock);
    assert_bit(ops, same, ChainError::SubblockRepeated { subblock })?;
    let same = ops.lift(same);
    for (&a, &b) in left.last_subblock.iter().zip(&right.first_subblock) {
        let d = diff(ops, a, b);
        assert_zero_where(ops, same, d, ChainError::SubblockRepeated { subblock })?;
    }
    let one = ops.ext_constant(Challenge::ONE);
    let other = ops.sub(one, same);
    let left_index = limbs_value(ops, &left.last_subblock[..4]);
    let right_index = limbs_value(ops, &right.first_subblock[..4]);
    let index_step = ops.sub(right_index, left_index);
    // `(right − left)·h = 1 − same`: where `same = 0` the indices differ. `h` is hinted (the
    // inverse, or zero where the subblocks are one), so the rows do not depend on the case.
    let native_index = |ops: &O, b: &[O::F]| {
        b[..4].iter().rev().fold(Val::ZERO, |acc, &l| {
            acc * Val::from_u32(1 << 16) + ops.value(l)
        })
    };
    let native_step =
        native_index(ops, &right.first_subblock) - native_index(ops, &left.last_subblock);
    let h = if same_native {
        Val::ZERO
    } else {
        p3_field::Field::try_inverse(&native_step).unwrap_or(Val::ZERO)
    };
    let h = ops.ext_input(Challenge::from(h));
    let product = ops.mul(index_step, h);
    let off = ops.sub(product, other);
    if !ops.is_zero(off) {
        return Err(ChainError::SubblockRepeated { subblock });
    }

    continues(ops, same, &left.last, &right.first)?;
    ends_subblock(ops, other, &left.last, &left.last_subblock)?;
    starts_subblock(ops, other, &right.first, &right.first_subblock)?;

    let digest = node_digest(ops, &left.digest, &right.digest);
    Ok(NodeValues {
        block: left.block.clone(),
        first_subblock: left.first_subblock.clone(),
        last_subblock: right.last_subblock.clone(),
        first: left.first,
        last: right.last,
        digest,
    })
}

/// The top node covers whole subblocks: its first shard starts one, its last shard ends one.
/// What the root exposes.
pub fn check_root<O: Ops>(
    ops: &mut O,
    top: &NodeValues<O::F>,
) -> Result<RootValues<O::F>, ChainError> {
    let one = ops.ext_constant(Challenge::ONE);
    starts_subblock(ops, one, &top.first, &top.first_subblock)?;
    ends_subblock(ops, one, &top.last, &top.last_subblock)?;
    Ok(RootValues {
        block: top.block.clone(),
        digest: top.digest,
    })
}

/// Make `values` this proof's public values, in order: each is read as a public value and
/// asserted equal to the handle computed for it.
pub fn publish<O: Ops>(ops: &mut O, values: &[O::F]) -> Result<(), ChainError> {
    for &v in values {
        let value = ops.value(v);
        let public = ops.public_input(value);
        if !ops.base_eq(public, v) {
            return Err(ChainError::Publish);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pairing is fixed by the count alone: left to right, an odd node moves up.
    #[test]
    fn fold_tree_pairs_left_to_right_and_moves_an_odd_node_up() {
        let leaves: Vec<String> = (0..5).map(|k| k.to_string()).collect();
        let top = fold_tree(leaves, |l, r| Ok::<_, ()>(format!("({l} {r})")));
        assert_eq!(top, Ok(Some("(((0 1) (2 3)) 4)".to_string())));
        assert_eq!(fold_tree(Vec::<u8>::new(), |l, _| Ok::<_, ()>(l)), Ok(None));
    }

    #[test]
    fn node_values_round_trip_and_reject_another_length() {
        let v: Vec<u32> = (0..NODE_VALUES_LEN as u32).collect();
        assert_eq!(
            NodeValues::from_slice(&v).map(|n| n.to_vec()),
            Ok(v.clone())
        );
        assert!(matches!(
            NodeValues::from_slice(&v[1..]),
            Err(ChainError::Shape(_))
        ));
        let r: Vec<u32> = (0..ROOT_VALUES_LEN as u32).collect();
        assert_eq!(RootValues::from_slice(&r).map(|n| n.to_vec()), Ok(r));
    }
}
