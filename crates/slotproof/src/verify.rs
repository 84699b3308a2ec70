//! Verifying a block proof.
//!
//! In order: the block-context claim holds (`crate::context`: the header hashes to the block
//! hash and gives the values the block-context opcodes read, the ancestors give BLOCKHASH's);
//! the subblocks' public values cover the block (indices 0..N, contiguous transaction
//! ranges, cumulative gas counters ending at the block's gas used), their state boundaries are
//! canonical and continuous (every read of an account or slot that an earlier subblock wrote sees
//! the latest such write), every subblock with steps has shards and every subblock without has
//! none; then every shard: the right shape, bound to the block's and its subblock's public values,
//! carrying the block context the claim gives, its proof valid; finally the shards of each
//! subblock start it, chain and end at its last step, and (KoalaBear) the aggregation tree's own chaining checks, run on values, accept the shards
//! and give the root public values the claims give.

use std::collections::{BTreeMap, HashMap};

use crate::proof::{
    AccountEntry, BLOCK_PROOF_VERSION, BlockProof, BlockPublicValues, BoundaryValues, SlotEntry,
    SubblockPublicValues,
};
use crate::prove::Field;
use p3_field::PrimeField32;
use slotproof_air::coverage::COVERAGE_VERSION;
use slotproof_air::shard::{
    BLOCK_BINDING_LEN, CPU, OPCODE_TABLE, SHARD_BINDING_LEN, block_binding, carries_on, chains,
    subblock_binding, subblock_ends_public,
};
use slotproof_air::{CpuPublic, EvmAir};
use slotproof_prover::{BabyBear, CpuShardProver, FriSettings, KoalaBear, ShardProver};
use slotproof_recursion::chain::ChainError;
use slotproof_recursion::tree::native::{expected_root_values, root_values};
use thiserror::Error;

/// Why a block proof is not accepted.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("malformed proof bytes: {0}")]
    Malformed(String),
    #[error("malformed claims: {0}")]
    Claims(#[from] crate::compact_claims::ClaimsDecodeError),
    #[error("unsupported proof: {0}")]
    Unsupported(String),
    #[error("the proof has no subblocks")]
    Empty,
    #[error("subblock at position {position} has index {found}")]
    SubblockIndex { position: usize, found: u32 },
    #[error("subblock {subblock}: first transaction {found}, expected {expected}")]
    TxRange {
        subblock: u32,
        expected: u64,
        found: u64,
    },
    #[error("subblocks hold {subblocks} transactions, the block {block}")]
    TxCount { block: u64, subblocks: u64 },
    #[error("subblock {subblock}: gas starts at {found}, expected {expected}")]
    GasStart {
        subblock: u32,
        expected: u64,
        found: u64,
    },
    #[error("subblock {subblock}: gas ends at {gas_end}, before it starts ({gas_start})")]
    GasDecreases {
        subblock: u32,
        gas_start: u64,
        gas_end: u64,
    },
    #[error("subblocks end at gas {subblocks}, the block used {block}")]
    GasUsed { block: u64, subblocks: u64 },
    #[error("subblock {subblock}: {list} not sorted by key or a key repeated")]
    BoundaryNotCanonical { subblock: u32, list: &'static str },
    #[error(
        "subblock {subblock} read {key} = {read}, but subblock {written_by} left it {expected}"
    )]
    StateDiscontinuity {
        subblock: u32,
        key: String,
        read: String,
        expected: String,
        written_by: u32,
    },
    #[error("shard {shard} names subblock {subblock}, out of order or nonexistent")]
    ShardOrder { shard: usize, subblock: u32 },
    #[error("subblock {subblock} has {steps} steps but no shards")]
    MissingShards { subblock: u32, steps: u64 },
    #[error("subblock {subblock} has no steps but has shards")]
    UnexpectedShards { subblock: u32 },
    #[error("shard {shard}: public values have the wrong shape")]
    PublicValueShape { shard: usize },
    #[error("shard {shard}: public value is not a canonical field element")]
    NonCanonical { shard: usize },
    #[error("shard {shard} is bound to other block public values")]
    WrongBlock { shard: usize },
    #[error("block context: {0}")]
    Context(#[from] crate::context::ContextError),
    #[error("block context: {0}")]
    ContextTable(String),
    #[error("shard {shard} carries other block-context values than the claim gives")]
    WrongBlockContext { shard: usize },
    #[error("shard {shard} is bound to other public values of subblock {subblock}")]
    WrongSubblock { shard: usize, subblock: u32 },
    #[error("shard {shard}: proof rejected: {reason}")]
    ShardRejected { shard: usize, reason: String },
    #[error("subblock {subblock}: shards do not start and end the subblock, or do not chain")]
    BrokenChain { subblock: u32 },
    #[error("subblock {subblock}: its shards prove {found} steps, it claims {expected}")]
    StepCount {
        subblock: u32,
        expected: u64,
        found: u64,
    },
    /// The aggregation tree's chaining checks (the ones its circuits make) refuse the shards.
    #[error("the shards do not aggregate: {0}")]
    TreeChain(ChainError),
    #[error("the shards aggregate to other root public values than the claims give")]
    RootValues,
    /// Aggregated proof: the claims and shard list do not give root public values.
    #[error("aggregated proof: {0}")]
    RootClaims(crate::aggregate::ClaimsError),
    #[error("aggregated proof: shard {shard} has a malformed shape")]
    ShardShape { shard: usize },
    /// A shard proof whose tables' heights are not a shape of the menu
    /// (`slotproof_air::shape::SHARD_SHAPES`): `table` is the one that differs from the
    /// nearest shape (see `slotproof_air::shape::off_menu_table`).
    #[error(
        "shard {shard}: its tables' heights are no shard shape (table {table} has 2^{log_height} rows)"
    )]
    ShapeNotInMenu {
        shard: usize,
        table: &'static str,
        log_height: usize,
    },
    #[error("aggregated proof: the recursion keys: {reason}")]
    Keys { reason: String },
    #[error("aggregated proof: the root proof is rejected: {reason}")]
    RootRejected { reason: String },
}

