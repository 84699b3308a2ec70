//! The contracts of the generated genesis: the four Prague system contracts (protocol constants)
//! and the project's own contracts, written with [`Asm`] so that every opcode they use is
//! visible here.
//!
//! - `token`: an ERC-20-like token (`transfer`, `balanceOf`, `Transfer` LOG3, revert on an
//!   insufficient balance); balances live at Solidity's mapping slots `keccak(addr . 0)`.
//! - `hasher`: a KECCAK256/arithmetic loop (EXP, MULMOD, ADDMOD, SDIV, SIGNEXTEND, BYTE, SAR, ...)
//!   over a 288-byte memory buffer it keeps rewriting, then every PUSH1..PUSH32 width once.
//! - `relay`: a call loop (STATICCALL into the token, CALL and DELEGATECALL into `adder`, with
//!   RETURNDATACOPY of each result).
//! - `adder`: a counter-and-arithmetic helper; under DELEGATECALL it bumps the relay's counter.

use super::asm::Asm;
use crate::error::ExecError;
use alloy_primitives::{Address, B256, Bytes, U256, address, hex, keccak256};
use revm::bytecode::opcode::*;

/// EIP-4788 beacon roots contract.
pub const BEACON_ROOTS_ADDRESS: Address = address!("0x000F3df6D732807Ef1319fB7B8bB8522d0Beac02");
/// EIP-2935 block hash history contract.
pub const HISTORY_STORAGE_ADDRESS: Address = address!("0x0000F90827F1C53a10cb7A02335B175320002935");
/// EIP-7002 withdrawal requests contract.
pub const WITHDRAWAL_REQUESTS_ADDRESS: Address =
    address!("0x00000961Ef480Eb55e80D19ad83579A64c007002");
/// EIP-7251 consolidation requests contract.
pub const CONSOLIDATION_REQUESTS_ADDRESS: Address =
    address!("0x0000BBdDc7CE488642fb579F8B00f3a590007251");

// Runtime code of the system contracts as specified by their EIPs (identical to mainnet's).
const BEACON_ROOTS_CODE: &[u8] = &hex!(
    "3373fffffffffffffffffffffffffffffffffffffffe14604d57602036146024575f5ffd5b5f35801560495762001fff810690815414603c575f5ffd5b62001fff01545f5260205ff35b5f5ffd5b62001fff42064281555f359062001fff015500"
);
const HISTORY_STORAGE_CODE: &[u8] = &hex!(
    "3373fffffffffffffffffffffffffffffffffffffffe14604657602036036042575f35600143038111604257611fff81430311604257611fff9006545f5260205ff35b5f5ffd5b5f35611fff60014303065500"
);
const WITHDRAWAL_REQUESTS_CODE: &[u8] = &hex!(
    "3373fffffffffffffffffffffffffffffffffffffffe1460cb5760115f54807fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff146101f457600182026001905f5b5f82111560685781019083028483029004916001019190604d565b909390049250505036603814608857366101f457346101f4575f5260205ff35b34106101f457600154600101600155600354806003026004013381556001015f35815560010160203590553360601b5f5260385f601437604c5fa0600101600355005b6003546002548082038060101160df575060105b5f5b8181146101835782810160030260040181604c02815460601b8152601401816001015481526020019060020154807fffffffffffffffffffffffffffffffff00000000000000000000000000000000168252906010019060401c908160381c81600701538160301c81600601538160281c81600501538160201c81600401538160181c81600301538160101c81600201538160081c81600101535360010160e1565b910180921461019557906002556101a0565b90505f6002555f6003555b5f54807fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff14156101cd57505f5b6001546002828201116101e25750505f6101e8565b01600290035b5f555f600155604c025ff35b5f5ffd"
);
const CONSOLIDATION_REQUESTS_CODE: &[u8] = &hex!(
    "3373fffffffffffffffffffffffffffffffffffffffe1460d35760115f54807fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff1461019a57600182026001905f5b5f82111560685781019083028483029004916001019190604d565b9093900492505050366060146088573661019a573461019a575f5260205ff35b341061019a57600154600101600155600354806004026004013381556001015f358155600101602035815560010160403590553360601b5f5260605f60143760745fa0600101600355005b6003546002548082038060021160e7575060025b5f5b8181146101295782810160040260040181607402815460601b815260140181600101548152602001816002015481526020019060030154905260010160e9565b910180921461013b5790600255610146565b90505f6002555f6003555b5f54807fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff141561017357505f5b6001546001828201116101885750505f61018e565b01600190035b5f555f6001556074025ff35b5f5ffd"
);

