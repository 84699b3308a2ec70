//! The kernel runtime's seam (runtime/standin_runtime.h) called through dlopen, with device
//! buffers that are registered host vectors.
#![allow(dead_code)]

use std::ffi::{CStr, CString, c_char, c_void};
use std::sync::{Mutex, MutexGuard, OnceLock};

use libloading::Library;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Dim3 {
    pub x: u32,
    pub y: u32,
    pub z: u32,
}

pub const fn dim(x: u32) -> Dim3 {
    Dim3 { x, y: 1, z: 1 }
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub seed: u64,
    pub check_races: i32,
    pub check_bounds: i32,
    pub worker_threads: u32,
}

pub const CHECKED: Options = Options { seed: 1, check_races: 1, check_bounds: 1, worker_threads: 2 };

/// A launch that the runtime refused or that failed: the CUresult-style code and the message.
#[derive(Debug)]
pub struct LaunchError {
    pub code: i32,
    pub message: String,
}

type KernelPtr = *const c_void;

pub struct Runtime {
    lib: Library,
}

// Options are process-wide; tests that set them and launch hold this lock.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

impl Runtime {
    /// The test library (real kernels plus tests/kernels/*.cu), loaded once per test binary.
    pub fn get() -> &'static Runtime {
        static RT: OnceLock<Runtime> = OnceLock::new();
        RT.get_or_init(|| {
            // SAFETY: loading our own library; its constructors only register kernels.
            let lib = unsafe { Library::new(slotproof_cuda_standin::TEST_LIBRARY_PATH) }.expect("load the stand-in");
            Runtime { lib }
        })
    }

    fn sym<T: Copy>(&self, name: &[u8]) -> T {
        // SAFETY: the caller names a function of standin_runtime.h with its exact signature.
        unsafe { *self.lib.get::<T>(name).expect("runtime symbol") }
    }

    pub fn kernel_names(&self) -> Vec<String> {
        let count: unsafe extern "C" fn() -> usize = self.sym(b"standin_kernel_count");
        let at: unsafe extern "C" fn(usize) -> KernelPtr = self.sym(b"standin_kernel_at");
        let name: unsafe extern "C" fn(KernelPtr) -> *const c_char = self.sym(b"standin_kernel_name");
        // SAFETY: indices below the count give valid kernels with NUL-terminated names.
        unsafe { (0..count()).map(|i| CStr::from_ptr(name(at(i))).to_string_lossy().into_owned()).collect() }
    }

    pub fn find(&self, kernel: &str) -> Option<KernelPtr> {
        let find: unsafe extern "C" fn(*const c_char) -> KernelPtr = self.sym(b"standin_find_kernel");
        let c = CString::new(kernel).unwrap();
        // SAFETY: a NUL-terminated name.
        let k = unsafe { find(c.as_ptr()) };
        (!k.is_null()).then_some(k)
    }

    pub fn param_sizes(&self, kernel: &str) -> Vec<usize> {
        let k = self.find(kernel).expect("kernel registered");
        let count: unsafe extern "C" fn(KernelPtr) -> usize = self.sym(b"standin_kernel_param_count");
        let size: unsafe extern "C" fn(KernelPtr, usize) -> usize = self.sym(b"standin_kernel_param_size");
        // SAFETY: a registered kernel.
        unsafe { (0..count(k)).map(|i| size(k, i)).collect() }
    }

    pub fn max_threads(&self, kernel: &str) -> u32 {
        let k = self.find(kernel).expect("kernel registered");
        let f: unsafe extern "C" fn(KernelPtr) -> u32 = self.sym(b"standin_kernel_max_threads");
        // SAFETY: a registered kernel.
        unsafe { f(k) }
    }

    pub fn static_shared_bytes(&self, kernel: &str) -> usize {
        let k = self.find(kernel).expect("kernel registered");
        let f: unsafe extern "C" fn(KernelPtr) -> usize = self.sym(b"standin_kernel_static_shared_bytes");
        // SAFETY: a registered kernel.
        unsafe { f(k) }
    }

    pub fn set_options(&self, o: Options) {
        let f: unsafe extern "C" fn(*const Options) = self.sym(b"standin_set_options");
        // SAFETY: a valid options struct.
        unsafe { f(&o) }
    }

    /// Launches `kernel` with each parameter given as its bytes.
    pub fn launch(&self, kernel: &str, grid: Dim3, block: Dim3, dynamic_shared: u32, params: &[&[u8]]) -> Result<(), LaunchError> {
        let k = self.find(kernel).ok_or_else(|| LaunchError { code: -1, message: format!("no kernel {kernel}") })?;
        let launch: unsafe extern "C" fn(KernelPtr, Dim3, Dim3, u32, *mut *mut c_void, *mut c_char, usize) -> i32 =
            self.sym(b"standin_launch");
        // Parameter copies at 16-byte alignment, as kernelParams would point at typed values.
        let mut copies: Vec<Vec<u128>> = params.iter().map(|p| vec![0u128; p.len().div_ceil(16).max(1)]).collect();
        for (c, p) in copies.iter_mut().zip(params) {
            // SAFETY: the copy holds at least p.len() bytes.
            unsafe { std::ptr::copy_nonoverlapping(p.as_ptr(), c.as_mut_ptr().cast::<u8>(), p.len()) };
        }
        let mut ptrs: Vec<*mut c_void> = copies.iter_mut().map(|c| c.as_mut_ptr().cast()).collect();
        let mut msg = vec![0u8; 1024];
        // SAFETY: ptrs names one buffer per parameter; msg is writable for its length.
        let code = unsafe { launch(k, grid, block, dynamic_shared, ptrs.as_mut_ptr(), msg.as_mut_ptr().cast(), msg.len()) };
        if code == 0 {
            return Ok(());
        }
        let message = CStr::from_bytes_until_nul(&msg).map(|c| c.to_string_lossy().into_owned()).unwrap_or_default();
        Err(LaunchError { code, message })
    }
}

/// A device buffer: a host vector registered as a device range while it lives.
pub struct DeviceBuf {
    pub words: Vec<u32>,
}

impl DeviceBuf {
    pub fn new(words: Vec<u32>) -> Self {
        let rt = Runtime::get();
        let f: unsafe extern "C" fn(*const c_void, usize) = rt.sym(b"standin_register_device_range");
        // SAFETY: the vector's storage stays put until drop (it is never resized).
        unsafe { f(words.as_ptr().cast(), words.len() * 4) };
        DeviceBuf { words }
    }
    pub fn zeroed(n: usize) -> Self {
        Self::new(vec![0; n])
    }
    /// The device address (the kernel writes through it, hence the exclusive borrow).
    pub fn addr(&mut self) -> u64 {
        self.words.as_mut_ptr() as u64
    }
}

impl Drop for DeviceBuf {
    fn drop(&mut self) {
        let f: unsafe extern "C" fn(*const c_void) = Runtime::get().sym(b"standin_unregister_device_range");
        // SAFETY: unregisters the range registered in new().
        unsafe { f(self.words.as_ptr().cast()) };
    }
}

/// Bytes of a #[repr(C)] parameter struct.
pub fn bytes_of<T: Copy>(v: &T) -> Vec<u8> {
    // SAFETY: T is a plain #[repr(C)] struct without padding the kernel would read.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), size_of::<T>()) }.to_vec()
}
