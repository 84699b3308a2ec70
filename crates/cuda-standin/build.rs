//! Builds the stand-in driver as one shared object, `$OUT_DIR/libcuda.so.1` (SONAME
//! `libcuda.so.1`, so that cudarc's own `dlopen("libcuda.so.1")` finds it once it is loaded),
//! from `driver/*.cpp`, `runtime/*.cpp` and the unchanged `kernels/*.cu` compiled as C++ for the
//! host. The compiler comes from the `cc` crate (the host's C++ compiler, `CXX` honoured).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn sources(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == ext));
    v.sort();
    v
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let runtime_dir = manifest.join("runtime");
    let driver_dir = manifest.join("driver");
    for d in [&runtime_dir, &driver_dir, &manifest.join("../../kernels")] {
        println!("cargo:rerun-if-changed={}", d.display());
    }
    println!("cargo:rerun-if-env-changed=CXX");

    let compiler = cc::Build::new().cpp(true).get_compiler();
    let library = out_dir.join("libcuda.so.1");
    let mut cmd = Command::new(compiler.path());
    cmd.args(["-std=c++17", "-O2", "-g", "-fPIC", "-shared", "-pthread", "-Wall", "-Werror"])
        .arg("-Wl,-soname,libcuda.so.1")
        .arg("-Wl,--no-undefined")
        .arg(format!("-I{}", runtime_dir.display()))
        .arg("-o")
        .arg(&library);
    for src in sources(&driver_dir, "cpp").into_iter().chain(sources(&runtime_dir, "cpp")) {
        cmd.arg(src);
    }
    let status = cmd.status().expect("run the C++ compiler for the stand-in driver");
    assert!(status.success(), "building the stand-in driver failed: {cmd:?}");
    println!("cargo:rustc-env=SLOTPROOF_STANDIN_LIBRARY={}", library.display());
}
