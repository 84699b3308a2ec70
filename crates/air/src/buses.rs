//! The LogUp buses between the chips. Every bus carries tuples of one fixed width.
//!
//! | bus | tuple | provided by | looked up / sent by |
//! |---|---|---|---|
//! | [`BYTE`] | `(value)` | range table (256 rows) | call-context and multiplication chips' bytes |
//! | [`U16`] | `(value)` | range table (65536 rows) | CPU limbs, gas, stack height, timestamp gaps; ALU |
//! | [`BYTE_PAIR`] | `(lo, hi)` two bytes | u16 range table (the bytes of each row's value) | multiplication chip operand bytes |
//! | [`OPCODE`] | `(opcode, properties...)` | opcode table | CPU, one per step |
//! | [`CODE_OPCODE`] | `(byte, immediate size, is JUMPDEST, is PUSH data)` | opcode table (per row: its opcode's entry, and its byte value's data entry `(b, 0, 0, 1)`) | bytecode, one per row (every byte of a padded code) |
//! | [`BYTECODE`] | `(code id, pc, opcode)` | bytecode (opcode bytes only) | CPU, one per step; push-immediate rows (their PUSHn) |
//! | [`PUSH_IMMEDIATE`] | `(code id, pc, 16 limbs)` | push-immediate table (one row per executed PUSHn site) | CPU PUSH1..32 steps |
//! | [`CODE_BYTE`] | `(code id, pc, byte, next byte)` (next: 0 on a code's last padded byte) | bytecode (every byte of a padded code) | push-immediate rows (their immediates, two bytes a read) |
//! | [`JUMPDEST_FLAG`] | `(code id, pc, is JUMPDEST, is the code's last padded byte)` | bytecode (every byte of a padded code) | CPU bad-jump halts (flag 0; the last byte for targets past the code) |
//! | [`STACK`] | `(context, slot, 16 limbs, timestamp)` | CPU pushes, boundary init | CPU pops, boundary final |
//! | [`RESUME`] | `(context, callee, pc, stack height, code id, callee succeeded)` | CPU call steps, boundary init | CPU resumptions, boundary final |
//! | [`ALU`] | `(opcode, a, b, n, c)` (16 limbs each; n: ADDMOD's modulus, else 0) | ALU and multiplication chips | CPU ALU steps |
//! | [`MULMOD_LINK`] | `(tag, 4 x 16 limbs)` | multiplication chip, MULMOD rows 1 and 2 | MULMOD rows 2 and 3 |
//! | [`EXP_LINK`] | `(tag, base, acc, rest of the exponent, bit position, result)` (words: 16 limbs) | multiplication chip, EXP rows | the next EXP row (the chain's end: the head row) |
//! | [`CALL_CONTEXT`] | `(context, opcode, seq, 16 limbs)` (seq: RETURNDATASIZE's call count, else 0) | call-context table | CPU ADDRESS, CALLER, CALLVALUE, ORIGIN, GASPRICE, CALLDATASIZE, CODESIZE, RETURNDATASIZE steps; calldata word rows (their context's CALLDATASIZE) |
//! | [`BLOCK_CONTEXT`] | `(opcode, argument, value)` (16 limbs each; argument: BLOCKHASH's block number, else 0) | opcode table (header opcodes' rows, BLOCKHASH slot rows), from its public values | CPU COINBASE, TIMESTAMP, NUMBER, PREVRANDAO, GASLIMIT, CHAINID, BASEFEE, BLOBBASEFEE, BLOCKHASH steps |
//! | [`AND8`] | `(x, y, x AND y)` bytes | bitwise table (65536 rows) | ALU AND/OR/XOR |
//! | [`MEMORY`] | `(context, word, 32 bytes, timestamp)` | memory accesses (the new content), init rows | memory accesses (the old content), final rows |
//! | [`MEMORY_OP`] | `(context, timestamp, opcode, offset lo, offset hi, 16 limbs)` | CPU MLOAD, MSTORE, MSTORE8 steps; Keccak word rows (MLOAD, not yet in a shard) | memory op rows |
//! | [`MEMORY_AREA`] | `(context, timestamp, start, end)` | CPU steps writing trusted bytes (copies, call outputs) | memory chunk rows |
//! | [`CALLDATA_WORD`] | `(context, word, 32 bytes)` | calldata word rows | calldata load rows (words A and B) |
//! | [`CALLDATA_LOAD`] | `(context, 16 offset limbs, 16 value limbs)` | CPU CALLDATALOAD steps | calldata load rows |
//! | [`MEMORY_CARRY`] | `(1)` | boundary chip, only where `allow_init = 1` | memory init rows with carried (non-zero) content |
//! | [`CONTEXT_END`] | `(context)` | CPU step that ends its context (a halt: not continued, not suspended) | memory bound rows not carried out (`dead`) |
//! | [`CARRY`] | `(dir, position, tag, 7 data)` | boundary chip (stack items, resume tokens), memory bound rows (words) | carry table, one chunk per row |
//! | [`KECCAK_PERM`] | `(100 input limbs, 100 output limbs)` (16-bit, lane order) | Keccak permutation rows (exported) | Keccak sponge blocks |
//! | [`KECCAK_LANE`] | `(context, timestamp, offset, length, lane index, 8 bytes)` | Keccak word rows | Keccak sponge blocks (message lanes) |
//! | [`KECCAK_DIGEST`] | `(context, timestamp, offset, length, memory words before, after, gas, 16 digest limbs)` | Keccak sponge (a hash's last block) | the hash's consumer |

