//! Errors of the CUDA backend.

use cudarc::driver::DriverError;

/// Everything that can go wrong in this crate. Nothing here panics on a machine without a GPU:
/// the driver is probed before cudarc is touched.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No loadable CUDA driver library (libcuda) on this machine.
    #[error("CUDA driver library not found (tried {tried:?}): {reason}")]
    DriverNotFound {
        /// Library names that were tried.
        tried: Vec<&'static str>,
        /// The loader's message for the last attempt.
        reason: String,
    },
    /// The file `SLOTPROOF_CUDA_DRIVER` names could not be loaded.
    #[error("CUDA driver {path} (SLOTPROOF_CUDA_DRIVER) could not be loaded: {reason}")]
    DriverFileNotLoadable {
        /// The path from the environment.
        path: std::path::PathBuf,
        /// The loader's message.
        reason: String,
    },
    /// cudarc loaded another driver library than the one the probe checked (for example an
    /// exact `SLOTPROOF_CUDA_DRIVER` file while cudarc's search found a system libcuda first).
    #[error(
        "cudarc loaded a different CUDA driver library than the probe ({probed}); give the driver's SONAME libcuda.so.1 and make it the first one cudarc finds"
    )]
    DriverMismatch {
        /// The library the probe loaded.
        probed: String,
    },
    /// libcuda loaded but a required entry point is missing.
    #[error("CUDA driver library {library} lacks symbol {symbol}")]
    DriverSymbolMissing {
        /// Library that was loaded.
        library: String,
        /// Missing symbol.
        symbol: &'static str,
    },
    /// The driver is present but cuInit failed (for example no device, or a driver/kernel module mismatch).
    #[error("cuInit failed with CUresult {0}")]
    DriverInitFailed(i32),
    /// The driver works but reports no CUDA device.
    #[error("no CUDA device present")]
    NoDevice,
    /// The driver is older than the CUDA version the kernels were built for.
    #[error("CUDA driver version {found} is older than the required {required}")]
    DriverTooOld {
        /// cuDriverGetVersion, e.g. 13000 for 13.0.
        found: i32,
        /// The minimum version.
        required: i32,
    },
    /// This build of the crate carries no kernels (nvcc was not found at build time).
    #[error(
        "slotproof-cuda was built without kernels (nvcc not found at build time; run scripts/install-nvcc.sh and rebuild)"
    )]
    KernelsNotBuilt,
    /// A kernel the host code needs is not in the embedded modules.
    #[error("kernel {0} not found in the embedded modules")]
    KernelMissing(String),
    /// Neither the cubin nor the PTX of a module could be loaded.
    #[error("could not load module {module}: cubin: {cubin}; ptx: {ptx}")]
    ModuleLoad {
        /// Module (kernels/<module>.cu).
        module: &'static str,
        /// Error loading the sm_90 cubin.
        cubin: DriverError,
        /// Error loading the compute_90 PTX.
        ptx: DriverError,
    },
    /// A CUDA driver call failed.
    #[error("CUDA driver error: {0}")]
    Driver(#[from] DriverError),
    /// A kernel launch or its execution failed; `kernel` names it.
    #[error("kernel {kernel} failed: {source}")]
    Launch {
        /// Kernel name.
        kernel: &'static str,
        /// Driver error.
        source: DriverError,
    },
    /// A launch whose block shape is not the one the kernel is written for
    /// ([`crate::launch::KernelBlock`]).
    #[error("kernel {kernel} launched with block {block:?}: {expected}")]
    LaunchShape {
        /// Kernel name.
        kernel: &'static str,
        /// The block dimensions asked for.
        block: (u32, u32, u32),
        /// What the kernel needs.
        expected: String,
    },
    /// A device address a kernel reads or writes with vector accesses is not aligned to them.
    #[error("kernel {kernel}: {what} at {address:#x} is not {align}-byte aligned")]
    Misaligned {
        /// Kernel name.
        kernel: &'static str,
        /// Which argument.
        what: &'static str,
        /// The device address.
        address: u64,
        /// Alignment the kernel's vector accesses need.
        align: u64,
    },
    /// NTT tile limits the device or the kernel cannot run (shared memory, registers, threads).
    #[error("invalid NTT limits: {0}")]
    InvalidNttLimits(String),
    /// Backend options that cannot be used (for example a zero staging slot).
    #[error("invalid backend options: {0}")]
    InvalidOptions(String),
    /// Arguments of the wrong shape (sizes, heights, widths).
    #[error("invalid shape: {0}")]
    InvalidShape(String),
    /// A proof-of-work difficulty the field cannot meet (`2^bits` must be below p).
    #[error("proof-of-work difficulty of {bits} bits is not below the field size (p = {prime})")]
    PowDifficulty {
        /// Requested bits.
        bits: usize,
        /// The field's prime.
        prime: u32,
    },
    /// No element of the field passes the proof-of-work check.
    #[error("no proof-of-work witness of {bits} bits exists in the field")]
    NoPowWitness {
        /// Requested bits.
        bits: usize,
    },
    /// A shard's device memory plan exceeds the memory available.
    #[error("shard needs {needed} bytes of device memory at its peak, {available} available")]
    OutOfDeviceMemory {
        /// Peak bytes the plan needs.
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// The LogUp trace of a witness does not exist: Plonky3's `LogUpGadget` panics on it (the
    /// first failing row, then lookup, as the kernel's `atomicMin` reports it).
    #[error("LogUp trace: row {row}, lookup {lookup}: {failure}")]
    LogUpWitness {
        /// Trace row.
        row: usize,
        /// Lookup slot.
        lookup: usize,
        /// What is wrong there.
        failure: crate::logup::LogUpFailure,
    },
    /// A downloaded word is not a canonical Montgomery value (>= p): a kernel bug or unwritten memory.
    #[error("device returned a non-canonical field word {value:#x} at index {index}")]
    NonCanonical {
        /// Offending word.
        value: u32,
        /// Its index in the downloaded buffer.
        index: usize,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
