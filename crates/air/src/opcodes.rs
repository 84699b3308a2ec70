//! The EVM opcode table (Cancun/Prague): name, stack inputs and outputs, gas, immediate size.
//!
//! Stack counts follow the EVM (and revm's `OPCODE_INFO`): `DUPn` takes `n` items and returns
//! `n + 1`, `SWAPn` takes and returns `n + 1`, so `pushes - pops` is always the change of the
//! stack height. Gas is the part charged before the instruction runs: [`Gas::Static`] opcodes cost
//! exactly that, [`Gas::Dynamic`] ones charge a base plus something that depends on operands,
//! memory expansion, warm/cold access or the callee (and for CALL*/CREATE* the gas handed on).

use serde::Serialize;

/// The gas an opcode charges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Gas {
    /// Always exactly this much.
    Static(u16),
    /// At least `base`; the rest depends on the step (memory, access lists, calls, ...).
    Dynamic { base: u16 },
}

impl Gas {
    /// The static cost, if the opcode has a fixed one.
    pub const fn fixed(self) -> Option<u16> {
        match self {
            Gas::Static(g) => Some(g),
            Gas::Dynamic { .. } => None,
        }
    }
}

/// One opcode's static description.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct OpcodeInfo {
    pub opcode: u8,
    pub name: &'static str,
    /// Stack items taken.
    pub pops: u8,
    /// Stack items returned.
    pub pushes: u8,
    pub gas: Gas,
    /// Bytes of immediate data after the opcode (PUSHn: n).
    pub immediate: u8,
    /// False for bytes that are not opcodes (executing one halts exceptionally).
    pub defined: bool,
}

const fn op(opcode: u8, name: &'static str, pops: u8, pushes: u8, gas: Gas) -> OpcodeInfo {
    OpcodeInfo {
        opcode,
        name,
        pops,
        pushes,
        gas,
        immediate: 0,
        defined: true,
    }
}

const fn s(g: u16) -> Gas {
    Gas::Static(g)
}

const fn d(base: u16) -> Gas {
    Gas::Dynamic { base }
}

const PUSH_NAMES: [&str; 33] = [
    "PUSH0", "PUSH1", "PUSH2", "PUSH3", "PUSH4", "PUSH5", "PUSH6", "PUSH7", "PUSH8", "PUSH9",
    "PUSH10", "PUSH11", "PUSH12", "PUSH13", "PUSH14", "PUSH15", "PUSH16", "PUSH17", "PUSH18",
    "PUSH19", "PUSH20", "PUSH21", "PUSH22", "PUSH23", "PUSH24", "PUSH25", "PUSH26", "PUSH27",
    "PUSH28", "PUSH29", "PUSH30", "PUSH31", "PUSH32",
];
const DUP_NAMES: [&str; 16] = [
    "DUP1", "DUP2", "DUP3", "DUP4", "DUP5", "DUP6", "DUP7", "DUP8", "DUP9", "DUP10", "DUP11",
    "DUP12", "DUP13", "DUP14", "DUP15", "DUP16",
];
const SWAP_NAMES: [&str; 16] = [
    "SWAP1", "SWAP2", "SWAP3", "SWAP4", "SWAP5", "SWAP6", "SWAP7", "SWAP8", "SWAP9", "SWAP10",
    "SWAP11", "SWAP12", "SWAP13", "SWAP14", "SWAP15", "SWAP16",
];
const LOG_NAMES: [&str; 5] = ["LOG0", "LOG1", "LOG2", "LOG3", "LOG4"];