fn field_values<F: PrimeField32>(v: &[Vec<u32>], shard: usize) -> Result<Vec<Vec<F>>, VerifyError> {
    v.iter()
        .map(|x| {
            x.iter()
                .map(|&u| {
                    if u < F::ORDER_U32 {
                        Ok(F::from_u32(u))
                    } else {
                        Err(VerifyError::NonCanonical { shard })
                    }
                })
                .collect()
        })
        .collect()
}

/// Verifies every shard over one field; returns the shards' public values for the chain checks.
macro_rules! verify_shards {
    ($F:ident, $proof:expr) => {{
        let proof = $proof;
        let block = block_binding::<$F>(&proof.block.claim());
        let context = context_values::<$F>(&proof.block)?;
        let subblocks: Vec<Vec<$F>> = proof
            .subblocks
            .iter()
            .map(|s| subblock_binding::<$F>(&s.claim()))
            .collect();
        let airs = EvmAir::shard_airs();
        let expected_lens: Vec<usize> = airs
            .iter()
            .map(|a| p3_air::BaseAir::<$F>::num_public_values(a))
            .collect();
        let prover: CpuShardProver<$F> = ShardProver::cpu(FriSettings::DEFAULT);

        let mut values = Vec::with_capacity(proof.shards.len());
        for (k, s) in proof.shards.iter().enumerate() {
            let pv = field_values::<$F>(&s.public_values, k)?;
            if pv.len() != airs.len() || pv.iter().zip(&expected_lens).any(|(v, n)| v.len() != *n) {
                return Err(VerifyError::PublicValueShape { shard: k });
            }
            let (binding, ctx) = pv[OPCODE_TABLE].split_at(SHARD_BINDING_LEN);
            let (b, sub) = binding.split_at(BLOCK_BINDING_LEN);
            if ctx != context.as_slice() {
                return Err(VerifyError::WrongBlockContext { shard: k });
            }
            if b != block.as_slice() {
                return Err(VerifyError::WrongBlock { shard: k });
            }
            // Shard order was checked: `s.subblock` names a subblock.
            if sub != subblocks[s.subblock as usize].as_slice() {
                return Err(VerifyError::WrongSubblock {
                    shard: k,
                    subblock: s.subblock,
                });
            }
            let rejected = |e: slotproof_prover::VerifyError| VerifyError::ShardRejected {
                shard: k,
                reason: e.to_string(),
            };
            let shard_proof = slotproof_prover::proof_from_bytes(&s.proof).map_err(rejected)?;
            check_menu_shape(k, &shard_proof.degree_bits)?;
            // A process that proved shards of these heights has their verifying key (what
            // `verify` would derive again): verification then starts from it.
            match <$F as crate::memory::PlanField>::compiled_programs(&airs, FriSettings::DEFAULT)
                .filter(|p| p.log_heights() == shard_proof.degree_bits.as_slice())
            {
                Some(p) => prover.verify_with_key(&airs, &shard_proof, &pv, p.common()),
                None => prover.verify(&airs, &shard_proof, &pv),
            }
            .map_err(rejected)?;
            values.push(pv);
        }

        ChainValues::$F(values)
    }};
}

