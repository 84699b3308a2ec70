//! Driver probe: find out whether a usable CUDA driver and device exist *before* cudarc is used.
//!
//! cudarc (dynamic loading) panics when it first touches a driver function and libcuda cannot be
//! loaded. This module opens libcuda itself with `libloading`, calls `cuInit`,
//! `cuDriverGetVersion` and `cuDeviceGetCount` through their C entry points, and turns every
//! failure into a typed [`Error`].
//!
//! A driver whose `cuInit` ran stays loaded for the life of the process (a process-wide
//! [`OnceLock`]): unloading an initialised driver and letting cudarc load it again would run
//! its initialisers twice. `SLOTPROOF_CUDA_DRIVER=<path>` makes the probe load that exact file
//! (the stand-in driver of CI, or a particular libcuda) instead of searching; since it stays
//! loaded, cudarc's own `dlopen("libcuda.so.1")` finds the same library by its SONAME
//! ([`CudaBackend`](crate::CudaBackend) checks that it did).

use std::ffi::{CStr, c_char};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use libloading::Library;

use crate::error::{Error, Result};

/// Names tried, in order, for the driver library.
#[cfg(not(windows))]
pub const DRIVER_LIBRARIES: &[&str] = &["libcuda.so.1", "libcuda.so"];
/// Names tried, in order, for the driver library.
#[cfg(windows)]
pub const DRIVER_LIBRARIES: &[&str] = &["nvcuda.dll"];

/// Environment variable naming the exact driver library to load (no search, no fallback).
pub const DRIVER_ENV: &str = "SLOTPROOF_CUDA_DRIVER";

/// Symbol only the stand-in driver (`crates/cuda-standin`) exports:
/// `const char* slotproof_standin_driver(void)`, a description of itself.
pub const STANDIN_SYMBOL: &str = "slotproof_standin_driver";

/// The kernels are built with CUDA 13.0: the driver must be at least that (13000).
pub const REQUIRED_DRIVER_VERSION: i32 = 13000;

/// What the probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverInfo {
    /// Library that loaded: a name from [`DRIVER_LIBRARIES`] or the `SLOTPROOF_CUDA_DRIVER` path.
    pub library: String,
    /// cuDriverGetVersion (e.g. 13000).
    pub driver_version: i32,
    /// cuDeviceGetCount.
    pub device_count: i32,
    /// `Some(description)` when the library is the stand-in driver, which runs the kernels on
    /// the CPU: nothing measured under it is a GPU figure.
    pub standin: Option<String>,
}

impl DriverInfo {
    /// Whether the driver is the CPU stand-in rather than a real CUDA driver.
    pub fn is_standin(&self) -> bool {
        self.standin.is_some()
    }
}

/// A driver library kept loaded for the rest of the process, with what the probe found.
struct LoadedDriver {
    library: Library,
    info: DriverInfo,
}

/// The driver the first successful probe loaded. Never dropped.
static DRIVER: OnceLock<LoadedDriver> = OnceLock::new();

/// Libraries whose `cuInit` ran but whose probe failed later (too old, no device): unloading
/// an initialised driver is what this module avoids, so they are kept too.
static INITIALISED: Mutex<Vec<Library>> = Mutex::new(Vec::new());

type CuInit = unsafe extern "C" fn(flags: u32) -> i32;
type CuIntOut = unsafe extern "C" fn(out: *mut i32) -> i32;
type StandinDescription = unsafe extern "C" fn() -> *const c_char;

/// Probe for a CUDA driver with at least one device: the file `SLOTPROOF_CUDA_DRIVER` names
/// when set, else [`DRIVER_LIBRARIES`] through the loader's search. Never panics and never calls
/// into cudarc. After the first success the same answer is returned without loading again.
pub fn probe_driver() -> Result<DriverInfo> {
    let exact = std::env::var_os(DRIVER_ENV)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    probe_with(exact)
}

/// [`probe_driver`] as if `SLOTPROOF_CUDA_DRIVER` named `path` (without touching the
/// environment): load that exact library and keep it for the process. Tests use it to select
/// the stand-in driver when no real one is present. After any successful probe, the driver
/// already loaded is returned instead (one driver per process).
pub fn probe_driver_file(path: impl Into<PathBuf>) -> Result<DriverInfo> {
    probe_with(Some(path.into()))
}

fn probe_with(exact: Option<PathBuf>) -> Result<DriverInfo> {
    if let Some(loaded) = DRIVER.get() {
        return Ok(loaded.info.clone());
    }
    // Serialise probes: two threads must not initialise two different libraries.
    static PROBING: Mutex<()> = Mutex::new(());
    let _guard = PROBING.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(loaded) = DRIVER.get() {
        return Ok(loaded.info.clone());
    }
    let loaded = match exact {
        Some(path) => load_exact(path)?,
        None => load_searched()?,
    };
    let info = loaded.info.clone();
    // Cannot be set already: this thread holds the probe lock and found it empty.
    let _ = DRIVER.set(loaded);
    Ok(info)
}

fn load_exact(path: PathBuf) -> Result<LoadedDriver> {
    // SAFETY: loading a driver library runs its initialisers; that is what any CUDA program does.
    match unsafe { Library::new(&path) } {
        Ok(lib) => probe_loaded(path.display().to_string(), lib),
        Err(e) => Err(Error::DriverFileNotLoadable {
            path,
            reason: e.to_string(),
        }),
    }
}

