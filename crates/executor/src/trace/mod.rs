//! Execution traces: what the prover's chips are generated from.
//!
//! A [`SubblockTrace`] is columnar: one fixed-size, `bytemuck::Pod` record per EVM step, plus side
//! tables (stack words, memory/calldata/returndata accesses with their bytes, storage accesses,
//! logs, call contexts, segments) that steps index into. Recording appends to these vectors and
//! never allocates per step beyond their amortised growth.

mod chunk;
mod outline;
mod recorder;
mod records;
mod steps;

pub use chunk::{ChunkError, TraceChunk};
pub use outline::{CallResult, ContextOutline, SubblockOutline};
pub use recorder::{ChunkSink, TraceRecorder};
pub use records::*;
pub use steps::Steps;
