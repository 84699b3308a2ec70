//! Giant blocks: one transaction that loops a single opcode family until its gas runs out, the
//! worst case of a prover (the EF's benchmark blocks are built this way). Such a transaction
//! cannot be split into subblocks, so its shards are cut inside it.
//!
//! The looping contract checks `GAS` against a reserve before every round, so the transaction's
//! gas limit (the gas target) is what it burns, without calibration: the block uses the target
//! less at most the reserve ([`GIANT_SLACK`]). When the loop ends, the contract stores its
//! final value in slot 0, so the result is part of the post-state.

use super::asm::Asm;
use super::block::{self, BlockPlan, TxSpec};
use super::genesis::{Genesis, GenesisAccount};
use crate::block::BlockExecution;
use crate::error::ExecError;
use crate::fixture::write_zkpig;
use alloy_primitives::{Address, Bytes, U256, address, hex};
use revm::bytecode::opcode::*;
use serde_json::{Value, json};

/// The opcode family a giant block loops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GiantKind {
    /// `x = x * x mod p` (secp256k1's p).
    Mulmod,
    /// `x ^= x >>> 3` (arithmetic shift of a negative word).
    Sar,
    /// `x ^= x << 5; x ^= x >> 7; x ^= x >>> 3`: SHL, SHR and SAR mixed.
    Shifts,
    /// `x ^= x sdiv 7; x ^= x / 3` (a negative dividend): SDIV and DIV mixed.
    Div,
    /// `x = x ** x` (odd x, a full 32-byte exponent: the most expensive EXP).
    Exp,
    /// `mem[0..32] = keccak256(mem[0..512])`.
    Keccak256,
    /// A 256-byte memory block copied back and forth, shifted by one byte each time.
    Mcopy,
    /// A word stored to each next 32 bytes of memory: memory expands for the whole block
    /// (~1 MiB at 2.2 Mgas, ~4 MiB at 30 Mgas; the quadratic expansion gas sets the pace).
    MemExpand,
    /// 256 bytes of the transaction's 1 KiB calldata copied to memory, from offsets that are
    /// unaligned and partly past the calldata's end (which copies zeros).
    Calldatacopy,
}

/// Length of [`GiantKind::Calldatacopy`]'s calldata.
const CALLDATA_LEN: usize = 1024;

/// Gas the loop keeps for its last round and the final SSTORE (a fresh slot: 22,100 gas).
const RESERVE: u64 = 40_000;

/// Smallest and largest gas target of [`generate_giant`]: below the smallest the loop would not
/// run; the largest keeps the sender's fee (2 gwei per gas) far below its balance.
pub const GIANT_GAS_RANGE: std::ops::RangeInclusive<u64> = 100_000..=250_000_000;

impl GiantKind {
    pub fn all() -> [GiantKind; 9] {
        use GiantKind::*;
        [
            Mulmod,
            Sar,
            Shifts,
            Div,
            Exp,
            Keccak256,
            Mcopy,
            MemExpand,
            Calldatacopy,
        ]
    }

    pub fn name(self) -> &'static str {
        match self {
            GiantKind::Mulmod => "mulmod",
            GiantKind::Sar => "sar",
            GiantKind::Shifts => "shifts",
            GiantKind::Div => "div",
            GiantKind::Exp => "exp",
            GiantKind::Keccak256 => "keccak256",
            GiantKind::Mcopy => "mcopy",
            GiantKind::MemExpand => "memexpand",
            GiantKind::Calldatacopy => "calldatacopy",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::all().into_iter().find(|k| k.name() == name)
    }

