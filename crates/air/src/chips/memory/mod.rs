//! EVM memory as an offline memory of 32-byte words (MLOAD, MSTORE, MSTORE8, and the bytes of
//! trusted writes).
//!
//! Each context's memory is a set of aligned words `(context, word index)`, tokens
//! `(context, word, 32 bytes, timestamp)` on the [`MEMORY`](crate::buses::MEMORY) bus. An access
//! at timestamp `t` (its step + 1) takes the current token of each word it touches (timestamp
//! `< t`, range-checked) and puts back the new content with timestamp `t`. Every word the shard
//! touches has one **bound row**: it sends the initial token (timestamp 0; content zero, unless
//! carried into the shard, which needs the boundary chip's `allow_init` through the
//! [`MEMORY_CARRY`](crate::buses::MEMORY_CARRY) bus) and takes the final one.
//!
//! **Carried across a cut** (coverage v12). A carried word's initial content is a token `(ctx,
//! word, 32 bytes)` the row sends to the carry table's in commitment, its final content one it
//! sends to the out commitment (`out`); the earlier shard's out and the later shard's in
//! commitments must be equal. The carried words at a cut are the non-zero words of the contexts
//! alive there, each with a bound row in both shards (touched or not): an unlisted word's row
//! starts at zero, and a row whose final content is non-zero must hand it on unless its context
//! ended in the shard (`dead`: a lookup on [`CONTEXT_END`](crate::buses::CONTEXT_END), which
//! the CPU step ending the context provides; the context never runs again). The cost is the
//! live image per shard: one bound row and four carry rows per live non-zero word. Bound rows come
//! first, sorted strictly by `(context, word)` (context below 2^16, word below 2^24, so the
//! differences cannot wrap), so a word has exactly one init token; with timestamps strictly
//! increasing along each word's chain, every read sees the last write before it.
//!
//! Row kinds: **load / store / store8** (received from the CPU step on the
//! [`MEMORY_OP`](crate::buses::MEMORY_OP) bus with its context, timestamp, opcode, offset and
//! value; the value is the 32 bytes from byte `k` of word A on, into word B when `k > 0`;
//! MSTORE8 writes the value's lowest byte at byte `k`); **chunk** (one word of an area a step
//! writes with trusted bytes: copies, MCOPY, a call's output area; it looks up the step's area
//! `[start, end)` on [`MEMORY_AREA`](crate::buses::MEMORY_AREA), which the CPU derives from the
//! step's stack items, and may change only the bytes of word A inside it); **bound**.
//! Written bytes are range-checked as byte pairs (stores, chunks, carried initial content);
//! loaded bytes are bytes because every token's are.
//!
//! **Memory size and expansion gas.** Op rows also receive the context's memory size in words
//! before and after the step (`w`, `w'`, chained by the CPU) and the step's gas: `w' = w` with
//! `32 w >= end`, or (expanding) `32 w < end <= 32 w' < end + 32`, all range-checked; gas `=
//! 3 + 3 (w' - w) + floor(w'^2 / 512) - floor(w^2 / 512)`, each `w = lo + 2^10 hi` (so `w <
//! 2^20`, 32 MiB) and `lo^2 = 512 s + r`, so `floor(w^2 / 512) = 2^11 hi^2 + 4 lo hi + s` without
//! leaving the field.
//!
//! **Why 32-byte words, not bytes** (the smaller trace). An MLOAD or MSTORE touches 32 bytes.
//! Per byte, an offline memory row needs the address, the value, old value and old timestamp,
//! a range-checked timestamp gap and a link to its step: about 10 main columns, 6 bus
//! interactions and their LogUp and quotient columns, ~30 committed cells; so ~1,000 cells per
//! MLOAD/MSTORE (32 rows) plus a bound row per byte touched (~20 cells, ~640 per word). Here one
//! row holds both words an unaligned access touches: 234 main columns, 19 LogUp columns (of 4
//! field elements), 4 quotient chunks, 326 committed cells per row (measured, `prove --json`
//! trace_area), one row per access and one per word touched: about 3x fewer cells. The price is
//! the shift constraints (32 x 32 degree-2 products) for the unaligned window.

pub mod air;
pub mod columns;
pub mod trace;

pub use air::MemoryAir;
