//! Host-to-device uploads through pinned (page-locked) staging slots.
//!
//! A copy from pageable memory is staged by the driver through its own small pinned buffers and
//! holds the host until the last byte is staged; a copy from pinned memory is a DMA the host only
//! queues, at full PCIe bandwidth. Each [`CudaBackend`] (that is, each stream:
//! [`CudaBackend::fork_stream`] gives every fork its own) keeps a ring of [`SLOTS`] pinned slots
//! used in turn. An upload is written (copied, or transposed from row-major) into a slot, the
//! copy from the slot is queued on the stream and an event is recorded after it. The call
//! returns once the copy is queued: the caller may change or free its source at once (the DMA
//! reads the slot, never the source), and the host can prepare the next upload in the other slot
//! while this one is in flight. Before a slot is written again, or freed, the host waits on its
//! event, so a slot is never touched while a copy from it is in flight.
//!
//! Uploads larger than a slot's cap ([`DEFAULT_SLOT_WORDS`], 256 MiB, or
//! `BackendOptions::staging_slot_words`) go through the slots in chunks that alternate between
//! them, so the host fills one slot while the other's copy runs. Slots are allocated on first use
//! and grow (to the next power of two, at most the cap) when a larger chunk comes; they are never
//! shrunk, so a backend holds at most `SLOTS x cap` bytes of pinned memory.
//!
//! The schedule is pure and tested on every machine ([`SlotRing`]: which slot takes which words;
//! [`SlotState`]: when to wait and when to grow); [`Staging`] only executes it. When pinned memory
//! cannot be allocated, that chunk falls back to the pageable copy (counted in
//! [`StagingStats::pinned_alloc_failures`]): an upload never fails for want of pinned memory.

use std::ops::Range;
use std::sync::Arc;

use cudarc::driver::sys::CUevent_flags;
use cudarc::driver::{CudaContext, CudaEvent, CudaSlice, CudaStream, DriverError, result};
use rayon::prelude::*;

use crate::backend::CudaBackend;
use crate::error::{Error, Result};
use crate::prover_backend::columns_range_into;

/// Pinned slots per backend: one being filled by the host while the other's copy is in flight.
pub const SLOTS: usize = 2;

/// Default cap of one slot in words (256 MiB): larger uploads go through the slots in chunks.
pub const DEFAULT_SLOT_WORDS: usize = 64 << 20;

/// Smallest slot allocated (64 KiB), so that a run of small uploads does not reallocate at
/// every size.
pub const MIN_SLOT_WORDS: usize = 16 << 10;

/// One copy of an upload: words `range` of it go through slot `slot`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedCopy {
    /// Slot index, below [`SLOTS`].
    pub slot: usize,
    /// Words of the upload this copy carries.
    pub range: Range<usize>,
}

/// Which slot carries which words: chunks of at most `slot_words` words, in order, each on the
/// slot after the previous copy's (across uploads too, so back-to-back uploads alternate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotRing {
    slot_words: usize,
    next: usize,
}

impl SlotRing {
    /// A ring whose slots hold at most `slot_words` words each (`None` for 0).
    pub fn new(slot_words: usize) -> Option<Self> {
        (slot_words > 0).then_some(Self {
            slot_words,
            next: 0,
        })
    }

    /// The cap of one slot in words.
    pub fn slot_words(&self) -> usize {
        self.slot_words
    }

    /// The copies of an upload of `len` words (none for 0); advances the ring.
    pub fn schedule(&mut self, len: usize) -> Vec<StagedCopy> {
        (0..len)
            .step_by(self.slot_words)
            .map(|start| {
                let slot = self.next;
                self.next = (self.next + 1) % SLOTS;
                StagedCopy {
                    slot,
                    range: start..(start + self.slot_words).min(len),
                }
            })
            .collect()
    }
}

/// The capacity a slot of `current` words needs to take `needed` words: unchanged when it
/// already fits, else the next power of two (at least [`MIN_SLOT_WORDS`], at most `slot_words`,
/// never below `needed`).
pub fn grown_capacity(current: usize, needed: usize, slot_words: usize) -> usize {
    if needed <= current {
        return current;
    }
    needed
        .checked_next_power_of_two()
        .unwrap_or(needed)
        .max(MIN_SLOT_WORDS)
        .min(slot_words)
        .max(needed)
}

/// What the host must do before writing a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotPrep {
    /// Wait on the slot's event first: a copy from it may still be in flight.
    pub wait: bool,
    /// Free the slot and allocate this many words (after the wait).
    pub grow_to: Option<usize>,
}

