//! A shard proof's device memory, planned before anything is launched.
//!
//! The planner itself is pure arithmetic on table shapes and lives in
//! [`slotproof_prover::device_memory`] (always compiled, so CPU runs report it too); this module
//! re-exports it with the crate's error type and checks a shard against a device's free memory
//! ([`CudaBackend::fit_shard`]).

use crate::backend::CudaBackend;
use crate::error::{Error, Result};
use crate::quotient::DeviceProgram;

pub use slotproof_prover::device_memory::{
    DEFAULT_QUOTIENT_MAX_THREADS, Fit, MemoryPlan, OutOfDeviceMemory, Phase, ShardShape,
    TableShape, plan, quotient_threads,
};

impl From<OutOfDeviceMemory> for Error {
    fn from(e: OutOfDeviceMemory) -> Self {
        Error::OutOfDeviceMemory {
            needed: e.needed,
            available: e.available,
        }
    }
}

/// [`slotproof_prover::device_memory::fit`] with this crate's error.
pub fn fit(shape: &ShardShape, available: u64) -> Result<Fit> {
    Ok(slotproof_prover::device_memory::fit(shape, available)?)
}

/// The shape of a table from its lowered program (the register file the kernel really uses).
pub fn table_shape(
    name: impl Into<String>,
    log_height: usize,
    program: &DeviceProgram,
    log_quotient_chunks: usize,
    scales_with_shard: bool,
) -> TableShape {
    TableShape {
        name: name.into(),
        log_height,
        main_width: program.main_width,
        permutation_width: program.permutation_width,
        log_quotient_chunks,
        scratch_words_per_thread: program.scratch_words_per_thread(),
        scales_with_shard,
    }
}

impl CudaBackend {
    /// [`fit`] against the device's free memory less `headroom` bytes (kept for the context,
    /// the kernels' modules and allocator granularity).
    pub fn fit_shard(&self, shape: &ShardShape, headroom: u64) -> Result<Fit> {
        let (free, _) = self.mem_info()?;
        fit(shape, (free as u64).saturating_sub(headroom))
    }
}