/// The description of `opcode`.
pub const fn info(opcode: u8) -> OpcodeInfo {
    match opcode {
        0x00 => op(opcode, "STOP", 0, 0, s(0)),
        0x01 => op(opcode, "ADD", 2, 1, s(3)),
        0x02 => op(opcode, "MUL", 2, 1, s(5)),
        0x03 => op(opcode, "SUB", 2, 1, s(3)),
        0x04 => op(opcode, "DIV", 2, 1, s(5)),
        0x05 => op(opcode, "SDIV", 2, 1, s(5)),
        0x06 => op(opcode, "MOD", 2, 1, s(5)),
        0x07 => op(opcode, "SMOD", 2, 1, s(5)),
        0x08 => op(opcode, "ADDMOD", 3, 1, s(8)),
        0x09 => op(opcode, "MULMOD", 3, 1, s(8)),
        0x0a => op(opcode, "EXP", 2, 1, d(10)),
        0x0b => op(opcode, "SIGNEXTEND", 2, 1, s(5)),
        0x10 => op(opcode, "LT", 2, 1, s(3)),
        0x11 => op(opcode, "GT", 2, 1, s(3)),
        0x12 => op(opcode, "SLT", 2, 1, s(3)),
        0x13 => op(opcode, "SGT", 2, 1, s(3)),
        0x14 => op(opcode, "EQ", 2, 1, s(3)),
        0x15 => op(opcode, "ISZERO", 1, 1, s(3)),
        0x16 => op(opcode, "AND", 2, 1, s(3)),
        0x17 => op(opcode, "OR", 2, 1, s(3)),
        0x18 => op(opcode, "XOR", 2, 1, s(3)),
        0x19 => op(opcode, "NOT", 1, 1, s(3)),
        0x1a => op(opcode, "BYTE", 2, 1, s(3)),
        0x1b => op(opcode, "SHL", 2, 1, s(3)),
        0x1c => op(opcode, "SHR", 2, 1, s(3)),
        0x1d => op(opcode, "SAR", 2, 1, s(3)),
        0x20 => op(opcode, "KECCAK256", 2, 1, d(30)),
        0x30 => op(opcode, "ADDRESS", 0, 1, s(2)),
        0x31 => op(opcode, "BALANCE", 1, 1, d(100)),
        0x32 => op(opcode, "ORIGIN", 0, 1, s(2)),
        0x33 => op(opcode, "CALLER", 0, 1, s(2)),
        0x34 => op(opcode, "CALLVALUE", 0, 1, s(2)),
        0x35 => op(opcode, "CALLDATALOAD", 1, 1, s(3)),
        0x36 => op(opcode, "CALLDATASIZE", 0, 1, s(2)),
        0x37 => op(opcode, "CALLDATACOPY", 3, 0, d(3)),
        0x38 => op(opcode, "CODESIZE", 0, 1, s(2)),
        0x39 => op(opcode, "CODECOPY", 3, 0, d(3)),
        0x3a => op(opcode, "GASPRICE", 0, 1, s(2)),
        0x3b => op(opcode, "EXTCODESIZE", 1, 1, d(100)),
        0x3c => op(opcode, "EXTCODECOPY", 4, 0, d(100)),
        0x3d => op(opcode, "RETURNDATASIZE", 0, 1, s(2)),
        0x3e => op(opcode, "RETURNDATACOPY", 3, 0, d(3)),
        0x3f => op(opcode, "EXTCODEHASH", 1, 1, d(100)),
        0x40 => op(opcode, "BLOCKHASH", 1, 1, s(20)),
        0x41 => op(opcode, "COINBASE", 0, 1, s(2)),
        0x42 => op(opcode, "TIMESTAMP", 0, 1, s(2)),
        0x43 => op(opcode, "NUMBER", 0, 1, s(2)),
        0x44 => op(opcode, "PREVRANDAO", 0, 1, s(2)),
        0x45 => op(opcode, "GASLIMIT", 0, 1, s(2)),
        0x46 => op(opcode, "CHAINID", 0, 1, s(2)),
        0x47 => op(opcode, "SELFBALANCE", 0, 1, s(5)),
        0x48 => op(opcode, "BASEFEE", 0, 1, s(2)),
        0x49 => op(opcode, "BLOBHASH", 1, 1, s(3)),
        0x4a => op(opcode, "BLOBBASEFEE", 0, 1, s(2)),
        0x50 => op(opcode, "POP", 1, 0, s(2)),
        0x51 => op(opcode, "MLOAD", 1, 1, d(3)),
        0x52 => op(opcode, "MSTORE", 2, 0, d(3)),
        0x53 => op(opcode, "MSTORE8", 2, 0, d(3)),
        0x54 => op(opcode, "SLOAD", 1, 1, d(100)),
        0x55 => op(opcode, "SSTORE", 2, 0, d(100)),
        0x56 => op(opcode, "JUMP", 1, 0, s(8)),
        0x57 => op(opcode, "JUMPI", 2, 0, s(10)),
        0x58 => op(opcode, "PC", 0, 1, s(2)),
        0x59 => op(opcode, "MSIZE", 0, 1, s(2)),
        0x5a => op(opcode, "GAS", 0, 1, s(2)),
        0x5b => op(opcode, "JUMPDEST", 0, 0, s(1)),
        0x5c => op(opcode, "TLOAD", 1, 1, s(100)),
        0x5d => op(opcode, "TSTORE", 2, 0, s(100)),
        0x5e => op(opcode, "MCOPY", 3, 0, d(3)),
        0x5f => op(opcode, "PUSH0", 0, 1, s(2)),
        0x60..=0x7f => {
            let n = opcode - 0x5f;
            let mut i = op(opcode, PUSH_NAMES[n as usize], 0, 1, s(3));
            i.immediate = n;
            i
        }
        0x80..=0x8f => {
            let n = opcode - 0x7f;
            op(opcode, DUP_NAMES[n as usize - 1], n, n + 1, s(3))
        }
        0x90..=0x9f => {
            let n = opcode - 0x8f;
            op(opcode, SWAP_NAMES[n as usize - 1], n + 1, n + 1, s(3))
        }
        0xa0..=0xa4 => {
            let n = opcode - 0xa0;
            op(opcode, LOG_NAMES[n as usize], n + 2, 0, d(375))
        }
        0xf0 => op(opcode, "CREATE", 3, 1, d(32000)),
        0xf1 => op(opcode, "CALL", 7, 1, d(100)),
        0xf2 => op(opcode, "CALLCODE", 7, 1, d(100)),
        0xf3 => op(opcode, "RETURN", 2, 0, d(0)),
        0xf4 => op(opcode, "DELEGATECALL", 6, 1, d(100)),
        0xf5 => op(opcode, "CREATE2", 4, 1, d(32000)),
        0xfa => op(opcode, "STATICCALL", 6, 1, d(100)),
        0xfd => op(opcode, "REVERT", 2, 0, d(0)),
        // INVALID consumes all remaining gas.
        0xfe => op(opcode, "INVALID", 0, 0, d(0)),
        0xff => op(opcode, "SELFDESTRUCT", 1, 0, d(5000)),
        _ => OpcodeInfo {
            opcode,
            name: "UNDEFINED",
            pops: 0,
            pushes: 0,
            gas: d(0),
            immediate: 0,
            defined: false,
        },
    }
}

