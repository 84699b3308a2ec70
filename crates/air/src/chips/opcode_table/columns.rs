use crate::opcodes::{self, Gas, info};
use crate::word::impl_columns;

/// The properties of an opcode that the CPU constrains with. Also a column group of the CPU.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpcodeProps<T> {
    pub opcode: T,
    /// EVM stack inputs and outputs (DUPn: n, n+1; SWAPn: n+1, n+1).
    pub pops: T,
    pub pushes: T,
    /// 1 if the gas is static (then `static_gas` is all of it).
    pub gas_static: T,
    pub static_gas: T,
    pub imm_size: T,
    /// PUSH1..PUSH32.
    pub is_pushn: T,
    pub is_push0: T,
    pub is_dup: T,
    pub is_swap: T,
    /// n of DUPn / SWAPn (0 otherwise).
    pub n: T,
    pub is_jump: T,
    pub is_jumpi: T,
    pub is_jumpdest: T,
    pub is_pc: T,
    pub is_gas: T,
    /// CALL, CALLCODE, DELEGATECALL, STATICCALL, CREATE, CREATE2.
    pub is_call: T,
    /// STOP, RETURN, REVERT, INVALID, SELFDESTRUCT.
    pub is_term: T,
    /// Proven by an ALU chip (ALU or multiplication), received on the ALU bus.
    pub is_alu: T,
    /// Looked up in the call-context table (ADDRESS, CALLER, ...).
    pub is_ctx_read: T,
    pub is_defined: T,
    /// Stack tokens a successful step consumes (generic: pops; DUP: 1; SWAP: 2).
    pub mem_pops: T,
    /// 1 if a successful step creates the `out` token (generic: pushes; DUP: 1; SWAP: 0).
    pub mem_push: T,
    /// The `out` token's slot is `sp - out_off` (generic: pops; DUP: 0).
    pub out_off: T,
    /// INVALID (0xFE) and bytes that are not opcodes: a step always halts exceptionally.
    pub is_invalid: T,
    /// An exceptional halt the AIR does not derive may be claimed: opcodes with dynamic gas
    /// (out of gas on the dynamic part, memory limits, static-call violations, RETURNDATACOPY out
    /// of bounds), TSTORE (static-call violation) and INVALID.
    pub may_halt_other: T,
    pub is_revert: T,
    /// CREATE, CREATE2 (their result is an address, not a success flag).
    pub is_create: T,
    pub is_returndatasize: T,
    /// MLOAD, MSTORE, MSTORE8: sent to the memory chip on the memory-op bus.
    pub is_mload: T,
    pub is_mstore: T,
    pub is_mstore8: T,
    /// Writes memory with trusted bytes over the area of stack items (destination, length):
    /// (0, 2) copies and MCOPY, (1, 3) EXTCODECOPY, (5, 6) CALL/CALLCODE, (4, 5)
    /// DELEGATECALL/STATICCALL (their output area).
    pub wr_02: T,
    pub wr_13: T,
    pub wr_56: T,
    pub wr_45: T,
    pub is_msize: T,
    /// Its memory expansion is trusted (the size may only grow): see
    /// `opcodes::grows_memory_trusted`.
    pub mem_grow: T,
    /// Looked up in the block-context entries (COINBASE, ..., BLOCKHASH).
    pub is_block_ctx: T,
    /// CALLDATALOAD: sent to the calldata chip on the calldata-load bus.
    pub is_cdload: T,
}

pub const NUM_PROPS: usize = core::mem::size_of::<OpcodeProps<u8>>();

impl<T: Copy> OpcodeProps<T> {
    pub fn to_array(&self) -> [T; NUM_PROPS] {
        // SAFETY: `#[repr(C)]` struct of `NUM_PROPS` `T`s.
        unsafe { *(self as *const Self as *const [T; NUM_PROPS]) }
    }

    pub fn from_array(a: [T; NUM_PROPS]) -> Self {
        // SAFETY: as above.
        unsafe { *(a.as_ptr() as *const Self) }
    }