use p3_lookup::{LookupBus, PermutationCheckBus};

pub const BYTE: LookupBus<'static> = LookupBus::new("byte");
pub const U16: LookupBus<'static> = LookupBus::new("u16");
/// Two bytes in one lookup (half the columns of two byte lookups).
pub const BYTE_PAIR: LookupBus<'static> = LookupBus::new("byte-pair");
pub const OPCODE: LookupBus<'static> = LookupBus::new("opcode");
pub const CODE_OPCODE: LookupBus<'static> = LookupBus::new("code-opcode");
pub const BYTECODE: LookupBus<'static> = LookupBus::new("bytecode");
pub const PUSH_IMMEDIATE: LookupBus<'static> = LookupBus::new("push-immediate");
/// `(code id, pc, byte, next byte)` for every byte of a code and its zero padding, data or
/// opcode (the next byte of the padding's last byte is 0): two code bytes in one read.
pub const CODE_BYTE: LookupBus<'static> = LookupBus::new("code-byte");
/// `(code id, pc, is JUMPDEST, is last)` for every byte of a code and its zero padding (`is
/// last` on the padding's last byte, which is never a JUMPDEST).
pub const JUMPDEST_FLAG: LookupBus<'static> = LookupBus::new("jumpdest-flag");
pub const STACK: PermutationCheckBus<'static> = PermutationCheckBus::new("stack");
pub const RESUME: PermutationCheckBus<'static> = PermutationCheckBus::new("resume");
pub const ALU: PermutationCheckBus<'static> = PermutationCheckBus::new("alu");
/// Between the three rows of one MULMOD in the multiplication chip: `(tag, 4 words)`.
pub const MULMOD_LINK: PermutationCheckBus<'static> = PermutationCheckBus::new("mulmod-link");
/// Between the rows of one EXP in the multiplication chip (square-and-multiply, one row per
/// squaring and per multiplication): `(tag, base, acc, rest, position, result)`.
pub const EXP_LINK: PermutationCheckBus<'static> = PermutationCheckBus::new("exp-link");
/// `(context, opcode, seq, value)`: one value per context and call-context opcode in a shard
/// (RETURNDATASIZE: per context and call count `seq`).
pub const CALL_CONTEXT: LookupBus<'static> = LookupBus::new("call-context");
/// `(opcode, argument, value)`: the block-context values the shard's public values fix
/// (`crate::block_context`).
pub const BLOCK_CONTEXT: LookupBus<'static> = LookupBus::new("block-context");
/// `(x, y, x AND y)` for bytes: provided by the bitwise table, looked up by the ALU.
pub const AND8: LookupBus<'static> = LookupBus::new("and8");
/// Memory words as tokens of an offline memory: `(context, word index, 32 bytes, timestamp)`.
pub const MEMORY: PermutationCheckBus<'static> = PermutationCheckBus::new("memory");
/// One MLOAD/MSTORE/MSTORE8 step: `(context, timestamp, opcode, offset lo, offset hi, value)`.
pub const MEMORY_OP: PermutationCheckBus<'static> = PermutationCheckBus::new("memory-op");
/// The memory area `[start, end)` a step writes with trusted bytes: `(context, timestamp, start,
/// end)`, provided by the CPU row of the step, looked up by each word it writes.
pub const MEMORY_AREA: LookupBus<'static> = LookupBus::new("memory-area");
/// Permission for memory carried into a shard (the boundary chip provides it only where
/// `allow_init = 1`).
pub const MEMORY_CARRY: LookupBus<'static> = LookupBus::new("memory-carry");
/// A context that ended in the shard: `(context)`, provided by its last step (a halt, neither
/// continued nor suspended), looked up by the memory bound rows of its words, which then need not
/// be carried out of the shard.
pub const CONTEXT_END: LookupBus<'static> = LookupBus::new("context-end");
/// A context's calldata word `(context, word index, 32 bytes)`: one row per word in a shard.
pub const CALLDATA_WORD: LookupBus<'static> = LookupBus::new("calldata-word");
/// One CALLDATALOAD step: `(context, offset limbs, pushed value limbs)`.
pub const CALLDATA_LOAD: PermutationCheckBus<'static> = PermutationCheckBus::new("calldata-load");
/// A chunk of a carried token for the carry table's commitments: `(dir, position, tag, 7
/// data)` (`crate::chips::carry`).
pub const CARRY: PermutationCheckBus<'static> = PermutationCheckBus::new("carry");
/// One Keccak-f[1600] permutation: `(input state, output state)`, 100 16-bit limbs each (lane
/// `x + 5 y`, limbs little-endian); sent by the permutation table, received by sponge blocks.
pub const KECCAK_PERM: PermutationCheckBus<'static> = PermutationCheckBus::new("keccak-perm");
/// Eight message bytes of a hash: `(context, timestamp, offset, length, lane index, 8 bytes)`
/// (the bytes at `offset + 8 lane ..`), received by the sponge block absorbing them.
pub const KECCAK_LANE: PermutationCheckBus<'static> = PermutationCheckBus::new("keccak-lane");
/// A hash's result: `(context, timestamp, offset, length, memory words before and after, gas, 16
/// digest limbs)` (the digest as an EVM word, 16-bit limbs little-endian), sent by the sponge's
/// last block, which checks the gas and the memory size.
pub const KECCAK_DIGEST: PermutationCheckBus<'static> = PermutationCheckBus::new("keccak-digest");