    /// The opcodes the loop is made of (what a test counts).
    pub fn opcodes(self) -> &'static [u8] {
        match self {
            GiantKind::Mulmod => &[MULMOD],
            GiantKind::Sar => &[SAR],
            GiantKind::Shifts => &[SHL, SHR, SAR],
            GiantKind::Div => &[SDIV, DIV],
            GiantKind::Exp => &[EXP],
            GiantKind::Keccak256 => &[KECCAK256],
            GiantKind::Mcopy => &[MCOPY],
            GiantKind::MemExpand => &[MSTORE],
            GiantKind::Calldatacopy => &[CALLDATACOPY],
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            GiantKind::Mulmod => "one transaction looping MULMOD (x = x*x mod p)",
            GiantKind::Sar => "one transaction looping SAR (x ^= x >>> 3)",
            GiantKind::Shifts => {
                "one transaction looping SHL, SHR and SAR (x ^= x << 5; x ^= x >> 7; x ^= x >>> 3)"
            }
            GiantKind::Div => "one transaction looping SDIV and DIV (x ^= x sdiv 7; x ^= x / 3)",
            GiantKind::Exp => "one transaction looping EXP (x = x**x, 32-byte exponents)",
            GiantKind::Keccak256 => "one transaction looping KECCAK256 over 512 bytes of memory",
            GiantKind::Mcopy => "one transaction looping MCOPY of 256 bytes",
            GiantKind::MemExpand => {
                "one transaction storing a word to each next 32 bytes of memory (memory expansion)"
            }
            GiantKind::Calldatacopy => {
                "one transaction looping CALLDATACOPY of 256 bytes from its 1 KiB calldata"
            }
        }
    }

    /// Where the looping contract lives (one address per kind, absent from the fixed fixtures'
    /// genesis, which therefore keeps its state root).
    pub fn address(self) -> Address {
        match self {
            GiantKind::Mulmod => address!("0x5107000000000000000000000000000000000010"),
            GiantKind::Sar => address!("0x5107000000000000000000000000000000000011"),
            GiantKind::Shifts => address!("0x5107000000000000000000000000000000000015"),
            GiantKind::Div => address!("0x5107000000000000000000000000000000000016"),
            GiantKind::Exp => address!("0x5107000000000000000000000000000000000012"),
            GiantKind::Keccak256 => address!("0x5107000000000000000000000000000000000013"),
            GiantKind::Mcopy => address!("0x5107000000000000000000000000000000000014"),
            GiantKind::MemExpand => address!("0x5107000000000000000000000000000000000017"),
            GiantKind::Calldatacopy => address!("0x5107000000000000000000000000000000000018"),
        }
    }

    /// Loop bodies per round: enough that the round's `GAS` check is a small part of the steps,
    /// few enough that a round stays far below the reserve (EXP costs about 1.6 kgas).
    fn unroll(self) -> usize {
        match self {
            // A round of expansion costs more as memory grows (~1.4 kgas per word at the
            // largest target): 8 words keep a round far below the reserve.
            GiantKind::Exp | GiantKind::MemExpand => 8,
            _ => 16,
        }
    }

    /// The transaction's input: 1 KiB of a byte pattern for [`GiantKind::Calldatacopy`], none
    /// for the others.
    pub fn calldata(self) -> Bytes {
        match self {
            GiantKind::Calldatacopy => (0..CALLDATA_LEN).map(|i| (i * 7 + 1) as u8).collect(),
            _ => Bytes::new(),
        }
    }

    /// The stack (or memory) state before the loop.
    fn prologue(self, a: &mut Asm) {
        // secp256k1's field prime: an odd modulus, so squares do not collapse to 0.
        let p = hex!("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f");
        let seed = hex!("8badf00d0ddba11cafef00dfeedfacec0ffee15deadbeefdecafbad5eedc0de1");
        match self {
            GiantKind::Mulmod => {
                a.push_n(32, &p).push_n(32, &seed); // [p, x]
            }
            GiantKind::Sar | GiantKind::Shifts | GiantKind::Div | GiantKind::Exp => {
                a.push_n(32, &seed); // [x] (negative and odd)
            }
            GiantKind::Keccak256 | GiantKind::Mcopy | GiantKind::Calldatacopy => {
                a.push_n(32, &seed).push0().op(MSTORE); // mem[0..32] = seed
            }
            GiantKind::MemExpand => {
                a.push0(); // [offset]
            }
        }
    }

    /// Body `i` of a round of the loop; the state is as the prologue left it.
    fn body(self, a: &mut Asm, i: usize) {
        match self {
            // [p, x] -> [p, p, x, x] -> [p, x*x mod p]
            GiantKind::Mulmod => a.ops(&[DUP2, SWAP1, DUP1, MULMOD]),
            // [x] -> [x, x, 3] -> [x, x >>> 3] -> [x ^ (x >>> 3)]
            GiantKind::Sar => a.op(DUP1).push(3).ops(&[SAR, XOR]),
            // SHL/SHR/SAR pop the shift first: [x] -> [x, x, 5] -> [x, x << 5] -> [x ^ (x << 5)]
            GiantKind::Shifts => a
                .op(DUP1)
                .push(5)
                .ops(&[SHL, XOR, DUP1])
                .push(7)
                .ops(&[SHR, XOR, DUP1])
                .push(3)
                .ops(&[SAR, XOR]),
            // The dividend is on top: [x] -> [x, 7, x] -> [x, x sdiv 7] -> [x ^ (x sdiv 7)]
            GiantKind::Div => a
                .push(7)
                .op(DUP2)
                .ops(&[SDIV, XOR])
                .push(3)
                .op(DUP2)
                .ops(&[DIV, XOR]),
            // [x] -> [x, x**x] -> [x**x]
            GiantKind::Exp => a.ops(&[DUP1, DUP1, EXP, SWAP1, POP]),
            GiantKind::Keccak256 => a.push(0x200).push0().op(KECCAK256).push0().op(MSTORE),
            // mem[0x101..0x201] = mem[0..0x100]; mem[1..0x101] = mem[0x101..0x201]
            GiantKind::Mcopy => a
                .push(0x100)
                .push0()
                .push(0x101)
                .op(MCOPY)
                .push(0x100)
                .push(0x101)
                .push(1)
                .op(MCOPY),
            // [o] -> [o, o, o] -> mem[o..o+32] = o -> [o + 32]
            GiantKind::MemExpand => a.ops(&[DUP1, DUP1, MSTORE]).push(32).op(ADD),
            // CALLDATACOPY pops the destination, then the source offset, then the length. The
            // offsets step by 61 bytes (unaligned) up to 976, so the later copies run past the
            // calldata's end.
            GiantKind::Calldatacopy => a
                .push(0x100)
                .push((i as u64 * 61) % (CALLDATA_LEN as u64 - 48))
                .push(0x20)
                .op(CALLDATACOPY),
        };
    }

    /// Leaves the final value on top of the stack.
    fn result(self, a: &mut Asm) {
        match self {
            GiantKind::Keccak256 | GiantKind::Mcopy => {
                a.push0().op(MLOAD);
            }
            // The last word copied from the calldata.
            GiantKind::Calldatacopy => {
                a.push(0x20).op(MLOAD);
            }
            // [o]: the offset past the last word stored.
            _ => {}
        }
    }

    /// Runtime code of the looping contract.
    pub fn contract(self) -> Result<Bytes, ExecError> {
        let mut a = Asm::new();
        self.prologue(&mut a);
        a.label("loop");
        a.push(RESERVE).op(GAS).op(LT).jumpi("done"); // gas < reserve: stop looping
        for i in 0..self.unroll() {
            self.body(&mut a, i);
        }
        a.jump("loop");
        a.label("done");
        self.result(&mut a);
        a.push0().op(SSTORE).op(STOP); // slot[0] = final value
        a.assemble(self.name())
    }
}

