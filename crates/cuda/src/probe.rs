//! Driver probe: find out whether a usable CUDA driver and device exist *before* cudarc is used.
//!
//! cudarc (dynamic loading) panics when it first touches a driver function and libcuda cannot be
//! loaded. This module opens libcuda itself with `libloading`, calls `cuInit`,
//! `cuDriverGetVersion` and `cuDeviceGetCount` through their C entry points, and turns every
//! failure into a typed [`Error`].

use libloading::Library;

use crate::error::{Error, Result};

/// Names tried, in order, for the driver library.
#[cfg(not(windows))]
pub const DRIVER_LIBRARIES: &[&str] = &["libcuda.so.1", "libcuda.so"];
/// Names tried, in order, for the driver library.
#[cfg(windows)]
pub const DRIVER_LIBRARIES: &[&str] = &["nvcuda.dll"];

/// The kernels are built with CUDA 13.0: the driver must be at least that (13000).
pub const REQUIRED_DRIVER_VERSION: i32 = 13000;

/// What the probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverInfo {
    /// Library that loaded.
    pub library: &'static str,
    /// cuDriverGetVersion (e.g. 13000).
    pub driver_version: i32,
    /// cuDeviceGetCount.
    pub device_count: i32,
}

type CuInit = unsafe extern "C" fn(flags: u32) -> i32;
type CuIntOut = unsafe extern "C" fn(out: *mut i32) -> i32;

/// Probe for a CUDA driver with at least one device. Never panics and never calls into cudarc.
pub fn probe_driver() -> Result<DriverInfo> {
    let mut reasons = Vec::new();
    for &name in DRIVER_LIBRARIES {
        // SAFETY: loading libcuda runs its initialisers; that is what any CUDA program does.
        let lib = match unsafe { Library::new(name) } {
            Ok(lib) => lib,
            Err(e) => {
                reasons.push(e.to_string());
                continue;
            }
        };
        return probe_loaded(name, &lib);
    }
    Err(Error::DriverNotFound {
        tried: DRIVER_LIBRARIES.to_vec(),
        reason: reasons.join("; "),
    })
}

fn probe_loaded(name: &'static str, lib: &Library) -> Result<DriverInfo> {
    // SAFETY: the symbol types match the CUDA driver API prototypes
    // (CUresult cuInit(unsigned int); CUresult cuDriverGetVersion(int*); CUresult cuDeviceGetCount(int*)).
    unsafe {
        let init: libloading::Symbol<CuInit> =
            lib.get(b"cuInit\0")
                .map_err(|_| Error::DriverSymbolMissing {
                    library: name,
                    symbol: "cuInit",
                })?;
        let version: libloading::Symbol<CuIntOut> =
            lib.get(b"cuDriverGetVersion\0")
                .map_err(|_| Error::DriverSymbolMissing {
                    library: name,
                    symbol: "cuDriverGetVersion",
                })?;
        let count: libloading::Symbol<CuIntOut> =
            lib.get(b"cuDeviceGetCount\0")
                .map_err(|_| Error::DriverSymbolMissing {
                    library: name,
                    symbol: "cuDeviceGetCount",
                })?;
        let mut driver_version = 0i32;
        let rc = version(&mut driver_version);
        if rc != 0 {
            return Err(Error::DriverInitFailed(rc));
        }
        let rc = init(0);
        // CUDA_ERROR_NO_DEVICE = 100.
        if rc == 100 {
            return Err(Error::NoDevice);
        }
        if rc != 0 {
            return Err(Error::DriverInitFailed(rc));
        }
        if driver_version < REQUIRED_DRIVER_VERSION {
            return Err(Error::DriverTooOld {
                found: driver_version,
                required: REQUIRED_DRIVER_VERSION,
            });
        }
        let mut device_count = 0i32;
        let rc = count(&mut device_count);
        if rc != 0 {
            return Err(Error::DriverInitFailed(rc));
        }
        if device_count <= 0 {
            return Err(Error::NoDevice);
        }
        Ok(DriverInfo {
            library: name,
            driver_version,
            device_count,
        })
    }
}