/// The whole table, indexed by opcode.
pub static OPCODES: [OpcodeInfo; 256] = {
    let mut t = [info(0); 256];
    let mut i = 0;
    while i < 256 {
        t[i] = info(i as u8);
        i += 1;
    }
    t
};

pub const STOP: u8 = 0x00;
pub const ADD: u8 = 0x01;
pub const SUB: u8 = 0x03;
pub const MUL: u8 = 0x02;
pub const DIV: u8 = 0x04;
pub const SDIV: u8 = 0x05;
pub const MOD: u8 = 0x06;
pub const SMOD: u8 = 0x07;
pub const SHL: u8 = 0x1b;
pub const SHR: u8 = 0x1c;
pub const SAR: u8 = 0x1d;
pub const BYTE: u8 = 0x1a;
pub const SIGNEXTEND: u8 = 0x0b;
pub const ADDMOD: u8 = 0x08;
pub const MULMOD: u8 = 0x09;
pub const EXP: u8 = 0x0a;
pub const LT: u8 = 0x10;
pub const GT: u8 = 0x11;
pub const SLT: u8 = 0x12;
pub const SGT: u8 = 0x13;
pub const EQ: u8 = 0x14;
pub const ISZERO: u8 = 0x15;
pub const AND: u8 = 0x16;
pub const OR: u8 = 0x17;
pub const XOR: u8 = 0x18;
pub const NOT: u8 = 0x19;
pub const ADDRESS: u8 = 0x30;
pub const ORIGIN: u8 = 0x32;
pub const CALLER: u8 = 0x33;
pub const CALLVALUE: u8 = 0x34;
pub const CALLDATALOAD: u8 = 0x35;
pub const CALLDATASIZE: u8 = 0x36;
pub const CODESIZE: u8 = 0x38;
pub const RETURNDATASIZE: u8 = 0x3d;
pub const GASPRICE: u8 = 0x3a;
pub const POP: u8 = 0x50;
pub const KECCAK256: u8 = 0x20;
pub const MLOAD: u8 = 0x51;
pub const MSTORE: u8 = 0x52;
pub const MSTORE8: u8 = 0x53;
pub const MSIZE: u8 = 0x59;
pub const MCOPY: u8 = 0x5e;
pub const CALLDATACOPY: u8 = 0x37;
pub const CODECOPY: u8 = 0x39;
pub const EXTCODECOPY: u8 = 0x3c;
pub const RETURNDATACOPY: u8 = 0x3e;
pub const JUMP: u8 = 0x56;
pub const JUMPI: u8 = 0x57;
pub const PC: u8 = 0x58;
pub const GAS: u8 = 0x5a;
pub const JUMPDEST: u8 = 0x5b;
pub const TSTORE: u8 = 0x5d;
pub const PUSH0: u8 = 0x5f;
pub const PUSH1: u8 = 0x60;
pub const PUSH2: u8 = 0x61;
pub const PUSH32: u8 = 0x7f;
pub const DUP1: u8 = 0x80;
pub const DUP16: u8 = 0x8f;
pub const SWAP1: u8 = 0x90;
pub const SWAP16: u8 = 0x9f;
pub const CREATE: u8 = 0xf0;
pub const CALL: u8 = 0xf1;
pub const CALLCODE: u8 = 0xf2;
pub const RETURN: u8 = 0xf3;
pub const DELEGATECALL: u8 = 0xf4;
pub const CREATE2: u8 = 0xf5;
pub const STATICCALL: u8 = 0xfa;
pub const REVERT: u8 = 0xfd;
pub const INVALID: u8 = 0xfe;
pub const SELFDESTRUCT: u8 = 0xff;