/// The block context the claim proves, as the opcode table's public values
/// (`slotproof_air::block_context`): what every shard of the block must carry.
pub(crate) fn context_values<F: PrimeField32>(
    block: &BlockPublicValues,
) -> Result<Vec<F>, VerifyError> {
    let ctx = crate::context::block_context(block)?;
    slotproof_air::block_context::public_values::<F>(&ctx)
        .map_err(|e| VerifyError::ContextTable(e.to_string()))
}

/// A shard proof's tables' log heights are a shape of the menu: what lets a verifier hold a
/// fixed set of leaf programs (a shard of another shape would need a program of its own).
pub(crate) fn check_menu_shape(shard: usize, degree_bits: &[usize]) -> Result<(), VerifyError> {
    match slotproof_air::shape::off_menu_table(degree_bits) {
        None => Ok(()),
        Some((t, table)) => Err(VerifyError::ShapeNotInMenu {
            shard,
            table,
            log_height: degree_bits.get(t).copied().unwrap_or(0),
        }),
    }
}

/// The verified shards' public values, per field.
enum ChainValues {
    KoalaBear(Vec<Vec<Vec<KoalaBear>>>),
    BabyBear(Vec<Vec<Vec<BabyBear>>>),
}

/// Whether a subblock's shards start it, chain and end it; and the last step they prove.
fn group_ends<F: PrimeField32>(group: &[Vec<Vec<F>>]) -> Option<u64> {
    let chained = group.windows(2).all(|w| {
        chains(
            &CpuPublic::from_slice(&w[0][CPU]),
            &CpuPublic::from_slice(&w[1][CPU]),
        ) && carries_on(&w[0], &w[1])
    });
    let last = &group[group.len() - 1];
    (chained && subblock_ends_public(&group[0], last)).then(|| {
        u64::from(
            CpuPublic::from_slice(&last[CPU])
                .last_step
                .as_canonical_u32(),
        )
    })
}

/// The checks the aggregation tree makes, on values: the shards, merged over the tree's
/// pairing, chain into a root (`slotproof_recursion::chain`, the code the tree's circuits
/// run), and the root publishes the block binding and the digest of the shards' subblock
/// bindings the claims give. So a KoalaBear proof that verifies can be aggregated.
fn check_tree(proof: &BlockProof, shards: &[Vec<Vec<KoalaBear>>]) -> Result<(), VerifyError> {
    let root = root_values(shards).map_err(VerifyError::TreeChain)?;
    let block = block_binding::<KoalaBear>(&proof.block.claim());
    let bindings: Vec<Vec<KoalaBear>> = proof
        .shards
        .iter()
        .map(|s| subblock_binding::<KoalaBear>(&proof.subblocks[s.subblock as usize].claim()))
        .collect();
    let context = context_values::<KoalaBear>(&proof.block)?;
    match expected_root_values(&block, &context, &bindings) {
        Some(expected) if expected == root => Ok(()),
        _ => Err(VerifyError::RootValues),
    }
}