/// A slot's bookkeeping: its capacity and whether a copy from it may be in flight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlotState {
    capacity: usize,
    in_flight: bool,
}

impl SlotState {
    /// Words the slot holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether a copy from the slot may still be in flight.
    pub fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// The host is about to write `len` words: wait for the copy in flight (if any), then grow
    /// if the slot is too small. Afterwards no copy from the slot is in flight.
    pub fn prepare(&mut self, len: usize, slot_words: usize) -> SlotPrep {
        let wait = std::mem::take(&mut self.in_flight);
        let grown = grown_capacity(self.capacity, len, slot_words);
        SlotPrep {
            wait,
            grow_to: (grown != self.capacity).then_some(grown),
        }
    }

    /// The slot now holds `capacity` words (0: freed, or its allocation failed).
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
    }

    /// A copy from the slot was queued.
    pub fn queued(&mut self) {
        self.in_flight = true;
    }

    /// The stream was synchronized: no copy from the slot is in flight.
    pub fn drained(&mut self) {
        self.in_flight = false;
    }
}

/// Counters of a backend's uploads ([`CudaBackend::staging_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StagingStats {
    /// Copies queued from a pinned slot.
    pub pinned_copies: u64,
    /// Copies from pageable memory (pinned uploads off, or a slot could not be allocated).
    pub pageable_copies: u64,
    /// Pinned allocations that failed; each fell back to a pageable copy.
    pub pinned_alloc_failures: u64,
    /// Current capacity of each slot in words (0 until first used).
    pub slot_words: [usize; SLOTS],
}

/// Where an upload's words come from.
pub(crate) enum UploadSource<'a> {
    /// Words uploaded as they are.
    Words(&'a [u32]),
    /// A row-major `height x width` matrix of words, uploaded column-major.
    RowMajor {
        words: &'a [u32],
        height: usize,
        width: usize,
    },
}

impl UploadSource<'_> {
    /// Words uploaded.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Words(w) => w.len(),
            Self::RowMajor { height, width, .. } => height * width,
        }
    }

    /// The upload's words as they are in host memory, when no transpose is needed.
    pub(crate) fn contiguous(&self) -> Option<&[u32]> {
        match self {
            Self::Words(w) => Some(w),
            Self::RowMajor { .. } => None,
        }
    }

    /// Write words `[start, start + out.len())` of the upload into `out`.
    pub(crate) fn fill(&self, start: usize, out: &mut [u32]) {
        match self {
            Self::Words(w) => {
                // Parallel: one core's memcpy bandwidth is well below what PCIe and the
                // host's memory sustain.
                const PIECE: usize = 1 << 18;
                let src = &w[start..start + out.len()];
                out.par_chunks_mut(PIECE)
                    .zip(src.par_chunks(PIECE))
                    .for_each(|(o, s)| o.copy_from_slice(s));
            }
            Self::RowMajor {
                words,
                height,
                width,
            } => columns_range_into(words, *height, *width, start, out),
        }
    }
}

/// Page-locked host memory of one slot (cuMemHostAlloc, flags 0) and the event recorded after
/// the last copy that reads it.
///
/// Not cudarc's `alloc_pinned`: that allocates write-combined memory, which the CPU reads
/// uncached and writes efficiently only in sequential full lines; the row-major to column-major
/// transpose writes into the slot directly, which wants ordinary cached memory.
struct PinnedSlot {
    ctx: Arc<CudaContext>,
    ptr: *mut u32,
    event: Option<CudaEvent>,
    state: SlotState,
}

// SAFETY: the slot exclusively owns its allocation (nothing else holds `ptr`), and the backend
// reaches it only through `&mut` under its `Mutex<Staging>`; page-locked memory may be used and
// freed from any thread of the process.
unsafe impl Send for PinnedSlot {}

impl PinnedSlot {
    fn empty(ctx: Arc<CudaContext>) -> Self {
        Self {
            ctx,
            ptr: std::ptr::null_mut(),
            event: None,
            state: SlotState::default(),
        }
    }

    /// Block until the last copy from the slot has run.
    fn wait(&self) -> Result<()> {
        if let Some(event) = &self.event {
            event.synchronize()?;
        }
        Ok(())
    }

