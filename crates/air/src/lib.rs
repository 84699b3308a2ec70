//! # slotproof-air
//!
//! The EVM chips of slotproof: their columns, constraints and LogUp bus interactions, trace
//! generation from the executor's [`SubblockTrace`](slotproof_executor::trace::SubblockTrace)
//! records, and the coverage table stating what a shard proof constrains.
//!
//! ```no_run
//! use slotproof_air::shard::generate_shards;
//! # fn f(trace: &slotproof_executor::trace::SubblockTrace) {
//! let shards = generate_shards::<p3_koala_bear::KoalaBear>(trace, 1 << 16).unwrap();
//! for s in &shards {
//!     // prover.prove(&s.airs, &s.traces, &s.public_values)
//! }
//! # }
//! ```

pub mod block_context;
pub mod buses;
pub mod chips;
pub mod coverage;
pub mod error;
pub mod halts;
pub mod opcodes;
pub mod shape;
pub mod shard;
pub mod word;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_blobhash;
// Issue 18: the analysis' look-ahead from the subblock's outline.
#[cfg(test)]
mod tests_block_context;
#[cfg(test)]
mod tests_calldata;
#[cfg(test)]
mod tests_carry;
#[cfg(test)]
mod tests_carry_memory;
#[cfg(test)]
mod tests_halts;
#[cfg(test)]
mod tests_keccak;
#[cfg(test)]
mod tests_memory;
#[cfg(test)]
mod tests_muldiv;
#[cfg(test)]
mod tests_outline;
#[cfg(test)]
mod tests_push_immediate;
#[cfg(test)]
mod tests_shapes;
#[cfg(test)]
mod tests_synthetic;

use p3_air::{Air, BaseAir};
use p3_lookup::InteractionBuilder;

pub use chips::alu::AluAir;
pub use chips::bitwise::BitwiseAir;
pub use chips::bytecode::BytecodeAir;
pub use chips::call_context::CallContextAir;
pub use chips::calldata::CalldataAir;
pub use chips::carry::{CarryAir, CarryField};
pub use chips::cpu::{CpuAir, CpuPublic};
pub use chips::keccak::KeccakPermAir;
pub use chips::keccak_bytes::KeccakBytesAir;
pub use chips::keccak_sponge::KeccakSpongeAir;
pub use chips::memory::MemoryAir;
pub use chips::muldiv::MulDivAir;
pub use chips::opcode_table::OpcodeTableAir;
pub use chips::push_immediate::PushImmediateAir;
pub use chips::range::RangeAir;
pub use chips::stack_boundary::BoundaryAir;
pub use coverage::{Coverage, CoverageTable};
pub use error::TraceError;
pub use shard::{Shard, generate_shards};

/// One AIR type for every table of a shard (the batch prover takes a slice of one type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvmAir {
    Cpu(CpuAir),
    Bytecode(BytecodeAir),
    OpcodeTable(OpcodeTableAir),
    Alu(AluAir),
    Bitwise(BitwiseAir),
    Boundary(BoundaryAir),
    Range(RangeAir),
    MulDiv(MulDivAir),
    CallContext(CallContextAir),
    Memory(MemoryAir),
    Calldata(CalldataAir),
    Carry(CarryAir),
    PushImmediate(PushImmediateAir),
    /// Not yet a table of a shard (KECCAK256 is still trusted): see `chips::keccak_sponge`.
    KeccakPerm(KeccakPermAir),
    KeccakSponge(KeccakSpongeAir),
    KeccakBytes(KeccakBytesAir),
}

impl EvmAir {
    /// The chips of a shard, in instance order.
    pub fn shard_airs() -> Vec<EvmAir> {
        vec![
            EvmAir::Cpu(CpuAir),
            EvmAir::Bytecode(BytecodeAir),
            EvmAir::OpcodeTable(OpcodeTableAir),
            EvmAir::Alu(AluAir),
            EvmAir::Bitwise(BitwiseAir),
            EvmAir::Boundary(BoundaryAir),
            EvmAir::Range(RangeAir::BYTE),
            EvmAir::Range(RangeAir::U16),
            EvmAir::MulDiv(MulDivAir),
            EvmAir::CallContext(CallContextAir),
            EvmAir::Memory(MemoryAir),
            EvmAir::Calldata(CalldataAir),
            EvmAir::Carry(CarryAir),
            EvmAir::PushImmediate(PushImmediateAir),
        ]
    }

    pub fn name(&self) -> &'static str {
        match self {
            EvmAir::Cpu(_) => "cpu",
            EvmAir::Bytecode(_) => "bytecode",
            EvmAir::OpcodeTable(_) => "opcode-table",
            EvmAir::Alu(_) => "alu",
            EvmAir::Bitwise(_) => "bitwise",
            EvmAir::Boundary(_) => "boundary",
            EvmAir::Range(r) if r.bits == 8 => "range-u8",
            EvmAir::Range(_) => "range-u16",
            EvmAir::MulDiv(_) => "muldiv",
            EvmAir::CallContext(_) => "call-context",
            EvmAir::Memory(_) => "memory",
            EvmAir::Calldata(_) => "calldata",
            EvmAir::Carry(_) => "carry",
            EvmAir::PushImmediate(_) => "push-immediate",
            EvmAir::KeccakPerm(_) => "keccak-perm",
            EvmAir::KeccakSponge(_) => "keccak-sponge",
            EvmAir::KeccakBytes(_) => "keccak-bytes",
        }
    }
}