/// Opcodes that may hand control to a new call frame (the next step can be in the callee).
pub const fn enters_callee(opcode: u8) -> bool {
    matches!(
        opcode,
        CALL | CALLCODE | DELEGATECALL | STATICCALL | CREATE | CREATE2
    )
}

/// Opcodes that end their call frame (the next step is in another frame).
pub const fn terminates(opcode: u8) -> bool {
    matches!(opcode, STOP | RETURN | REVERT | INVALID | SELFDESTRUCT)
}

/// The opcodes the ALU chip proves.
pub const ALU_OPCODES: [u8; 12] = [ADD, SUB, LT, GT, SLT, SGT, EQ, ISZERO, AND, OR, XOR, NOT];

/// The opcodes the multiplication chip proves (`x y + z = h 2^256 + l`).
pub const MULDIV_OPCODES: [u8; 13] = [
    MUL, DIV, MOD, SHL, SHR, SDIV, SMOD, SAR, BYTE, SIGNEXTEND, ADDMOD, MULMOD, EXP,
];

/// BLOBHASH: the transaction's blob versioned hash at the index it consumes (zero past the
/// last).
pub const BLOBHASH: u8 = 0x49;

/// Opcodes that push a value of their call context (or transaction); the CPU looks them up in
/// the shard's call-context table. All but RETURNDATASIZE and BLOBHASH are constant within a
/// context; RETURNDATASIZE changes with each call the context makes, so its key also holds that
/// count; BLOBHASH's key holds its index when below 2^16 (its low limb); an index at or above
/// 2^16 is past any transaction's blobs (a handful at most): the CPU pushes zero without a
/// read. BLOBHASH is the only one that consumes a stack item, which is how the CPU tells it
/// apart (`is_ctx_read * pops`) without a column of its own.
pub const CONTEXT_READ_OPCODES: [u8; 9] = [
    ADDRESS,
    CALLER,
    CALLVALUE,
    ORIGIN,
    GASPRICE,
    CALLDATASIZE,
    CODESIZE,
    RETURNDATASIZE,
    BLOBHASH,
];

/// Which stack items (indices into the popped items, top first) give the destination offset
/// and the length of the memory area a successful step of `opcode` writes with bytes the AIR
/// does not derive (copies, and the output area of a call); `None` for other opcodes.
pub const fn trusted_write_area(opcode: u8) -> Option<(usize, usize)> {
    match opcode {
        CALLDATACOPY | CODECOPY | RETURNDATACOPY | MCOPY => Some((0, 2)),
        EXTCODECOPY => Some((1, 3)),
        CALL | CALLCODE => Some((5, 6)),
        DELEGATECALL | STATICCALL => Some((4, 5)),
        _ => None,
    }
}

