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
    /// Appends the next chunk of this subblock's trace (its indices moved to the trace's; an
    /// index past its chunk's records stays past the trace's).
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
        // The trace's indices are 32-bit: everything after the append must fit.
        base(first_step + chunk.steps.len(), "steps")?;
        // Records released from the front still count: indices are the subblock's.
        let words = self.stack_words_base + self.stack_words.len();
        base(words + chunk.stack_words.len(), "stack words")?;
        let topics = self.log_topics_base + self.log_topics.len();
        base(self.data_len() + chunk.data.len(), "data")?;
        base(topics + chunk.log_topics.len(), "log topics")?;
        let step = base(first_step, "steps")?;
        let word = base(words, "stack words")?;
        let data = base(self.data_len(), "data")?;
        let topic = base(topics, "log topics")?;
        self.steps.extend(chunk.steps.into_iter().map(|mut s| {
            s.stack_words = s.stack_words.saturating_add(word);
            s
        }));
        self.mem_accesses
            .extend(chunk.mem_accesses.into_iter().map(|mut m| {
                m.step = m.step.saturating_add(step);
                m.data_start = m.data_start.saturating_add(data);
                m
            }));
        self.storage.extend(chunk.storage.into_iter().map(|mut s| {
            s.step = s.step.saturating_add(step);
            s
        }));
        self.logs.extend(chunk.logs.into_iter().map(|mut l| {
            l.step = l.step.saturating_add(step);
            l.topics_start = l.topics_start.saturating_add(topic);
            l.data_start = l.data_start.saturating_add(data);
            l
        }));
        self.contexts
            .extend(chunk.contexts.into_iter().map(|mut c| {
                if c.call_step != u32::MAX {
                    c.call_step = c.call_step.saturating_add(step);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(first_step: usize, steps: usize, last: bool) -> TraceChunk {
        TraceChunk {
            first_step,
            last,
            steps: vec![StepRecord::default(); steps],
            segments: if last {
                vec![SegmentRecord::default()]
            } else {
                Vec::new()
            },
            ..TraceChunk::default()
        }
    }

    #[test]
    fn a_chunk_out_of_order_or_after_the_last_is_a_typed_error() {
        let mut trace = SubblockTrace::default();
        trace.append_chunk(chunk(0, 3, false)).unwrap();
        assert_eq!(
            trace.append_chunk(chunk(4, 3, false)),
            Err(ChunkError::OutOfOrder {
                expected: 3,
                got: 4
            })
        );
        trace.append_chunk(chunk(3, 2, true)).unwrap();
        assert_eq!(trace.steps.len(), 5);
        assert_eq!(
            trace.append_chunk(chunk(5, 1, false)),
            Err(ChunkError::AfterLast { first_step: 5 })
        );
    }

    #[test]
    fn a_chunks_indices_move_to_the_traces() {
        let mut trace = SubblockTrace::default();
        let mut first = chunk(0, 2, false);
        first.stack_words = vec![Word::default(); 3];
        first.data = vec![1, 2];
        trace.append_chunk(first).unwrap();
        let mut next = chunk(2, 1, true);
        next.steps[0].stack_words = 1;
        next.stack_words = vec![Word::default(); 2];
        next.data = vec![3];
        next.mem_accesses = vec![MemAccessRecord {
            step: 0,
            data_start: 0,
            len: 1,
            ..MemAccessRecord::default()
        }];
        next.contexts = vec![
            ContextRecord {
                call_step: 0,
                ..ContextRecord::default()
            },
            ContextRecord {
                call_step: u32::MAX,
                ..ContextRecord::default()
            },
        ];
        trace.append_chunk(next).unwrap();
        assert_eq!(trace.steps[2].stack_words, 4);
        assert_eq!(
            (trace.mem_accesses[0].step, trace.mem_accesses[0].data_start),
            (2, 2)
        );
        assert_eq!(trace.data[2], 3);
        assert_eq!(trace.contexts[0].call_step, 2);
        assert_eq!(trace.contexts[1].call_step, u32::MAX);
    }

    /// Released words leave the later steps' words and indices as they were, also for chunks
    /// appended after the release; the released steps have none.
    #[test]
    fn words_released_from_the_front_keep_the_later_steps_words() {
        let words = |first: u32, n: u32| (first..first + n).map(|k| Word([k; 8])).collect();
        let step = |at: u32| StepRecord {
            stack_words: at,
            reads: 1,
            writes: 1,
            ..StepRecord::default()
        };
        let mut whole = SubblockTrace::default();
        let mut window = SubblockTrace::default();
        for k in 0..4u32 {
            let mut c = chunk(2 * k as usize, 2, k == 3);
            c.steps = vec![step(0), step(2)];
            c.stack_words = words(4 * k, 4);
            whole.append_chunk(c.clone()).unwrap();
            window.append_chunk(c).unwrap();
            window.release_before(2 * k as usize + 1);
        }
        assert_eq!((window.stack_words_base, window.stack_words.len()), (14, 2));
        assert_eq!((window.steps.first_held(), window.steps.len()), (7, 8));
        assert_eq!(window.step_words(7), whole.step_words(7));
        assert_eq!(window.step_words(7), &words(14, 2)[..]);
        assert!(window.step_words(6).is_empty());
        assert_eq!(window.steps[7], whole.steps[7]);
        window.release_before(8);
        assert!(window.stack_words.is_empty() && window.step_words(7).is_empty());
    }

    /// Released accesses, logs, topics and bytes keep every held record's indices: the held
    /// ones read the same bytes as in the whole trace.
    #[test]
    fn released_records_keep_the_held_ones_indices() {
        let mut whole = SubblockTrace::default();
        let mut window = SubblockTrace::default();
        for k in 0..4u32 {
            let mut c = chunk(2 * k as usize, 2, k == 3);
            // Per step: a 3-byte memory write, and on the second step a log of 2 bytes and
            // one topic (indices the chunk's).
            c.data = (0..8).map(|b| (10 * k + b) as u8).collect();
            c.mem_accesses = (0..2)
                .map(|j| MemAccessRecord {
                    step: j,
                    kind: 1,
                    len: 3,
                    data_start: 3 * j,
                    ..MemAccessRecord::default()
                })
                .collect();
            c.logs = vec![LogRecord {
                step: 1,
                topics_start: 0,
                topics: 1,
                data_start: 6,
                data_len: 2,
                ..LogRecord::default()
            }];
            c.log_topics = vec![Word::default()];
            c.storage = vec![StorageRecord {
                step: 0,
                ..StorageRecord::default()
            }];
            whole.append_chunk(c.clone()).unwrap();
            window.append_chunk(c).unwrap();
            window.release_before(2 * k as usize + 1);
        }
        // Steps 0..7 released: the accesses and storage of steps 0..6, the logs of 1, 3, 5.
        assert_eq!(window.mem_accesses_base, 7);
        assert_eq!(window.mem_accesses, whole.mem_accesses[7..]);
        assert_eq!(window.storage.len(), 0);
        assert_eq!(window.logs, whole.logs[3..]);
        assert_eq!(window.log_topics_base, 3);
        assert_eq!((window.data_base, window.data.len()), (27, 5));
        assert_eq!(window.data_len(), whole.data_len());
        assert_eq!(window.mem_access_count(), whole.mem_access_count());
        for m in &window.mem_accesses {
            let bytes = m.data_start as usize..(m.data_start + m.len) as usize;
            assert_eq!(window.data_range(bytes.clone()), whole.data_range(bytes));
        }
        assert_eq!(window.data_range(0..3), None);
        // A chunk appended after the release gets the whole trace's indices.
        let mut c = chunk(8, 1, false);
        c.data = vec![7];
        c.mem_accesses = vec![MemAccessRecord {
            len: 1,
            ..MemAccessRecord::default()
        }];
        let mut w = window.clone();
        w.segments.clear();
        let mut h = whole.clone();
        h.segments.clear();
        w.append_chunk(c.clone()).unwrap();
        h.append_chunk(c).unwrap();
        assert_eq!(w.mem_accesses.last(), h.mem_accesses.last());
        assert_eq!(w.data_range(32..33), Some(&[7u8][..]));
    }
}