/// The system contracts a Prague block calls, with their runtime code.
pub fn system_contracts() -> [(Address, Bytes); 4] {
    [
        (BEACON_ROOTS_ADDRESS, Bytes::from_static(BEACON_ROOTS_CODE)),
        (
            HISTORY_STORAGE_ADDRESS,
            Bytes::from_static(HISTORY_STORAGE_CODE),
        ),
        (
            WITHDRAWAL_REQUESTS_ADDRESS,
            Bytes::from_static(WITHDRAWAL_REQUESTS_CODE),
        ),
        (
            CONSOLIDATION_REQUESTS_ADDRESS,
            Bytes::from_static(CONSOLIDATION_REQUESTS_CODE),
        ),
    ]
}

/// Where the project's contracts live in the generated genesis.
pub const TOKEN_ADDRESS: Address = address!("0x5107000000000000000000000000000000000001");
pub const HASHER_ADDRESS: Address = address!("0x5107000000000000000000000000000000000002");
pub const RELAY_ADDRESS: Address = address!("0x5107000000000000000000000000000000000003");
pub const ADDER_ADDRESS: Address = address!("0x5107000000000000000000000000000000000004");

/// `transfer(address,uint256)`.
pub const TRANSFER_SELECTOR: [u8; 4] = hex!("a9059cbb");
/// `balanceOf(address)`.
pub const BALANCE_OF_SELECTOR: [u8; 4] = hex!("70a08231");

/// Topic 0 of `Transfer(address,address,uint256)`.
pub fn transfer_topic() -> B256 {
    keccak256("Transfer(address,address,uint256)")
}

fn hashed_topic() -> B256 {
    keccak256("Hashed(bytes32)")
}

fn relayed_topic() -> B256 {
    keccak256("Relayed(uint256)")
}

/// Selector of the token's custom error `InsufficientBalance()`.
fn insufficient_balance_selector() -> [u8; 4] {
    let h = keccak256("InsufficientBalance()");
    [h[0], h[1], h[2], h[3]]
}

/// The token's storage slot of `holder`'s balance: `keccak(pad32(holder) . pad32(0))`, Solidity's
/// layout of a mapping at slot 0.
pub fn token_balance_slot(holder: Address) -> U256 {
    let mut buf = [0u8; 64];
    buf[12..32].copy_from_slice(holder.as_slice());
    U256::from_be_bytes(keccak256(buf).0)
}

/// Calldata of `transfer(to, amount)`.
pub fn transfer_calldata(to: Address, amount: U256) -> Bytes {
    let mut data = Vec::with_capacity(68);
    data.extend_from_slice(&TRANSFER_SELECTOR);
    data.extend_from_slice(&[0u8; 12]);
    data.extend_from_slice(to.as_slice());
    data.extend_from_slice(&amount.to_be_bytes::<32>());
    data.into()
}

/// Calldata of the hasher: `(iterations, seed)` as two words.
pub fn hasher_calldata(iterations: u64, seed: B256) -> Bytes {
    let mut data = Vec::with_capacity(64);
    data.extend_from_slice(&U256::from(iterations).to_be_bytes::<32>());
    data.extend_from_slice(seed.as_slice());
    data.into()
}

/// Calldata of the relay: `(iterations, k, holder_0 .. holder_{k-1})`; iteration `i` queries the
/// token balance of `holder_{i mod k}`.
pub fn relay_calldata(iterations: u64, holders: &[Address]) -> Bytes {
    let mut data = Vec::with_capacity(64 + 32 * holders.len());
    data.extend_from_slice(&U256::from(iterations).to_be_bytes::<32>());
    data.extend_from_slice(&U256::from(holders.len()).to_be_bytes::<32>());
    for h in holders {
        data.extend_from_slice(&[0u8; 12]);
        data.extend_from_slice(h.as_slice());
    }
    data.into()
}