fn load_searched() -> Result<LoadedDriver> {
    let mut reasons = Vec::new();
    for &name in DRIVER_LIBRARIES {
        // SAFETY: as in `load_exact`.
        match unsafe { Library::new(name) } {
            Ok(lib) => return probe_loaded(name.to_string(), lib),
            Err(e) => reasons.push(e.to_string()),
        }
    }
    Err(Error::DriverNotFound {
        tried: DRIVER_LIBRARIES.to_vec(),
        reason: reasons.join("; "),
    })
}

/// Whether `lib` exports the stand-in's marker, and its description.
fn standin_description(lib: &Library) -> Option<String> {
    // SAFETY: the stand-in declares `extern "C" const char* slotproof_standin_driver(void)`,
    // returning a static NUL-terminated string (or null).
    unsafe {
        let f = lib
            .get::<StandinDescription>(STANDIN_SYMBOL.as_bytes())
            .ok()?;
        let p = f();
        Some(if p.is_null() {
            "stand-in driver".to_string()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        })
    }
}

fn probe_loaded(name: String, lib: Library) -> Result<LoadedDriver> {
    let missing = |symbol: &'static str| Error::DriverSymbolMissing {
        library: name.clone(),
        symbol,
    };
    // SAFETY: the symbol types match the CUDA driver API prototypes
    // (CUresult cuInit(unsigned int); CUresult cuDriverGetVersion(int*); CUresult cuDeviceGetCount(int*)).
    let (init, version, count) = unsafe {
        (
            *lib.get::<CuInit>(b"cuInit\0")
                .map_err(|_| missing("cuInit"))?,
            *lib.get::<CuIntOut>(b"cuDriverGetVersion\0")
                .map_err(|_| missing("cuDriverGetVersion"))?,
            *lib.get::<CuIntOut>(b"cuDeviceGetCount\0")
                .map_err(|_| missing("cuDeviceGetCount"))?,
        )
    };
    let mut driver_version = 0i32;
    // SAFETY: a valid out pointer; the function pointers stay valid while `lib` is alive.
    let rc = unsafe { version(&mut driver_version) };
    if rc != 0 {
        return Err(Error::DriverInitFailed(rc));
    }
    // SAFETY: as above.
    let rc = unsafe { init(0) };
    // CUDA_ERROR_NO_DEVICE = 100.
    if rc == 100 {
        return Err(Error::NoDevice);
    }
    if rc != 0 {
        return Err(Error::DriverInitFailed(rc));
    }
    // From here on the driver is initialised: whatever the verdict, it is never unloaded.
    let verdict = (|| {
        if driver_version < REQUIRED_DRIVER_VERSION {
            return Err(Error::DriverTooOld {
                found: driver_version,
                required: REQUIRED_DRIVER_VERSION,
            });
        }
        let mut device_count = 0i32;
        // SAFETY: as above.
        let rc = unsafe { count(&mut device_count) };
        if rc != 0 {
            return Err(Error::DriverInitFailed(rc));
        }
        if device_count <= 0 {
            return Err(Error::NoDevice);
        }
        Ok(device_count)
    })();
    match verdict {
        Ok(device_count) => Ok(LoadedDriver {
            info: DriverInfo {
                library: name,
                driver_version,
                device_count,
                standin: standin_description(&lib),
            },
            library: lib,
        }),
        Err(e) => {
            INITIALISED
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(lib);
            Err(e)
        }
    }
}

/// Whether cudarc's driver library is the one the probe loaded (the same `cuInit`), so that
/// what [`DriverInfo`] says (the stand-in or not) is what cudarc runs. cudarc searches its own
/// list of names (`libcuda.so` first), which can find another library than an exact
/// `SLOTPROOF_CUDA_DRIVER` file.
pub(crate) fn cudarc_uses_probed_driver() -> Result<()> {
    let Some(ours) = DRIVER.get() else {
        return Err(Error::DriverMismatch {
            probed: "nothing (the probe has not succeeded)".into(),
        });
    };
    // cudarc panics when it finds no library at all; the probe's library is loaded, so that
    // would only happen for a file whose SONAME is none of cudarc's names.
    let theirs = std::panic::catch_unwind(|| {
        // SAFETY: loads (or returns) cudarc's process-wide driver library.
        unsafe { cudarc::driver::sys::culib() }
    });
    let same = theirs.ok().is_some_and(|theirs| {
        // SAFETY: only the addresses of the symbols are compared; nothing is called.
        unsafe {
            match (
                ours.library.get::<CuInit>(b"cuInit\0"),
                theirs.get::<CuInit>(b"cuInit\0"),
            ) {
                (Ok(a), Ok(b)) => *a as usize == *b as usize,
                _ => false,
            }
        }
    });
    if same {
        Ok(())
    } else {
        Err(Error::DriverMismatch {
            probed: ours.info.library.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_driver_file_is_a_typed_error_naming_it() {
        let path = PathBuf::from("/nonexistent/slotproof/libcuda.so.1");
        match load_exact(path.clone()) {
            Err(Error::DriverFileNotLoadable { path: p, .. }) => assert_eq!(p, path),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("a missing file loaded"),
        }
    }

    #[test]
    fn a_library_without_the_driver_api_is_a_typed_error() {
        // libm is on every Linux machine and exports no cu* symbol.
        let Ok(lib) = (unsafe { Library::new("libm.so.6") }) else {
            eprintln!("SKIP a_library_without_the_driver_api_is_a_typed_error: no libm.so.6");
            return;
        };
        match probe_loaded("libm.so.6".into(), lib) {
            Err(Error::DriverSymbolMissing { library, symbol }) => {
                assert_eq!(library, "libm.so.6");
                assert_eq!(symbol, "cuInit");
            }
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("libm passed the driver probe"),
        }
    }
}