impl ChainValues {
    /// For shards `range` (one subblock): `None` unless they start it, chain and end it; else
    /// the index of the last step they prove.
    fn subblock_last_step(&self, range: std::ops::Range<usize>) -> Option<u64> {
        match self {
            ChainValues::KoalaBear(v) => group_ends(&v[range]),
            ChainValues::BabyBear(v) => group_ends(&v[range]),
        }
    }
}

/// Verifies block proof bytes of either version (v2: the shard proofs; v3: one aggregated
/// proof, [`crate::aggregated`]) and returns the block public values they prove. Never panics.
pub fn verify_block_proof(bytes: &[u8]) -> Result<BlockPublicValues, VerifyError> {
    verify_block_proof_version(bytes).map(|(_, block)| block)
}

/// [`verify_block_proof`], also naming the format version it read.
pub fn verify_block_proof_version(bytes: &[u8]) -> Result<(u32, BlockPublicValues), VerifyError> {
    let version = crate::aggregated::proof_version(bytes)?;
    if version == crate::aggregated::AGGREGATED_PROOF_VERSION {
        return crate::aggregated::verify_aggregated_proof(bytes).map(|b| (version, b));
    }
    let proof = BlockProof::from_bytes(bytes).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    verify_parsed(&proof)?;
    Ok((version, proof.block))
}

/// The checks on the block's and subblocks' public values alone (no shard proof is looked at):
/// the subblocks cover the block in order, their boundaries are canonical and the state they
/// read continues the state earlier subblocks wrote. Part of [`verify_block_proof`].
pub fn check_public_values(proof: &BlockProof) -> Result<(), VerifyError> {
    check_claims(&proof.block, &proof.subblocks)
}

/// [`check_public_values`] on the claims themselves (what both proof versions carry).
pub(crate) fn check_claims(
    block: &BlockPublicValues,
    subblocks: &[SubblockPublicValues],
) -> Result<(), VerifyError> {
    check_subblocks_cover_block(block, subblocks)?;
    check_state_continuity(subblocks)
}

/// A proof file's format version is `expected` and its coverage table is this build's.
pub(crate) fn check_versions(
    version: u32,
    expected: u32,
    coverage_version: u32,
) -> Result<(), VerifyError> {
    if version != expected {
        return Err(VerifyError::Unsupported(format!(
            "format version {version}"
        )));
    }
    if coverage_version != COVERAGE_VERSION {
        return Err(VerifyError::Unsupported(format!(
            "coverage version {coverage_version}"
        )));
    }
    Ok(())
}

fn verify_parsed(proof: &BlockProof) -> Result<(), VerifyError> {
    check_versions(proof.version, BLOCK_PROOF_VERSION, proof.coverage_version)?;
    let field = Field::from_name(&proof.field)
        .ok_or_else(|| VerifyError::Unsupported(format!("field {}", proof.field)))?;
    crate::context::block_context(&proof.block)?;
    check_public_values(proof)?;
    let shard_ranges = shard_ranges(proof)?;

    let chain_values = match field {
        Field::KoalaBear => verify_shards!(KoalaBear, proof),
        Field::BabyBear => verify_shards!(BabyBear, proof),
    };
    for (sub, range) in proof.subblocks.iter().zip(shard_ranges) {
        let Some(range) = range else { continue };
        let last = chain_values
            .subblock_last_step(range)
            .ok_or(VerifyError::BrokenChain {
                subblock: sub.index,
            })?;
        if last + 1 != sub.steps {
            return Err(VerifyError::StepCount {
                subblock: sub.index,
                expected: sub.steps,
                found: last + 1,
            });
        }
    }
    if let ChainValues::KoalaBear(shards) = &chain_values
        && !shards.is_empty()
    {
        check_tree(proof, shards)?;
    }
    Ok(())
}

