//! Block assembly: signs a plan's transactions, builds block 1 on top of the genesis header,
//! fills the header's post-execution fields from one execution of a draft header, and re-executes
//! the final block to require that every check passes and that exactly the planned transactions
//! fail.

use super::genesis::{CHAIN_ID, Eoa, GAS_LIMIT, GENESIS_TIMESTAMP, Genesis};
use crate::block::{BlockExecution, ExecuteOptions, execute_block};
use crate::error::ExecError;
use crate::fixture::{BlockInput, ChainConfig, ChainSpec, FixtureFormat, PreState};
use crate::trace::SegmentKind;
use alloy_consensus::proofs::{calculate_transaction_root, calculate_withdrawals_root};
use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, Header, SignableTransaction, TxEip1559, TxEip2930, TxEnvelope, TxLegacy,
};
use alloy_eips::eip1559::BaseFeeParams;
use alloy_eips::eip2930::AccessList;
use alloy_eips::eip4895::Withdrawal;
use alloy_primitives::{Address, B256, Bloom, Bytes, Signature, TxKind, U256, address, keccak256};
use std::str::FromStr;

/// Fee recipient of the generated block (absent from genesis: the block creates it).
pub const COINBASE: Address = address!("0xc0ffee0000000000000000000000000000000001");
/// Every transaction offers at most 2 gwei per gas ...
pub const MAX_FEE_PER_GAS: u128 = 2_000_000_000;
/// ... of which 1 gwei is the tip (block 1's base fee is 0.875 gwei).
pub const MAX_PRIORITY_FEE_PER_GAS: u128 = 1_000_000_000;

/// Envelope type of a planned transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxType {
    /// Type 0 with EIP-155 replay protection.
    Legacy,
    /// Type 1 (EIP-2930).
    AccessList,
    /// Type 2 (EIP-1559).
    DynamicFee,
}

/// One transaction of a plan; nonces are assigned in plan order per sender.
#[derive(Clone, Debug)]
pub struct TxSpec {
    /// Index of the sending EOA in [`Genesis::eoas`].
    pub from: usize,
    pub to: Address,
    pub value: U256,
    pub input: Bytes,
    pub gas_limit: u64,
    pub ty: TxType,
    pub access_list: AccessList,
}

impl TxSpec {
    /// An EIP-1559 call or transfer without an access list.
    pub fn call(from: usize, to: Address, value: U256, input: Bytes, gas_limit: u64) -> Self {
        Self {
            from,
            to,
            value,
            input,
            gas_limit,
            ty: TxType::DynamicFee,
            access_list: AccessList::default(),
        }
    }
}

/// What block 1 contains.
#[derive(Clone, Debug, Default)]
pub struct BlockPlan {
    pub txs: Vec<TxSpec>,
    pub withdrawals: Vec<Withdrawal>,
    /// Indices of the transactions that must fail (revert); every other one must succeed.
    pub expected_failures: Vec<usize>,
}

/// A generated block: its input (as written to the fixture) and its checked execution.
#[derive(Clone, Debug)]
pub struct Assembled {
    pub input: BlockInput,
    pub execution: BlockExecution,
}

fn sign(eoa: &Eoa, nonce: u64, spec: &TxSpec) -> Result<TxEnvelope, ExecError> {
    let sign_hash = |hash: B256| -> Result<Signature, ExecError> {
        let (sig, recid) = eoa
            .key
            .sign_prehash_recoverable(hash.as_slice())
            .map_err(|e| ExecError::Generator(format!("signing with {}: {e}", eoa.address)))?;
        Ok(Signature::from_bytes_and_parity(
            &sig.to_bytes(),
            recid.is_y_odd(),
        ))
    };
    let to = TxKind::Call(spec.to);
    let envelope: TxEnvelope = match spec.ty {
        TxType::Legacy => {
            let tx = TxLegacy {
                chain_id: Some(CHAIN_ID),
                nonce,
                gas_price: MAX_FEE_PER_GAS,
                gas_limit: spec.gas_limit,
                to,
                value: spec.value,
                input: spec.input.clone(),
            };
            let sig = sign_hash(tx.signature_hash())?;
            tx.into_signed(sig).into()
        }
        TxType::AccessList => {
            let tx = TxEip2930 {
                chain_id: CHAIN_ID,
                nonce,
                gas_price: MAX_FEE_PER_GAS,
                gas_limit: spec.gas_limit,
                to,
                value: spec.value,
                access_list: spec.access_list.clone(),
                input: spec.input.clone(),
            };
            let sig = sign_hash(tx.signature_hash())?;
            tx.into_signed(sig).into()
        }
        TxType::DynamicFee => {
            let tx = TxEip1559 {
                chain_id: CHAIN_ID,
                nonce,
                gas_limit: spec.gas_limit,
                max_fee_per_gas: MAX_FEE_PER_GAS,
                max_priority_fee_per_gas: MAX_PRIORITY_FEE_PER_GAS,
                to,
                value: spec.value,
                access_list: spec.access_list.clone(),
                input: spec.input.clone(),
            };
            let sig = sign_hash(tx.signature_hash())?;
            tx.into_signed(sig).into()
        }
    };
    // The executor recovers signers; a mismatch here would make the fixture unusable.
    let recovered = envelope.recover_signer().map_err(|e| {
        ExecError::Generator(format!("recovering a freshly signed transaction: {e}"))
    })?;
    if recovered != eoa.address {
        return Err(ExecError::Generator(format!(
            "signature recovers {recovered}, not the signer {}",
            eoa.address
        )));
    }
    Ok(envelope)
}

