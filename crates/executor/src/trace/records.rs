//! The record types of an execution trace. All are `#[repr(C)]` and `Pod` so that trace
//! generation (and a GPU) can take them as flat byte slices; layouts are checked by tests.

use alloy_primitives::{Address, B256, Bytes, U256};
use bytemuck::{Pod, Zeroable};

/// A 256-bit EVM word as eight 32-bit limbs, least significant first (the AIR splits further).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct Word(pub [u32; 8]);

impl From<U256> for Word {
    #[inline]
    fn from(v: U256) -> Self {
        let l = v.as_limbs();
        Word([
            l[0] as u32,
            (l[0] >> 32) as u32,
            l[1] as u32,
            (l[1] >> 32) as u32,
            l[2] as u32,
            (l[2] >> 32) as u32,
            l[3] as u32,
            (l[3] >> 32) as u32,
        ])
    }
}

impl From<Word> for U256 {
    #[inline]
    fn from(w: Word) -> Self {
        let l = w.0;
        U256::from_limbs([
            l[0] as u64 | (l[1] as u64) << 32,
            l[2] as u64 | (l[3] as u64) << 32,
            l[4] as u64 | (l[5] as u64) << 32,
            l[6] as u64 | (l[7] as u64) << 32,
        ])
    }
}

impl From<B256> for Word {
    fn from(v: B256) -> Self {
        U256::from_be_bytes(v.0).into()
    }
}

/// The step completed normally (its outputs are on the stack).
pub const STEP_OK: u8 = 0;
/// The step halted its frame exceptionally (out of gas, bad jump, stack error, ...): no outputs.
pub const STEP_EXCEPTIONAL: u8 = 1;

/// One executed EVM instruction.
///
/// Stack words of the step live in [`SubblockTrace::stack_words`] from `stack_words`: first the
/// `reads` items it pops (top of stack first), then the `writes` items it pushes (top first).
/// For CALL* and CREATE* the single pushed word is written when the callee returns.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct StepRecord {
    /// Gas remaining before the step.
    pub gas_before: u64,
    /// Gas remaining after the step (for CALL*/CREATE*: after the gas given to the callee is taken).
    pub gas_after: u64,
    pub pc: u32,
    /// Index into [`SubblockTrace::contexts`].
    pub context: u32,
    /// Index of the step's first word in [`SubblockTrace::stack_words`].
    pub stack_words: u32,
    /// Index into [`SubblockTrace::segments`].
    pub segment: u32,
    /// Stack height before the step.
    pub stack_len: u16,
    /// Call depth (1 for a transaction's top frame).
    pub depth: u16,
    pub opcode: u8,
    pub reads: u8,
    pub writes: u8,
    /// [`STEP_OK`] or [`STEP_EXCEPTIONAL`].
    pub status: u8,
}

/// What a data access touched.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessKind {
    MemoryRead = 0,
    MemoryWrite = 1,
    CalldataRead = 2,
    ReturndataRead = 3,
    CodeRead = 4,
}

impl AccessKind {
    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            0 => Self::MemoryRead,
            1 => Self::MemoryWrite,
            2 => Self::CalldataRead,
            3 => Self::ReturndataRead,
            4 => Self::CodeRead,
            _ => return None,
        })
    }
}

/// A read or write of a byte range of memory, calldata, returndata or code by one step. The bytes
/// (as read, or as written) are `data[data_start..data_start + len]` of [`SubblockTrace::data`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct MemAccessRecord {
    pub step: u32,
    /// An [`AccessKind`].
    pub kind: u32,
    pub offset: u32,
    pub len: u32,
    pub data_start: u32,
}

/// An SLOAD or SSTORE. The address is the step's context address.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct StorageRecord {
    pub key: Word,
    /// Value before the step.
    pub previous: Word,
    /// Value after the step (SLOAD: the value read).
    pub value: Word,
    /// Value at the start of the transaction (SSTORE gas and refunds depend on it).
    pub original: Word,
    pub step: u32,
    pub is_write: u32,
}

/// A LOG0..LOG4: topics are `log_topics[topics_start..topics_start + topics]`, data is in
/// [`SubblockTrace::data`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct LogRecord {
    pub step: u32,
    pub context: u32,
    pub topics_start: u32,
    pub topics: u32,
    pub data_start: u32,
    pub data_len: u32,
}