/// Subblocks 0..N in order, transaction ranges contiguous from 0 and summing to the block's
/// count, gas counters contiguous from 0 to the block's gas used.
fn check_subblocks_cover_block(
    block: &BlockPublicValues,
    subblocks: &[SubblockPublicValues],
) -> Result<(), VerifyError> {
    if subblocks.is_empty() {
        return Err(VerifyError::Empty);
    }
    let (mut next_tx, mut gas) = (0u64, 0u64);
    for (position, s) in subblocks.iter().enumerate() {
        if s.index as usize != position {
            return Err(VerifyError::SubblockIndex {
                position,
                found: s.index,
            });
        }
        if s.first_tx != next_tx {
            return Err(VerifyError::TxRange {
                subblock: s.index,
                expected: next_tx,
                found: s.first_tx,
            });
        }
        if s.gas_start != gas {
            return Err(VerifyError::GasStart {
                subblock: s.index,
                expected: gas,
                found: s.gas_start,
            });
        }
        if s.gas_end < s.gas_start {
            return Err(VerifyError::GasDecreases {
                subblock: s.index,
                gas_start: s.gas_start,
                gas_end: s.gas_end,
            });
        }
        // Saturating: an overflowing count cannot equal the block's and is rejected below.
        next_tx = next_tx.saturating_add(s.tx_count);
        gas = s.gas_end;
    }
    if next_tx != block.transactions {
        return Err(VerifyError::TxCount {
            block: block.transactions,
            subblocks: next_tx,
        });
    }
    if gas != block.gas_used {
        return Err(VerifyError::GasUsed {
            block: block.gas_used,
            subblocks: gas,
        });
    }
    Ok(())
}

/// For each subblock, the range of its shards (`None`: it has none). Shards must come
/// subblock by subblock in order; a subblock has shards exactly when it has steps.
fn shard_ranges(proof: &BlockProof) -> Result<Vec<Option<std::ops::Range<usize>>>, VerifyError> {
    let n = proof.subblocks.len();
    let mut ranges: Vec<Option<std::ops::Range<usize>>> = vec![None; n];
    for (k, s) in proof.shards.iter().enumerate() {
        let i = s.subblock as usize;
        let after_previous = k == 0 || s.subblock >= proof.shards[k - 1].subblock;
        if i >= n || !after_previous {
            return Err(VerifyError::ShardOrder {
                shard: k,
                subblock: s.subblock,
            });
        }
        match &mut ranges[i] {
            Some(r) => r.end = k + 1,
            None => ranges[i] = Some(k..k + 1),
        }
    }
    for (sub, range) in proof.subblocks.iter().zip(&ranges) {
        match (sub.steps, range) {
            (0, Some(_)) => {
                return Err(VerifyError::UnexpectedShards {
                    subblock: sub.index,
                });
            }
            (steps, None) if steps > 0 => {
                return Err(VerifyError::MissingShards {
                    subblock: sub.index,
                    steps,
                });
            }
            _ => {}
        }
    }
    Ok(ranges)
}

pub(crate) type Addr = [u8; 20];
pub(crate) type Word = [u8; 32];

pub(crate) fn hex(b: &[u8]) -> String {
    alloy_primitives::hex::encode_prefixed(b)
}

fn show_account(a: &Option<crate::proof::AccountState>) -> String {
    match a {
        None => "absent".into(),
        Some(s) => format!(
            "{{balance {}, nonce {}, code hash {}}}",
            hex(&s.balance),
            s.nonce,
            hex(&s.code_hash)
        ),
    }
}

/// Strictly increasing keys: sorted, no key twice (one canonical encoding per boundary).
fn check_canonical(sub: u32, b: &BoundaryValues) -> Result<(), VerifyError> {
    fn increasing<K: Ord>(keys: impl Iterator<Item = K>) -> bool {
        let keys: Vec<K> = keys.collect();
        keys.windows(2).all(|w| w[0] < w[1])
    }
    let acc = |l: &[AccountEntry]| increasing(l.iter().map(|e| e.address));
    let slot = |l: &[SlotEntry]| increasing(l.iter().map(|e| (e.address, e.slot)));
    let bad = |list| {
        Err(VerifyError::BoundaryNotCanonical {
            subblock: sub,
            list,
        })
    };
    if !acc(&b.account_reads) {
        return bad("account reads");
    }
    if !slot(&b.storage_reads) {
        return bad("storage reads");
    }
    if !acc(&b.account_writes) {
        return bad("account writes");
    }
    if !slot(&b.storage_writes) {
        return bad("storage writes");
    }
    if !increasing(b.storage_cleared.iter()) {
        return bad("storage cleared");
    }
    Ok(())
}

