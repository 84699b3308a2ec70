//! Shared by the driver tests: load the stand-in once per process (cudarc's own
//! `dlopen("libcuda.so.1")` then finds it by SONAME), the stand-in's own exports, and a PTX
//! module naming real kernels of `kernels/*.cu` with their nvcc parameter layouts.
#![allow(dead_code)]

use std::ffi::CStr;
use std::sync::{Arc, OnceLock};

use cudarc::driver::sys::CUresult;
use cudarc::driver::{CudaContext, DeviceRepr, DriverError};
use libloading::Library;

/// `standin_options` of runtime/standin_runtime.h.
#[repr(C)]
#[derive(Default)]
struct RuntimeOptions {
    seed: u64,
    check_races: i32,
    check_bounds: i32,
    worker_threads: u32,
}

/// The stand-in, loaded for the life of the process (never unloaded under cudarc).
pub fn standin() -> &'static Library {
    static LIB: OnceLock<Library> = OnceLock::new();
    LIB.get_or_init(|| {
        let path = slotproof_cuda_standin::LIBRARY_PATH;
        // SAFETY: loading the stand-in runs only its C++ static initialisers.
        let lib = unsafe { Library::new(path) }
            .unwrap_or_else(|e| panic!("load the stand-in {path}: {e}"));
        // Blocks run on the launching thread only: the runtime's pool threads wait on a static
        // condition variable that exit() then destroys, which hangs the process at exit
        // (reported with the driver branch; remove once the runtime's pool shuts down).
        // SAFETY: the runtime's prototypes `void standin_get_options(standin_options*)` and
        // `void standin_set_options(const standin_options*)`, with a #[repr(C)] mirror.
        unsafe {
            let get = lib
                .get::<unsafe extern "C" fn(*mut RuntimeOptions)>(b"standin_get_options\0")
                .expect("standin_get_options is exported");
            let set = lib
                .get::<unsafe extern "C" fn(*const RuntimeOptions)>(b"standin_set_options\0")
                .expect("standin_set_options is exported");
            let mut options = RuntimeOptions::default();
            get(&mut options);
            options.worker_threads = 1;
            set(&options);
        }
        lib
    })
}

/// The primary context of device 0, through cudarc, on the stand-in.
pub fn context() -> Arc<CudaContext> {
    standin();
    CudaContext::new(0).expect("the stand-in's primary context")
}

/// `slotproof_standin_driver()`: the string that marks results as the stand-in's.
pub fn driver_string() -> String {
    // SAFETY: the export's prototype is `const char* slotproof_standin_driver(void)`; it
    // returns a static NUL-terminated string.
    unsafe {
        let f = standin()
            .get::<unsafe extern "C" fn() -> *const std::ffi::c_char>(b"slotproof_standin_driver\0")
            .expect("slotproof_standin_driver is exported");
        CStr::from_ptr(f()).to_string_lossy().into_owned()
    }
}

/// `slotproof_standin_set_memory_limit(bytes)`: the device's memory size from now on.
pub fn set_memory_limit(bytes: u64) {
    // SAFETY: the export's prototype is `void slotproof_standin_set_memory_limit(uint64_t)`.
    unsafe {
        let f = standin()
            .get::<unsafe extern "C" fn(u64)>(b"slotproof_standin_set_memory_limit\0")
            .expect("slotproof_standin_set_memory_limit is exported");
        f(bytes)
    }
}

/// The error code of a failed call (panics on success, naming what was expected).
pub fn code<T>(r: Result<T, DriverError>, expected: &str) -> CUresult {
    match r {
        Ok(_) => panic!("expected {expected}, the call succeeded"),
        Err(e) => e.0,
    }
}

/// `FillParams` of kernels/params.cuh: `fill_u32` writes `value` to `n` words at `dst`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FillParams {
    pub dst: u64,
    pub n: u64,
    pub value: u32,
    pub pad: u32,
}
// SAFETY: plain #[repr(C)] data, laid out as the kernel's struct (24 bytes, align 8).
unsafe impl DeviceRepr for FillParams {}

/// Entries of real kernels with the parameter layouts nvcc gives them (`FillParams`: 24 bytes;
/// `FriFoldParams`: 64 bytes, `__launch_bounds__(256)`). The bodies do nothing; the stand-in
/// binds the entries to the host-compiled kernels by name.
pub const KERNELS_PTX: &str = r#"
// Written for the stand-in driver tests.
.version 9.0
.target sm_90
.address_size 64

.visible .entry fill_u32(
	.param .align 8 .b8 fill_u32_param_0[24]
)
{
	ret;
}

.visible .entry fri_fold_bb(
	.param .align 8 .b8 fri_fold_bb_param_0[64]
)
.maxntid 256, 1, 1
{
	ret;
}
"#;