/// How a call context was entered.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContextKind {
    Call = 0,
    CallCode = 1,
    DelegateCall = 2,
    StaticCall = 3,
    Create = 4,
    Create2 = 5,
}

/// One call frame (a transaction's top frame, a system call, or a CALL*/CREATE* callee).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ContextRecord {
    pub gas_limit: u64,
    pub value: Word,
    pub address: [u8; 20],
    pub caller: [u8; 20],
    /// Where the executed code lives (differs from `address` for DELEGATECALL/CALLCODE).
    pub code_address: [u8; 20],
    /// A [`ContextKind`].
    pub kind: u32,
    pub depth: u32,
    /// The calling context, or `u32::MAX` for a segment's top frame.
    pub parent: u32,
    /// The CALL*/CREATE* step that opened it, or `u32::MAX`.
    pub call_step: u32,
    /// 1 if the frame ended successfully (STOP/RETURN/SELFDESTRUCT), else 0.
    pub success: u32,
    pub is_static: u32,
    /// Length of the frame's calldata (0 for CREATE*: their input is code).
    pub calldata_len: u32,
}

impl ContextRecord {
    pub fn address(&self) -> Address {
        Address::from(self.address)
    }
}

/// What a segment of a subblock is.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentKind {
    /// EIP-2935 / EIP-4788 pre-block system calls.
    PreBlockSystem = 0,
    Transaction = 1,
    /// EIP-7002 / EIP-7251 request system calls, withdrawals.
    PostBlockSystem = 2,
}

/// A consecutive run of steps belonging to one transaction or one system phase.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SegmentRecord {
    pub gas_used: u64,
    /// A [`SegmentKind`].
    pub kind: u32,
    /// Transaction index within the block (for transactions).
    pub tx_index: u32,
    pub first_step: u32,
    pub end_step: u32,
}

/// The trace of one subblock: every step and every access it made.
#[derive(Clone, Debug, Default)]
pub struct SubblockTrace {
    /// Indexed by subblock step; the front may be released ([`Self::release_before`]).
    pub steps: super::Steps,
    pub stack_words: Vec<Word>,
    pub mem_accesses: Vec<MemAccessRecord>,
    pub storage: Vec<StorageRecord>,
    pub logs: Vec<LogRecord>,
    pub log_topics: Vec<Word>,
    pub contexts: Vec<ContextRecord>,
    pub segments: Vec<SegmentRecord>,
    /// Bytes of memory accesses and logs.
    pub data: Vec<u8>,
    /// The code executed by each context (by code hash), for the bytecode chip.
    pub codes: Vec<(B256, Bytes)>,
    /// `contexts[i]` runs `codes[context_code[i]]`.
    pub context_code: Vec<u32>,
    /// The block's context values (the same in every subblock of a block, filled in once the
    /// block has run: its BLOCKHASH reads are the whole block's), for the opcode table's
    /// block-context entries.
    pub block_context: std::sync::Arc<crate::block_context::BlockContext>,
    /// The index (a step's `stack_words`) of `stack_words[0]`: 0, unless the words of earlier
    /// steps were released ([`SubblockTrace::release_before`]).
    pub stack_words_base: usize,
    /// The accesses released before `mem_accesses[0]` (0 unless some were).
    pub mem_accesses_base: usize,
    /// The index (a log's `topics_start`) of `log_topics[0]`.
    pub log_topics_base: usize,
    /// The index (an access's or a log's `data_start`) of `data[0]`.
    pub data_base: usize,
}

impl SubblockTrace {
    /// Stack words (reads then writes) of step `i` (none if the step was released).
    pub fn step_words(&self, i: usize) -> &[Word] {
        let Some(s) = self.steps.get(i) else {
            return &[];
        };
        let Some(start) = (s.stack_words as usize).checked_sub(self.stack_words_base) else {
            return &[];
        };
        self.stack_words
            .get(start..start + s.reads as usize + s.writes as usize)
            .unwrap_or_default()
    }