/// The state the subblocks so far left behind: for each key the latest write and its subblock.
/// What a later subblock's reads must see (the continuity check), and what block proof v3
/// leaves out of its claims for the same reason (`crate::compact_claims`).
#[derive(Default)]
pub(crate) struct WrittenState {
    accounts: HashMap<Addr, (Option<crate::proof::AccountState>, u32)>,
    slots: BTreeMap<(Addr, Word), (Word, u32)>,
    /// Accounts whose storage a subblock wiped, with the latest such subblock: their slots
    /// not written since read as zero.
    cleared: HashMap<Addr, u32>,
}

impl WrittenState {
    /// The latest write of account `a` and its subblock, if a subblock so far wrote it.
    pub(crate) fn account(&self, a: &Addr) -> Option<(Option<crate::proof::AccountState>, u32)> {
        self.accounts.get(a).copied()
    }

    /// The value slot `slot` of `a` has after the subblocks so far, and the subblock that set
    /// it, if one did: its latest write, or zero after its account's storage was wiped.
    pub(crate) fn slot(&self, a: &Addr, slot: &Word) -> Option<(Word, u32)> {
        match self.slots.get(&(*a, *slot)) {
            Some(&(v, by)) => Some((v, by)),
            None => self.cleared.get(a).map(|&by| ([0u8; 32], by)),
        }
    }

    fn check_reads(&self, sub: u32, b: &BoundaryValues) -> Result<(), VerifyError> {
        for r in &b.account_reads {
            if let Some((latest, by)) = self.account(&r.address)
                && latest != r.state
            {
                return Err(VerifyError::StateDiscontinuity {
                    subblock: sub,
                    key: format!("account {}", hex(&r.address)),
                    read: show_account(&r.state),
                    expected: show_account(&latest),
                    written_by: by,
                });
            }
        }
        for r in &b.storage_reads {
            if let Some((v, by)) = self.slot(&r.address, &r.slot)
                && v != r.value
            {
                return Err(VerifyError::StateDiscontinuity {
                    subblock: sub,
                    key: format!("slot {} of {}", hex(&r.slot), hex(&r.address)),
                    read: hex(&r.value),
                    expected: hex(&v),
                    written_by: by,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn apply_writes(&mut self, sub: u32, b: &BoundaryValues) {
        // An account written as absent has no storage either.
        let wiped = b.storage_cleared.iter().chain(
            b.account_writes
                .iter()
                .filter(|w| w.state.is_none())
                .map(|w| &w.address),
        );
        for a in wiped {
            let stale: Vec<_> = self
                .slots
                .range((*a, [0u8; 32])..=(*a, [0xff; 32]))
                .map(|(k, _)| *k)
                .collect();
            for k in stale {
                self.slots.remove(&k);
            }
            self.cleared.insert(*a, sub);
        }
        for w in &b.storage_writes {
            self.slots.insert((w.address, w.slot), (w.value, sub));
        }
        for w in &b.account_writes {
            self.accounts.insert(w.address, (w.state, sub));
        }
    }
}

/// Every subblock's boundary is canonical, and every account or slot it read that an earlier
/// subblock wrote has the value of the latest such write (zero for a slot of a wiped account).
fn check_state_continuity(subblocks: &[SubblockPublicValues]) -> Result<(), VerifyError> {
    let mut state = WrittenState::default();
    for s in subblocks {
        check_canonical(s.index, &s.boundary)?;
        state.check_reads(s.index, &s.boundary)?;
        state.apply_writes(s.index, &s.boundary);
    }
    Ok(())
}