impl<F: CarryField> BaseAir<F> for EvmAir {
    fn width(&self) -> usize {
        match self {
            EvmAir::Cpu(a) => BaseAir::<F>::width(a),
            EvmAir::Bytecode(a) => BaseAir::<F>::width(a),
            EvmAir::OpcodeTable(a) => BaseAir::<F>::width(a),
            EvmAir::Alu(a) => BaseAir::<F>::width(a),
            EvmAir::Bitwise(a) => BaseAir::<F>::width(a),
            EvmAir::Boundary(a) => BaseAir::<F>::width(a),
            EvmAir::Range(a) => BaseAir::<F>::width(a),
            EvmAir::MulDiv(a) => BaseAir::<F>::width(a),
            EvmAir::CallContext(a) => BaseAir::<F>::width(a),
            EvmAir::Memory(a) => BaseAir::<F>::width(a),
            EvmAir::Calldata(a) => BaseAir::<F>::width(a),
            EvmAir::Carry(a) => BaseAir::<F>::width(a),
            EvmAir::PushImmediate(a) => BaseAir::<F>::width(a),
            EvmAir::KeccakPerm(a) => BaseAir::<F>::width(a),
            EvmAir::KeccakSponge(a) => BaseAir::<F>::width(a),
            EvmAir::KeccakBytes(a) => BaseAir::<F>::width(a),
        }
    }

    fn num_public_values(&self) -> usize {
        match self {
            EvmAir::Cpu(a) => BaseAir::<F>::num_public_values(a),
            EvmAir::Boundary(a) => BaseAir::<F>::num_public_values(a),
            EvmAir::OpcodeTable(a) => BaseAir::<F>::num_public_values(a),
            EvmAir::Carry(a) => BaseAir::<F>::num_public_values(a),
            _ => 0,
        }
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        match self {
            EvmAir::Cpu(a) => BaseAir::<F>::main_next_row_columns(a),
            EvmAir::Bytecode(a) => BaseAir::<F>::main_next_row_columns(a),
            EvmAir::OpcodeTable(a) => BaseAir::<F>::main_next_row_columns(a),
            EvmAir::Alu(a) => BaseAir::<F>::main_next_row_columns(a),
            EvmAir::Bitwise(a) => BaseAir::<F>::main_next_row_columns(a),
            EvmAir::Boundary(a) => BaseAir::<F>::main_next_row_columns(a),
            EvmAir::Range(a) => BaseAir::<F>::main_next_row_columns(a),
            EvmAir::MulDiv(a) => BaseAir::<F>::main_next_row_columns(a),
            EvmAir::CallContext(a) => BaseAir::<F>::main_next_row_columns(a),
            EvmAir::Memory(a) => BaseAir::<F>::main_next_row_columns(a),
            EvmAir::Calldata(a) => BaseAir::<F>::main_next_row_columns(a),
            EvmAir::Carry(a) => BaseAir::<F>::main_next_row_columns(a),
            EvmAir::PushImmediate(a) => BaseAir::<F>::main_next_row_columns(a),
            EvmAir::KeccakPerm(a) => BaseAir::<F>::main_next_row_columns(a),
            EvmAir::KeccakSponge(a) => BaseAir::<F>::main_next_row_columns(a),
            EvmAir::KeccakBytes(a) => BaseAir::<F>::main_next_row_columns(a),
        }
    }
}

impl<AB: InteractionBuilder> Air<AB> for EvmAir
where
    AB::F: CarryField,
{
    fn eval(&self, builder: &mut AB) {
        match self {
            EvmAir::Cpu(a) => a.eval(builder),
            EvmAir::Bytecode(a) => a.eval(builder),
            EvmAir::OpcodeTable(a) => a.eval(builder),
            EvmAir::Alu(a) => a.eval(builder),
            EvmAir::Bitwise(a) => a.eval(builder),
            EvmAir::Boundary(a) => a.eval(builder),
            EvmAir::Range(a) => a.eval(builder),
            EvmAir::MulDiv(a) => a.eval(builder),
            EvmAir::CallContext(a) => a.eval(builder),
            EvmAir::Memory(a) => a.eval(builder),
            EvmAir::Calldata(a) => a.eval(builder),
            EvmAir::Carry(a) => a.eval(builder),
            EvmAir::PushImmediate(a) => a.eval(builder),
            EvmAir::KeccakPerm(a) => a.eval(builder),
            EvmAir::KeccakSponge(a) => a.eval(builder),
            EvmAir::KeccakBytes(a) => a.eval(builder),
        }
    }
}