    /// Bytes `range` of the trace's `data` (indices as accesses and logs give them), if held.
    pub fn data_range(&self, range: std::ops::Range<usize>) -> Option<&[u8]> {
        let start = range.start.checked_sub(self.data_base)?;
        self.data.get(start..range.end - self.data_base)
    }

    /// The bytes of `data` recorded, released ones included.
    pub fn data_len(&self) -> usize {
        self.data_base + self.data.len()
    }

    /// The accesses recorded, released ones included.
    pub fn mem_access_count(&self) -> usize {
        self.mem_accesses_base + self.mem_accesses.len()
    }

    /// Drops the steps before `step` and what they recorded: their stack words, memory
    /// accesses, storage records, logs and the bytes of those (a window over a trace being
    /// recorded, issue 18: what shard generation no longer reads). Records come in step order,
    /// so those of `step` and later stay; nothing is renumbered.
    pub fn release_before(&mut self, step: usize) {
        let first = match self.steps.get(step) {
            Some(s) => s.stack_words as usize,
            None if step >= self.steps.len() => self.stack_words_base + self.stack_words.len(),
            // Released already, and so are its words.
            None => self.stack_words_base,
        };
        if first > self.stack_words_base {
            let n = (first - self.stack_words_base).min(self.stack_words.len());
            self.stack_words.drain(..n);
            self.stack_words_base += n;
        }
        self.steps.release_before(step);

        let before = |s: u32| (s as usize) < step;
        let n = self
            .mem_accesses
            .iter()
            .take_while(|m| before(m.step))
            .count();
        self.mem_accesses.drain(..n);
        self.mem_accesses_base += n;
        let n = self.storage.iter().take_while(|r| before(r.step)).count();
        self.storage.drain(..n);
        let n = self.logs.iter().take_while(|l| before(l.step)).count();
        self.logs.drain(..n);
        // Topics and bytes before the first ones a held log or access names.
        let topics = self
            .logs
            .first()
            .map_or(self.log_topics_base + self.log_topics.len(), |l| {
                l.topics_start as usize
            });
        let n = topics
            .saturating_sub(self.log_topics_base)
            .min(self.log_topics.len());
        self.log_topics.drain(..n);
        self.log_topics_base += n;
        let data = self
            .mem_accesses
            .iter()
            .map(|m| m.data_start as usize)
            .chain(self.logs.iter().map(|l| l.data_start as usize))
            .min()
            .unwrap_or(self.data_len());
        let n = data.saturating_sub(self.data_base).min(self.data.len());
        self.data.drain(..n);
        self.data_base += n;
    }

    /// Approximate size of the trace in bytes (for reporting).
    pub fn byte_size(&self) -> usize {
        use std::mem::size_of;
        std::mem::size_of_val(self.steps.held())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    /// The records are consumed as flat byte slices (trace generation, a GPU): their layout is
    /// part of the interface.
    #[test]
    fn record_layouts_are_fixed() {
        assert_eq!(size_of::<Word>(), 32);
        assert_eq!(size_of::<StepRecord>(), 40);
        assert_eq!(align_of::<StepRecord>(), 8);
        assert_eq!(offset_of!(StepRecord, pc), 16);
        assert_eq!(offset_of!(StepRecord, stack_len), 32);
        assert_eq!(offset_of!(StepRecord, opcode), 36);
        assert_eq!(size_of::<MemAccessRecord>(), 20);
        assert_eq!(size_of::<StorageRecord>(), 136);
        assert_eq!(size_of::<LogRecord>(), 24);
        assert_eq!(size_of::<ContextRecord>(), 128);
        assert_eq!(offset_of!(ContextRecord, address), 40);
        assert_eq!(size_of::<SegmentRecord>(), 24);
        let steps = [StepRecord::default(); 3];
        assert_eq!(bytemuck::cast_slice::<_, u8>(&steps).len(), 120);
    }

    #[test]
    fn word_round_trips_u256() {
        let v = U256::from_be_bytes([0xab; 32]) ^ U256::from(0x1234_5678_9abc_def0u64);
        assert_eq!(<U256 as From<Word>>::from(Word::from(v)), v);
        assert_eq!(Word::from(U256::from(5u8)).0, [5, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Word::from(U256::MAX).0, [u32::MAX; 8]);
    }
}