    /// Free the memory. The caller has waited on the slot's event (no copy from it in flight).
    fn free(&mut self) -> Result<()> {
        if self.ptr.is_null() {
            return Ok(());
        }
        self.ctx.bind_to_thread()?;
        // SAFETY: `ptr` came from `malloc_host` and is freed once (nulled below); no copy reads
        // it (the caller waited, see above) and no host reference into it outlives `&mut self`.
        unsafe { result::free_host(self.ptr.cast()) }?;
        self.ptr = std::ptr::null_mut();
        self.state.set_capacity(0);
        Ok(())
    }

    /// Allocate `words` words of page-locked memory (the slot is empty), zeroed so that every
    /// word the host may view is initialized.
    fn allocate(&mut self, words: usize) -> std::result::Result<(), DriverError> {
        debug_assert!(self.ptr.is_null());
        self.ctx.bind_to_thread()?;
        // SAFETY: a plain allocation; flags 0 = page-locked, cached, not write-combined, not
        // mapped into the device's address space.
        let ptr = unsafe { result::malloc_host(words * size_of::<u32>(), 0) }?.cast::<u32>();
        if ptr.is_null() {
            return Err(DriverError(
                cudarc::driver::sys::cudaError_enum::CUDA_ERROR_OUT_OF_MEMORY,
            ));
        }
        // SAFETY: `ptr` is a fresh, page-aligned allocation of `words` u32 words.
        unsafe { std::ptr::write_bytes(ptr, 0, words) };
        self.ptr = ptr;
        self.state.set_capacity(words);
        Ok(())
    }

    /// The first `len` words, for the host to write.
    fn words_mut(&mut self, len: usize) -> Result<&mut [u32]> {
        if len > self.state.capacity() || self.ptr.is_null() {
            return Err(Error::InvalidShape(format!(
                "{len} words staged in a pinned slot of {}",
                self.state.capacity()
            )));
        }
        // SAFETY: `ptr` holds `capacity >= len` initialized words (zeroed at allocation) owned by
        // this slot; `&mut self` makes this the only host reference, and no copy reads the memory
        // now: the caller ran `SlotState::prepare` and waited when it said so. The reference
        // ends before the copy from it is queued, and the memory is not written again until that
        // copy's event has been waited on.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.ptr, len) })
    }

    /// Record the slot's event on `stream` after the copy just queued from it.
    fn record(&mut self, stream: &CudaStream) -> Result<()> {
        if self.event.is_none() {
            // Blocking sync: a wait lasts as long as a copy of up to a slot (milliseconds), and
            // a spinning host would take a core from the work running beside it.
            self.event = Some(
                self.ctx
                    .new_event(Some(CUevent_flags::CU_EVENT_BLOCKING_SYNC))?,
            );
        }
        if let Some(event) = &self.event {
            event.record(stream)?;
        }
        Ok(())
    }

    /// Give the memory up without freeing it: used when it cannot be established that no DMA
    /// still reads it (a leak is safe, a free under a DMA is not).
    fn abandon(&mut self) {
        self.ptr = std::ptr::null_mut();
        self.state = SlotState::default();
    }
}

impl Drop for PinnedSlot {
    fn drop(&mut self) {
        // Not through cudarc's `bind_to_thread` (as `wait` and `free` go): it returns, and
        // clears, an error some other call recorded on the context, so the drop would both
        // lose that error and leak the slot. Errors of the drop itself are recorded; drop
        // cannot return them.
        crate::backend::bind_context(&self.ctx);
        if let Some(event) = &self.event {
            // SAFETY: the event is alive (owned by the slot) and its context is current.
            let drained = unsafe { result::event::synchronize(event.cu_event()) };
            if let Err(e) = drained {
                // Whether the last copy has run cannot be established: leak rather than free
                // under a DMA.
                self.ctx.record_err(Err::<(), _>(e));
                self.abandon();
            }
        }
        if !self.ptr.is_null() {
            // SAFETY: `ptr` came from `malloc_host`, no copy reads it (its event completed)
            // and it is freed once (nulled below).
            let freed = unsafe { result::free_host(self.ptr.cast()) };
            self.ctx.record_err(freed);
            self.ptr = std::ptr::null_mut();
        }
    }
}

/// A backend's staging slots and their schedule.
pub(crate) struct Staging {
    ring: SlotRing,
    slots: [PinnedSlot; SLOTS],
    stats: StagingStats,
}

impl Staging {
    pub(crate) fn new(ctx: &Arc<CudaContext>, slot_words: usize) -> Result<Self> {
        let ring = SlotRing::new(slot_words)
            .ok_or_else(|| Error::InvalidOptions("staging_slot_words must be at least 1".into()))?;
        Ok(Self {
            ring,
            slots: std::array::from_fn(|_| PinnedSlot::empty(ctx.clone())),
            stats: StagingStats::default(),
        })
    }