const ADDRESS_MASK: [u8; 20] = [0xff; 20];

/// Runtime code of the token.
pub fn token() -> Result<Bytes, ExecError> {
    let mut a = Asm::new();
    // Dispatch on the selector (the top 4 bytes of the first calldata word).
    a.push0().op(CALLDATALOAD).push(0xe0u64).op(SHR);
    a.op(DUP1)
        .push_n(4, &TRANSFER_SELECTOR)
        .op(EQ)
        .jumpi("transfer");
    a.op(DUP1)
        .push_n(4, &BALANCE_OF_SELECTOR)
        .op(EQ)
        .jumpi("balance_of");
    a.label("fail").push0().op(DUP1).op(REVERT);

    // balanceOf(holder): SLOAD(keccak(holder . 0)).
    a.label("balance_of").op(POP);
    a.push(4u64)
        .op(CALLDATALOAD)
        .push_n(20, &ADDRESS_MASK)
        .op(AND);
    a.push0().op(MSTORE).push0().push(0x20u64).op(MSTORE);
    a.push(0x40u64).push0().op(KECCAK256).op(SLOAD);
    a.push0().op(MSTORE).push(0x20u64).push0().op(RETURN);

    // transfer(to, amount)
    a.label("transfer").op(POP);
    a.push(0x44u64).op(CALLDATASIZE).op(LT).jumpi("fail"); // short calldata
    a.op(CALLER)
        .push0()
        .op(MSTORE)
        .push0()
        .push(0x20u64)
        .op(MSTORE);
    a.push(0x40u64).push0().op(KECCAK256); // [from_slot]
    a.op(DUP1).op(SLOAD); // [from_slot, from_bal]
    a.push(0x24u64).op(CALLDATALOAD); // [from_slot, from_bal, amount]
    a.op(DUP1).op(DUP3).op(LT).jumpi("insufficient"); // from_bal < amount
    a.ops(&[SWAP1, DUP2, SWAP1, SUB]); // [from_slot, amount, from_bal - amount]
    a.op(DUP3).op(SSTORE); // debit first, so a self-transfer reads the debited balance
    a.op(SWAP1).op(POP); // [amount]
    a.push(4u64)
        .op(CALLDATALOAD)
        .push_n(20, &ADDRESS_MASK)
        .op(AND); // [amount, to]
    a.op(DUP1).push0().op(MSTORE);
    a.push(0x40u64).push0().op(KECCAK256); // [amount, to, to_slot]
    a.op(DUP1).op(SLOAD).op(DUP4).op(ADD); // [amount, to, to_slot, to_bal + amount]
    a.op(SWAP1).op(SSTORE); // [amount, to]
    a.op(DUP2).push0().op(MSTORE); // log data: amount
    a.op(CALLER).push_n(32, transfer_topic().as_slice());
    a.push(0x20u64).push0().op(LOG3); // Transfer(from = caller, to, amount)
    a.op(POP);
    a.push(1u64)
        .push0()
        .op(MSTORE)
        .push(0x20u64)
        .push0()
        .op(RETURN);

    // Revert with the custom error `InsufficientBalance()`.
    a.label("insufficient");
    a.push_n(4, &insufficient_balance_selector())
        .push(0xe0u64)
        .op(SHL);
    a.push0().op(MSTORE).push(4u64).push0().op(REVERT);
    a.assemble("token")
}

