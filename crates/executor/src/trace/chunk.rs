//! A subblock's trace handed over in shard-sized chunks while it is recorded (issue 18, the
//! streaming executor's second pass).
//!
//! A streaming recorder ([`crate::block::stream_block`]) cuts the trace every `chunk_steps`
//! steps and hands each chunk to a sink as soon as it is full, so that whoever consumes them
//! (shard generation) can drop a chunk once its shards are generated. A chunk is final when it
//! is handed over: what the recorder would otherwise write back into earlier steps when a callee
//! returns (the call's pushed word, its output in the caller's memory, the context's success
//! and created address) is taken from the subblock's outline ([`super::SubblockOutline`]), from
//! an untraced first run, at the call step. A chunk's records index the chunk's own vectors and
//! steps; [`SubblockTrace::append_chunk`] puts chunks back together into the subblock's trace.

use alloy_primitives::{B256, Bytes};

use super::records::{
    ContextRecord, LogRecord, MemAccessRecord, SegmentRecord, StepRecord, StorageRecord,
    SubblockTrace, Word,
};

/// Consecutive steps of a subblock's trace and everything they recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceChunk {
    pub subblock: usize,
    /// The subblock step its first step is.
    pub first_step: usize,
    /// Whether it is its subblock's last chunk.
    pub last: bool,
    /// Steps and their records. Indices into the chunk: a step's `stack_words`, an access's or
    /// a log's `data_start`, a log's `topics_start`; steps (`step`) count from `first_step`.
    pub steps: Vec<StepRecord>,
    pub stack_words: Vec<Word>,
    pub mem_accesses: Vec<MemAccessRecord>,
    pub storage: Vec<StorageRecord>,
    pub logs: Vec<LogRecord>,
    pub log_topics: Vec<Word>,
    pub data: Vec<u8>,
    /// The contexts opened since the previous chunk (numbered across the subblock; a
    /// context's `call_step` counts from `first_step`), with their codes' indices.
    pub contexts: Vec<ContextRecord>,
    pub context_code: Vec<u32>,
    /// The codes first run since the previous chunk.
    pub codes: Vec<(B256, Bytes)>,
    /// The last chunk: the subblock's segments.
    pub segments: Vec<SegmentRecord>,
}

/// A chunk that does not continue the trace it is appended to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("chunk of subblock step {got} appended after {expected} steps")]
    OutOfOrder { expected: usize, got: usize },
    #[error("chunk of subblock step {first_step} appended to a finished subblock trace")]
    AfterLast { first_step: usize },
    #[error("chunk of subblock step {first_step}: {what} does not fit in 32 bits")]
    TooLarge {
        first_step: usize,
        what: &'static str,
    },
}

impl TraceChunk {
    /// Approximate size of the chunk in bytes (for reporting).
    pub fn byte_size(&self) -> usize {
        use std::mem::size_of;
        self.steps.len() * size_of::<StepRecord>()
            + (self.stack_words.len() + self.log_topics.len()) * size_of::<Word>()
            + self.mem_accesses.len() * size_of::<MemAccessRecord>()
            + self.storage.len() * size_of::<StorageRecord>()
            + self.logs.len() * size_of::<LogRecord>()
            + self.contexts.len() * size_of::<ContextRecord>()
            + self.segments.len() * size_of::<SegmentRecord>()
            + self.data.len()
            + self.codes.iter().map(|(_, c)| c.len()).sum::<usize>()
    }
}

impl SubblockTrace {
    /// Appends the next chunk of this subblock's trace (its indices moved to the trace's).
    pub fn append_chunk(&mut self, chunk: TraceChunk) -> Result<(), ChunkError> {
        let first_step = chunk.first_step;
        if !self.segments.is_empty() {
            return Err(ChunkError::AfterLast { first_step });
        }
        if first_step != self.steps.len() {
            return Err(ChunkError::OutOfOrder {
                expected: self.steps.len(),
                got: first_step,
            });
        }
        let base = |n: usize, what| {
            u32::try_from(n).map_err(|_| ChunkError::TooLarge { first_step, what })
        };
        let step = base(first_step, "steps")?;
        let word = base(self.stack_words.len(), "stack words")?;
        let data = base(self.data.len(), "data")?;
        let topic = base(self.log_topics.len(), "log topics")?;
        self.steps.extend(chunk.steps.into_iter().map(|mut s| {
            s.stack_words += word;
            s
        }));
        self.mem_accesses
            .extend(chunk.mem_accesses.into_iter().map(|mut m| {
                m.step += step;
                m.data_start += data;
                m
            }));
        self.storage.extend(chunk.storage.into_iter().map(|mut s| {
            s.step += step;
            s
        }));
        self.logs.extend(chunk.logs.into_iter().map(|mut l| {
            l.step += step;
            l.topics_start += topic;
            l.data_start += data;
            l
        }));
        self.contexts
            .extend(chunk.contexts.into_iter().map(|mut c| {
                if c.call_step != u32::MAX {
                    c.call_step += step;
                }
                c
            }));
        self.stack_words.extend(chunk.stack_words);
        self.log_topics.extend(chunk.log_topics);
        self.data.extend(chunk.data);
        self.context_code.extend(chunk.context_code);
        self.codes.extend(chunk.codes);
        self.segments = chunk.segments;
        Ok(())
    }
}