    pub fn map<U: Copy>(&self, f: impl Fn(T) -> U) -> OpcodeProps<U> {
        OpcodeProps::from_array(self.to_array().map(f))
    }
}

/// The properties of `op`, as the table provides them.
pub fn props_of(op: u8) -> OpcodeProps<u32> {
    let i = info(op);
    let is_dup = (opcodes::DUP1..=opcodes::DUP16).contains(&op);
    let is_swap = (opcodes::SWAP1..=opcodes::SWAP16).contains(&op);
    let n = if is_dup {
        (op - opcodes::DUP1 + 1) as u32
    } else if is_swap {
        (op - opcodes::SWAP1 + 1) as u32
    } else {
        0
    };
    let (gas_static, static_gas) = match i.gas {
        Gas::Static(g) if i.defined => (1, g as u32),
        _ => (0, 0),
    };
    let (mem_pops, mem_push, out_off) = if is_dup {
        (1, 1, 0)
    } else if is_swap {
        (2, 0, 0)
    } else {
        (i.pops as u32, i.pushes as u32, i.pops as u32)
    };
    OpcodeProps {
        opcode: op as u32,
        pops: i.pops as u32,
        pushes: i.pushes as u32,
        gas_static,
        static_gas,
        imm_size: i.immediate as u32,
        is_pushn: (i.immediate > 0) as u32,
        is_push0: (op == opcodes::PUSH0) as u32,
        is_dup: is_dup as u32,
        is_swap: is_swap as u32,
        n,
        is_jump: (op == opcodes::JUMP) as u32,
        is_jumpi: (op == opcodes::JUMPI) as u32,
        is_jumpdest: (op == opcodes::JUMPDEST) as u32,
        is_pc: (op == opcodes::PC) as u32,
        is_gas: (op == opcodes::GAS) as u32,
        is_call: opcodes::enters_callee(op) as u32,
        is_term: opcodes::terminates(op) as u32,
        is_alu: opcodes::on_alu_bus(op) as u32,
        is_ctx_read: opcodes::reads_call_context(op) as u32,
        is_defined: i.defined as u32,
        mem_pops,
        mem_push,
        out_off,
        is_invalid: (op == opcodes::INVALID || !i.defined) as u32,
        may_halt_other: (op == opcodes::INVALID
            || op == opcodes::TSTORE
            || !i.defined
            || i.gas.fixed().is_none()) as u32,
        is_revert: (op == opcodes::REVERT) as u32,
        is_create: (op == opcodes::CREATE || op == opcodes::CREATE2) as u32,
        is_returndatasize: (op == opcodes::RETURNDATASIZE) as u32,
        is_mload: (op == opcodes::MLOAD) as u32,
        is_mstore: (op == opcodes::MSTORE) as u32,
        is_mstore8: (op == opcodes::MSTORE8) as u32,
        wr_02: (opcodes::trusted_write_area(op) == Some((0, 2))) as u32,
        wr_13: (opcodes::trusted_write_area(op) == Some((1, 3))) as u32,
        wr_56: (opcodes::trusted_write_area(op) == Some((5, 6))) as u32,
        wr_45: (opcodes::trusted_write_area(op) == Some((4, 5))) as u32,
        is_msize: (op == opcodes::MSIZE) as u32,
        mem_grow: opcodes::grows_memory_trusted(op) as u32,
        is_block_ctx: opcodes::reads_block_context(op) as u32,
        is_cdload: (op == opcodes::CALLDATALOAD) as u32,
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct OpcodeTableCols<T> {
    /// One-hot: `sel[k] = 1` on the row of opcode `k`.
    pub sel: [T; 256],
    /// Lookups by the CPU.
    pub mult_cpu: T,
    /// Lookups of this opcode's entry by the bytecode chip (opcode bytes).
    pub mult_code: T,
    /// Lookups of the data entry of byte value `k` by the bytecode chip (PUSH data bytes).
    pub mult_data: T,
    /// Lookups of this row's block-context entry by the CPU (see [`crate::block_context`]).
    pub mult_ctx: T,
}

impl_columns!(OpcodeTableCols, NUM_OPCODE_TABLE_COLS);
