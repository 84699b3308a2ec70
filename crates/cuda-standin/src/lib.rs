//! The stand-in CUDA driver: a shared library (`libcuda.so.1`) that exports the driver API subset
//! cudarc and `slotproof-cuda` call, and runs the real `kernels/*.cu`, compiled for the host, on
//! the CPU. It exists so that CI, which has no GPU, runs the unchanged CUDA backend.
//!
//! The library is built by this crate's build script; [`LIBRARY_PATH`] is where it is. Anything
//! run under it is a CPU figure, never a GPU one.

/// Absolute path of the built stand-in driver library (SONAME `libcuda.so.1`).
pub const LIBRARY_PATH: &str = env!("SLOTPROOF_STANDIN_LIBRARY");

/// The same library plus the runtime's purpose-written faulty test kernels
/// (`tests/kernels/*.cu`), for the runtime's own tests only (SONAME `libcuda-standin-test.so`).
#[doc(hidden)]
pub const TEST_LIBRARY_PATH: &str = env!("SLOTPROOF_STANDIN_TEST_LIBRARY");