    pub(crate) fn stats(&self) -> StagingStats {
        StagingStats {
            slot_words: std::array::from_fn(|i| self.slots[i].state.capacity()),
            ..self.stats
        }
    }

    pub(crate) fn count_pageable(&mut self) {
        self.stats.pageable_copies += 1;
    }
}

impl CudaBackend {
    /// Upload `src` into `dst` (`src.len()` words) through this backend's pinned slots, chunk
    /// by chunk as [`SlotRing::schedule`] says; returns once every copy is queued.
    pub(crate) fn upload_staged(
        &self,
        staging: &mut Staging,
        src: &UploadSource<'_>,
        dst: &mut CudaSlice<u32>,
    ) -> Result<()> {
        let slot_words = staging.ring.slot_words();
        for StagedCopy { slot, range } in staging.ring.schedule(src.len()) {
            let Staging { slots, stats, .. } = &mut *staging;
            let slot = &mut slots[slot];
            let prep = slot.state.prepare(range.len(), slot_words);
            if prep.wait
                && let Err(e) = slot.wait()
            {
                // The copy may still be running and the slot no longer says so: give the
                // memory up rather than write or free it under a DMA.
                slot.abandon();
                return Err(e);
            }
            if let Some(words) = prep.grow_to {
                // The wait above guarantees no copy reads the old memory.
                slot.free()?;
                if slot.allocate(words).is_err() {
                    stats.pinned_alloc_failures += 1;
                    stats.pageable_copies += 1;
                    self.copy_pageable(src, range, dst)?;
                    continue;
                }
            }
            let host = slot.words_mut(range.len())?;
            src.fill(range.start, host);
            let copied = self.copy_htod(host, dst, range.start);
            // Even when the call (or its profiling events) failed, a DMA may now read the slot:
            // the slot's event must cover it before the slot is written or freed again.
            slot.state.queued();
            if let Err(e) = slot.record(self.stream()) {
                // Without a recorded event a later wait would not cover this copy: drain the
                // stream instead, or else give the memory up.
                if self.stream().synchronize().is_ok() {
                    slot.state.drained();
                } else {
                    slot.abandon();
                }
                return Err(e);
            }
            copied?;
            stats.pinned_copies += 1;
        }
        Ok(())
    }