/// Signs the plan's transactions in order, assigning each sender consecutive nonces from 0.
pub fn sign_all(genesis: &Genesis, plan: &BlockPlan) -> Result<Vec<TxEnvelope>, ExecError> {
    let mut nonces = vec![0u64; genesis.eoas.len()];
    plan.txs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let eoa = genesis.eoas.get(spec.from).ok_or_else(|| {
                ExecError::Generator(format!("transaction {i}: no EOA with index {}", spec.from))
            })?;
            let tx = sign(eoa, nonces[spec.from], spec)?;
            nonces[spec.from] += 1;
            Ok(tx)
        })
        .collect()
}

/// Success of each transaction, read from the trace: a transaction failed when its top frame did
/// not end successfully. A transaction that ran no code (a plain transfer) succeeded.
pub fn transaction_outcomes(exec: &BlockExecution) -> Vec<bool> {
    let mut outcomes = vec![true; exec.transactions];
    for sub in &exec.subblocks {
        let t = &sub.trace;
        for seg in t
            .segments
            .iter()
            .filter(|s| s.kind == SegmentKind::Transaction as u32)
        {
            if seg.first_step < seg.end_step {
                let ctx = t.steps[seg.first_step as usize].context as usize;
                outcomes[seg.tx_index as usize] = t.contexts[ctx].success != 0;
            }
        }
    }
    outcomes
}

/// The `computed` value of the check `name` of an execution, parsed.
fn computed<T: FromStr>(exec: &BlockExecution, name: &str) -> Result<T, ExecError> {
    let check = exec
        .checks
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| ExecError::Generator(format!("execution reported no `{name}` check")))?;
    check.computed.parse().map_err(|_| {
        ExecError::Generator(format!(
            "cannot parse computed `{name}`: {}",
            check.computed
        ))
    })
}

/// Builds, executes and checks block 1 of `plan` on top of the genesis.
pub fn assemble(genesis: &Genesis, plan: &BlockPlan) -> Result<Assembled, ExecError> {
    assemble_with_gas_limit(genesis, plan, GAS_LIMIT)
}

/// [`assemble`] with `gas_limit` as the gas limit of the genesis header and of block 1.
pub fn assemble_with_gas_limit(
    genesis: &Genesis,
    plan: &BlockPlan,
    gas_limit: u64,
) -> Result<Assembled, ExecError> {
    let witness = genesis.witness()?;
    let parent = Genesis::header_with_gas_limit(witness.state_root, gas_limit);
    let chain = ChainSpec::new(ChainConfig::prague_from_genesis(CHAIN_ID));
    let transactions = sign_all(genesis, plan)?;
    let timestamp = GENESIS_TIMESTAMP + 12;
    let blob_params = chain.blob_params(timestamp).ok_or_else(|| {
        ExecError::Generator("the generated chain has no blob parameters at block 1".into())
    })?;
    let base_fee = parent
        .next_block_base_fee(BaseFeeParams::ethereum())
        .ok_or_else(|| ExecError::Generator("genesis has no base fee".into()))?;
    // Post-execution fields are placeholders until the draft execution computes them.
    let draft = Header {
        parent_hash: parent.hash_slow(),
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: COINBASE,
        state_root: B256::ZERO,
        transactions_root: calculate_transaction_root(&transactions),
        receipts_root: B256::ZERO,
        logs_bloom: Bloom::ZERO,
        number: 1,
        gas_limit,
        gas_used: 0,
        timestamp,
        extra_data: Bytes::from_static(b"slotproof"),
        mix_hash: keccak256("slotproof/prevrandao/1"),
        base_fee_per_gas: Some(base_fee),
        withdrawals_root: Some(calculate_withdrawals_root(&plan.withdrawals)),
        blob_gas_used: Some(0),
        excess_blob_gas: parent.next_block_excess_blob_gas(blob_params),
        parent_beacon_block_root: Some(keccak256("slotproof/beacon-root/1")),
        requests_hash: Some(B256::ZERO),
        ..Default::default()
    };
    let mut input = BlockInput {
        format: FixtureFormat::ZkPig,
        header: draft,
        stated_hash: None,
        transactions,
        withdrawals: plan.withdrawals.clone(),
        chain,
        ancestors: vec![parent],
        pre_state: PreState::Witness {
            nodes: witness.nodes,
            codes: witness.codes,
        },
        expected_diffs: None,
    };
    let opts = ExecuteOptions::default();
    let draft_exec = execute_block(&input, &opts)?;
    let header = &mut input.header;
    header.gas_used = draft_exec.gas_used;
    header.state_root = draft_exec.state_root;
    header.receipts_root = computed(&draft_exec, "receipts_root")?;
    header.logs_bloom = computed(&draft_exec, "logs_bloom")?;
    header.requests_hash = Some(computed(&draft_exec, "requests_hash")?);
    header.blob_gas_used = Some(computed(&draft_exec, "blob_gas_used")?);
    input.stated_hash = Some(input.header.hash_slow());

    let execution = execute_block(&input, &opts)?;
    execution.ensure_checks_pass()?;
    let failed: Vec<usize> = transaction_outcomes(&execution)
        .iter()
        .enumerate()
        .filter(|(_, ok)| !**ok)
        .map(|(i, _)| i)
        .collect();
    if failed != plan.expected_failures {
        return Err(ExecError::Generator(format!(
            "transactions {failed:?} failed, but the plan expects exactly {:?} to fail",
            plan.expected_failures
        )));
    }
    Ok(Assembled { input, execution })
}