/// A generated giant block.
#[derive(Clone, Debug)]
pub struct Giant {
    pub kind: GiantKind,
    pub gas_target: u64,
    /// Gas limit of the genesis header and of the block.
    pub gas_limit: u64,
    pub json: Value,
    pub execution: BlockExecution,
}

/// Builds block 1 of a chain whose genesis also holds `kind`'s looping contract: one transaction
/// with gas limit `gas_target` that loops until its gas is nearly spent. Executes it and requires
/// every check to pass and the transaction to succeed.
pub fn generate_giant(kind: GiantKind, gas_target: u64) -> Result<Giant, ExecError> {
    if !GIANT_GAS_RANGE.contains(&gas_target) {
        return Err(ExecError::Generator(format!(
            "gas target {gas_target} outside {}..={}",
            GIANT_GAS_RANGE.start(),
            GIANT_GAS_RANGE.end()
        )));
    }
    let mut genesis = Genesis::build()?;
    genesis.accounts.insert(
        kind.address(),
        GenesisAccount {
            nonce: 1,
            code: kind.contract()?,
            ..Default::default()
        },
    );
    let gas_limit = super::scaled_gas_limit(gas_target);
    let plan = BlockPlan {
        txs: vec![TxSpec::call(
            0,
            kind.address(),
            U256::ZERO,
            kind.calldata(),
            gas_target,
        )],
        withdrawals: vec![],
        expected_failures: vec![],
    };
    let assembled = block::assemble_with_gas_limit(&genesis, &plan, gas_limit)?;
    let extra = json!({
        "generator": {
            "kind": kind.name(),
            "description": kind.description(),
            "gasTarget": gas_target,
            "expectedFailedTransactions": [],
        }
    });
    Ok(Giant {
        kind,
        gas_target,
        gas_limit,
        json: write_zkpig(&assembled.input, Some(extra))?,
        execution: assembled.execution,
    })
}

/// The gas the loop leaves unused at most: a block of target `t` uses more than
/// `t - GIANT_SLACK` (the loop stops below the reserve, and the final SSTORE spends part of it).
pub const GIANT_SLACK: u64 = RESERVE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_looping_contract_assembles() {
        for kind in GiantKind::all() {
            let code = kind
                .contract()
                .unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
            for op in kind.opcodes() {
                assert!(code.contains(op), "{}", kind.name());
            }
            assert_eq!(GiantKind::from_name(kind.name()), Some(kind));
        }
    }

    #[test]
    fn gas_targets_outside_the_range_are_errors() {
        for gas in [GIANT_GAS_RANGE.start() - 1, GIANT_GAS_RANGE.end() + 1] {
            assert!(matches!(
                generate_giant(GiantKind::Sar, gas),
                Err(ExecError::Generator(_))
            ));
        }
    }
}