    /// Copy words `range` of `src` into `dst` from pageable memory (the driver stages them
    /// before the call returns, so a temporary transpose buffer may be dropped right after).
    pub(crate) fn copy_pageable(
        &self,
        src: &UploadSource<'_>,
        range: Range<usize>,
        dst: &mut CudaSlice<u32>,
    ) -> Result<()> {
        match src.contiguous() {
            Some(words) => self.copy_htod(&words[range.clone()], dst, range.start),
            None => {
                let mut words = vec![0u32; range.len()];
                src.fill(range.start, &mut words);
                self.copy_htod(&words, dst, range.start)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every schedule covers its upload exactly once, in order, in chunks of at most the cap.
    #[test]
    fn schedule_covers_each_upload_once_in_order() {
        for cap in [1, 2, 3, 7, 64, 1000] {
            let mut ring = SlotRing::new(cap).unwrap();
            for len in [
                0,
                1,
                2,
                cap - 1,
                cap,
                cap + 1,
                2 * cap,
                2 * cap + 1,
                7 * cap + 3,
            ] {
                let copies = ring.schedule(len);
                let mut next = 0;
                for c in &copies {
                    assert_eq!(c.range.start, next, "cap {cap} len {len}: gap or overlap");
                    assert!(!c.range.is_empty() && c.range.len() <= cap);
                    assert!(c.slot < SLOTS);
                    next = c.range.end;
                }
                assert_eq!(next, len, "cap {cap} len {len}: not covered");
                assert_eq!(copies.len(), len.div_ceil(cap));
            }
        }
    }

    /// Consecutive copies alternate slots, within an upload and across uploads.
    #[test]
    fn slots_alternate_across_uploads() {
        let mut ring = SlotRing::new(4).unwrap();
        let slots: Vec<usize> = [9, 0, 1, 4, 5, 3]
            .into_iter()
            .flat_map(|len| ring.schedule(len))
            .map(|c| c.slot)
            .collect();
        assert_eq!(slots.len(), 3 + 1 + 1 + 2 + 1);
        for (i, w) in slots.windows(2).enumerate() {
            assert_ne!(w[0], w[1], "copies {i} and {} share a slot", i + 1);
        }
        assert_eq!(slots[0], 0);
        assert!(SlotRing::new(0).is_none());
    }

    #[test]
    fn capacity_grows_to_powers_of_two_within_the_cap() {
        let cap = DEFAULT_SLOT_WORDS;
        assert_eq!(grown_capacity(0, 1, cap), MIN_SLOT_WORDS);
        assert_eq!(
            grown_capacity(0, MIN_SLOT_WORDS + 1, cap),
            2 * MIN_SLOT_WORDS
        );
        assert_eq!(grown_capacity(1 << 20, 5, cap), 1 << 20, "never shrinks");
        assert_eq!(grown_capacity(1 << 20, 1 << 20, cap), 1 << 20);
        assert_eq!(grown_capacity(1 << 20, (1 << 20) + 1, cap), 1 << 21);
        assert_eq!(grown_capacity(0, cap - 1, cap), cap);
        // A cap that is not a power of two (and below the minimum) bounds the growth.
        assert_eq!(grown_capacity(0, 3, 1000), 1000);
        assert_eq!(grown_capacity(0, 1000, 1000), 1000);
        for needed in 1..3000 {
            let c = grown_capacity(0, needed, 3000);
            assert!(c >= needed && c <= 3000);
        }
    }

    /// Drive the ring and the slot states through uploads of varied sizes, as the executor
    /// does, against a model of the copies in flight: a slot is never written while a copy
    /// from it may be in flight (it is waited on first), never freed without that wait, always
    /// large enough for its chunk, and its capacity never decreases.
    #[test]
    fn a_slot_is_rewritten_only_after_its_copy() {
        let cap = 1 << 16;
        let mut ring = SlotRing::new(cap).unwrap();
        let mut states = [SlotState::default(); SLOTS];
        // The model: which slots have a copy queued that nobody has waited for.
        let mut pending = [false; SLOTS];
        let mut waits = 0;
        let sizes = [5, 1, 70_000, 3 * cap + 17, 0, 2, cap, cap + 1, 100, 40_000];
        for len in sizes {
            for StagedCopy { slot, range } in ring.schedule(len) {
                let before = states[slot].capacity();
                let prep = states[slot].prepare(range.len(), cap);
                assert_eq!(
                    prep.wait, pending[slot],
                    "wait exactly when a copy is pending"
                );
                if prep.wait {
                    pending[slot] = false;
                    waits += 1;
                }
                if let Some(words) = prep.grow_to {
                    assert!(!pending[slot], "freed while a copy may read it");
                    assert!(words > before && words >= range.len() && words <= cap);
                    states[slot].set_capacity(words);
                }
                assert!(!pending[slot], "written while a copy may read it");
                assert!(states[slot].capacity() >= range.len());
                assert!(states[slot].capacity() >= before, "a slot shrank");
                states[slot].queued();
                pending[slot] = true;
                assert!(states[slot].in_flight());
            }
        }
        assert!(waits > 0);
        // Both slots ended up at the cap (a 3-chunk upload went through them).
        assert_eq!(states.map(|s| s.capacity()), [cap; SLOTS]);
    }

    #[test]
    fn a_drained_slot_needs_no_wait() {
        let mut s = SlotState::default();
        assert_eq!(
            s.prepare(10, 100),
            SlotPrep {
                wait: false,
                grow_to: Some(100)
            }
        );
        s.set_capacity(100);
        s.queued();
        s.drained();
        assert_eq!(
            s.prepare(10, 100),
            SlotPrep {
                wait: false,
                grow_to: None
            }
        );
    }

    #[test]
    fn sources_fill_any_range() {
        let words: Vec<u32> = (0..(3 << 18) + 5).collect();
        let src = UploadSource::Words(&words);
        let mut out = vec![0; (1 << 18) + 9];
        src.fill(17, &mut out);
        assert_eq!(out, words[17..17 + out.len()]);
        assert_eq!(src.contiguous(), Some(&words[..]));

        // 3 x 4 row-major: column-major is 0 4 8 | 1 5 9 | 2 6 10 | 3 7 11.
        let m: Vec<u32> = (0..12).collect();
        let src = UploadSource::RowMajor {
            words: &m,
            height: 3,
            width: 4,
        };
        assert_eq!(src.len(), 12);
        assert!(src.contiguous().is_none());
        let mut out = vec![0; 5];
        src.fill(2, &mut out);
        assert_eq!(out, [8, 1, 5, 9, 2]);
    }
}