/// Runtime code of the hasher. Calldata `(n, seed)`; memory `0x20..0x140` is the hashed buffer
/// (seed first); iteration `i` hashes it, writes `h ^ i` into word `i mod 8`, mixes `h`
/// arithmetically into word 1 and byte `0x13f`. The result is stored at slot `CALLER`; slot 0
/// counts iterations over all calls.
pub fn hasher() -> Result<Bytes, ExecError> {
    // Two odd 256-bit moduli for MULMOD/ADDMOD (secp256k1's p and n).
    let p = hex!("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f");
    let q = hex!("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
    let mut a = Asm::new();
    a.push(0x40u64).push0().push0().op(CALLDATACOPY); // mem[0..0x40] = (n, seed)
    a.push0(); // [i]
    a.label("loop");
    a.push0().op(MLOAD).op(DUP2).op(LT).op(ISZERO).jumpi("done"); // exit unless i < n
    a.push(0x120u64).push(0x20u64).op(KECCAK256); // [i, h]
    a.op(DUP1).op(DUP3).op(XOR); // [i, h, h ^ i]
    a.push(8u64)
        .op(DUP4)
        .op(MOD)
        .push(5u64)
        .op(SHL)
        .push(0x20u64)
        .op(ADD);
    a.op(MSTORE); // mem[0x20 + 32 (i mod 8)] = h ^ i; [i, h]
    a.push(977u64).op(DUP2).op(MOD).push(2u64).op(ADD); // [i, h, base = h mod 977 + 2]
    a.op(DUP3).push(3u64).op(ADD).op(SWAP1).op(EXP); // [i, h, base^(i + 3)]
    a.op(DUP2).op(MUL); // [i, h, m]
    a.op(DUP2).push(7u64).op(SHL).op(XOR); // m ^= h << 7
    a.op(DUP2).push(3u64).op(SAR).op(ADD); // m += h >>> 3 (arithmetic)
    a.push_n(32, &p).op(DUP3).op(DUP3).op(MULMOD); // [i, h, m, m * h mod p]
    a.push_n(32, &q).op(DUP4).op(DUP3).op(ADDMOD); // [i, h, m, mm, mm + h mod q]
    a.op(XOR).op(XOR); // [i, h, v]
    a.op(DUP1).push(7u64).op(BYTE).push(0x13fu64).op(MSTORE8); // mem[0x13f] = byte 7 of v
    a.op(DUP1).push(3u64).op(SIGNEXTEND); // [i, h, v, sext4(v)]
    a.op(DUP2).op(SDIV).op(ADD); // v += v / sext4(v) (signed; 0 when the divisor is 0)
    a.push(0x40u64).op(MLOAD).op(XOR).push(0x40u64).op(MSTORE); // mem[0x40] ^= v
    a.op(POP).push(1u64).op(ADD).jump("loop"); // [i + 1]

    a.label("done"); // [n]
    a.push(0x120u64).push(0x20u64).op(KECCAK256); // [n, r]
    // Fold one constant of every PUSH width into the result.
    for width in 1..=32usize {
        let bytes: Vec<u8> = (0..width).map(|j| (width * 31 + j * 7) as u8 | 1).collect();
        a.push_n(width, &bytes).op(XOR);
    }
    a.push(0x55u64).op(DUP2).op(SMOD).op(XOR); // r ^= r smod 0x55
    a.op(DUP1).op(CALLER).op(SSTORE); // slot[caller] = r
    a.push0().op(SLOAD).op(DUP3).op(ADD).push0().op(SSTORE); // slot[0] += n
    a.op(DUP1).push0().op(MSTORE);
    a.push_n(32, hashed_topic().as_slice())
        .push(0x20u64)
        .push0()
        .op(LOG1);
    a.push(0x20u64).push0().op(RETURN);
    a.assemble("hasher")
}

/// Runtime code of the relay. Calldata `(n, k, holders[k])`; iteration `i` STATICCALLs
/// `token.balanceOf(holders[i mod k])`, CALLs `adder(acc + balance, i)` and DELEGATECALLs
/// `adder(result, i)` (which bumps the relay's own slot 0); the accumulator lives at memory
/// 0x300. Slot 1 keeps the final accumulator, emitted as `Relayed(n)`.
pub fn relay() -> Result<Bytes, ExecError> {
    let mut a = Asm::new();
    a.push0()
        .op(CALLDATALOAD)
        .push(0x20u64)
        .op(CALLDATALOAD)
        .push0(); // [n, k, i]
    a.label("loop");
    a.op(DUP3).op(DUP2).op(LT).op(ISZERO).jumpi("done");
    // STATICCALL token.balanceOf(holders[i mod k]) -> mem[0x80]
    a.push_n(4, &BALANCE_OF_SELECTOR)
        .push(0xe0u64)
        .op(SHL)
        .push0()
        .op(MSTORE);
    a.op(DUP2)
        .op(DUP2)
        .op(MOD)
        .push(5u64)
        .op(SHL)
        .push(0x40u64)
        .op(ADD)
        .op(CALLDATALOAD);
    a.push(4u64).op(MSTORE);
    a.push(0x20u64)
        .push(0x80u64)
        .push(0x24u64)
        .push0()
        .push_addr(TOKEN_ADDRESS)
        .op(GAS);
    a.op(STATICCALL).op(ISZERO).jumpi("fail");
    a.op(RETURNDATASIZE)
        .push0()
        .push(0xa0u64)
        .op(RETURNDATACOPY);
    a.push(0xa0u64).op(MLOAD).push(0x300u64).op(MLOAD).op(ADD); // [n, k, i, acc + balance]
    // CALL adder(acc + balance, i) -> mem[0x100]
    a.push(0xc0u64).op(MSTORE).op(DUP1).push(0xe0u64).op(MSTORE);
    a.push(0x20u64)
        .push(0x100u64)
        .push(0x40u64)
        .push(0xc0u64)
        .push0();
    a.push_addr(ADDER_ADDRESS)
        .op(GAS)
        .op(CALL)
        .op(ISZERO)
        .jumpi("fail");
    // DELEGATECALL adder(result, i) -> mem[0x120], copied back through RETURNDATACOPY
    a.push(0x100u64).op(MLOAD).push(0xc0u64).op(MSTORE);
    a.push(0x20u64).push(0x120u64).push(0x40u64).push(0xc0u64);
    a.push_addr(ADDER_ADDRESS)
        .op(GAS)
        .op(DELEGATECALL)
        .op(ISZERO)
        .jumpi("fail");
    a.op(RETURNDATASIZE)
        .push0()
        .push(0x140u64)
        .op(RETURNDATACOPY);
    a.push(0x140u64).op(MLOAD).push(0x300u64).op(MSTORE);
    a.push(1u64).op(ADD).jump("loop");

    a.label("fail").push0().op(DUP1).op(REVERT);

    a.label("done"); // [n, k, n]
    a.push(0x300u64).op(MLOAD).op(DUP1).push(1u64).op(SSTORE); // slot[1] = acc; [n, k, n, acc]
    a.op(DUP1).push0().op(MSTORE);
    a.op(DUP4)
        .push_n(32, relayed_topic().as_slice())
        .push(0x20u64)
        .push0()
        .op(LOG2);
    a.push(0x20u64).push0().op(RETURN);
    a.assemble("relay")
}

/// Runtime code of the adder: `slot[0] += 1`, returns `(3a + b) ^ (a >> 1)` for calldata `(a, b)`.
pub fn adder() -> Result<Bytes, ExecError> {
    let mut a = Asm::new();
    a.push0().op(SLOAD).push(1u64).op(ADD).push0().op(SSTORE);
    a.push(0x20u64).op(CALLDATALOAD).push0().op(CALLDATALOAD); // [b, a]
    a.op(DUP1).push(3u64).op(MUL).op(DUP3).op(ADD); // [b, a, 3a + b]
    a.op(SWAP1).push(1u64).op(SHR).op(XOR); // [b, (3a + b) ^ (a >> 1)]
    a.op(SWAP1).op(POP);
    a.push0().op(MSTORE).push(0x20u64).push0().op(RETURN);
    a.assemble("adder")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contracts_assemble() {
        for (name, code) in [
            ("token", token()),
            ("hasher", hasher()),
            ("relay", relay()),
            ("adder", adder()),
        ] {
            let code = code.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                !code.is_empty() && code.len() < 2048,
                "{name}: {} bytes",
                code.len()
            );
        }
    }

    #[test]
    fn transfer_topic_is_the_erc20_one() {
        assert_eq!(
            transfer_topic(),
            B256::from(hex!(
                "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
            ))
        );
    }
}