/// Opcodes whose memory expansion the AIR trusts (their size after the step may only grow):
/// every memory-touching opcode but MLOAD, MSTORE and MSTORE8, whose expansion the memory chip
/// derives.
pub const fn grows_memory_trusted(opcode: u8) -> bool {
    matches!(
        opcode,
        KECCAK256 | CALLDATACOPY | CODECOPY | EXTCODECOPY | RETURNDATACOPY | MCOPY | 0xa0
            ..=0xa4
                | CREATE
                | CREATE2
                | CALL
                | CALLCODE
                | DELEGATECALL
                | STATICCALL
                | RETURN
                | REVERT
    )
}

/// Whether `opcode` reads the call-context table.
pub const fn reads_call_context(opcode: u8) -> bool {
    let mut i = 0;
    while i < CONTEXT_READ_OPCODES.len() {
        if CONTEXT_READ_OPCODES[i] == opcode {
            return true;
        }
        i += 1;
    }
    false
}

/// BLOCKHASH.
pub const BLOCKHASH: u8 = 0x40;

/// Opcodes that push a value of the block (a header field, the chain id, the blob base fee: see
/// `slotproof_executor::block_context`) or an ancestor's hash (BLOCKHASH); the CPU looks them up
/// in the opcode table's block-context entries, which the shard's public values fix.
pub const BLOCK_CONTEXT_OPCODES: [u8; 9] =
    [BLOCKHASH, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x48, 0x4a];

/// Whether `opcode` reads the block-context entries.
pub const fn reads_block_context(opcode: u8) -> bool {
    let mut i = 0;
    while i < BLOCK_CONTEXT_OPCODES.len() {
        if BLOCK_CONTEXT_OPCODES[i] == opcode {
            return true;
        }
        i += 1;
    }
    false
}

/// Whether the CPU sends `opcode`'s steps to an ALU chip (ALU or multiplication) on the ALU bus.
pub const fn on_alu_bus(opcode: u8) -> bool {
    let mut i = 0;
    while i < ALU_OPCODES.len() {
        if ALU_OPCODES[i] == opcode {
            return true;
        }
        i += 1;
    }
    let mut i = 0;
    while i < MULDIV_OPCODES.len() {
        if MULDIV_OPCODES[i] == opcode {
            return true;
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CPU tells BLOBHASH apart from the other call-context reads as `is_ctx_read * pops`:
    /// it must be the only one that consumes an item, and consume exactly one.
    #[test]
    fn blobhash_is_the_one_call_context_read_with_an_input() {
        for op in CONTEXT_READ_OPCODES {
            assert_eq!(info(op).pops, (op == BLOBHASH) as u8, "{}", info(op).name);
        }
    }

    /// Names, stack counts and immediates agree with revm's table for every byte.
    #[test]
    fn matches_revm_opcode_info() {
        for b in 0..=255u8 {
            // CLZ, SLOTNUM, DUPN, SWAPN, EXCHANGE come after Prague; this table is
            // Cancun/Prague, where they are undefined (and DUPN..EXCHANGE have no immediate).
            if [0x1e, 0x4b, 0xe6, 0xe7, 0xe8].contains(&b) {
                assert!(!info(b).defined);
                continue;
            }
            let ours = info(b);
            match revm::bytecode::opcode::OPCODE_INFO[b as usize] {
                Some(r) => {
                    assert!(ours.defined, "{b:#04x} {} undefined here", r.name());
                    // revm still calls 0x44 by its pre-merge name.
                    if b != 0x44 {
                        assert_eq!(ours.name, r.name(), "{b:#04x}");
                    }
                    assert_eq!(ours.pops, r.inputs(), "{b:#04x} {}", ours.name);
                    assert_eq!(ours.pushes, r.outputs(), "{b:#04x} {}", ours.name);
                    assert_eq!(ours.immediate, r.immediate_size(), "{b:#04x}");
                }
                None => assert!(!ours.defined, "{b:#04x} {} undefined in revm", ours.name),
            }
        }
        assert_eq!(OPCODES[0x7f].immediate, 32);
        assert_eq!(OPCODES[0x5a].gas, Gas::Static(2));
    }

    /// The CPU hands a dynamic ALU gas to the chip as the third operand: only EXP has one, and
    /// it takes two stack items.
    #[test]
    fn exp_is_the_only_alu_opcode_with_dynamic_gas() {
        for b in 0..=255u8 {
            if on_alu_bus(b) && info(b).gas.fixed().is_none() {
                assert_eq!(b, EXP);
            }
        }
        assert_eq!(info(EXP).pops, 2);
    }
}
