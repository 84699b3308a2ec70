//! Compiles `kernels/*.cu` with nvcc into a cubin (sm_90) and PTX (compute_90) per file and
//! embeds them through `$OUT_DIR/kernels.rs`. Without nvcc the crate still builds: the generated
//! file then holds no kernels, the crate reports `Error::KernelsNotBuilt` at run time and says so
//! here with a cargo warning.
//!
//! nvcc lookup (the same order as scripts/nvcc-env.sh): `$NVCC`, `<repo>/.nvcc/` (made by
//! scripts/install-nvcc.sh), then `nvcc` on `PATH`. Flags come from `kernels/nvcc.flags`.
//! Set `SLOTPROOF_CUDA_SKIP_KERNELS=1` to build without kernels on purpose.
//!
//! The cubin compile also asks ptxas for its resource report (`-Xptxas=-v`: registers, shared
//! memory, stack per kernel); the reports are embedded as `PTXAS_REPORTS` for the static
//! resource check (`src/resources.rs`).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.join("../..").canonicalize().unwrap();
    let kernels_dir = root.join("kernels");
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());

    println!("cargo:rerun-if-env-changed=NVCC");
    println!("cargo:rerun-if-env-changed=NVCC_CCBIN");
    println!("cargo:rerun-if-env-changed=SLOTPROOF_NVCC_DIR");
    println!("cargo:rerun-if-env-changed=SLOTPROOF_CUDA_SKIP_KERNELS");
    println!("cargo:rerun-if-changed={}", kernels_dir.display());

    let mut sources: Vec<PathBuf> = fs::read_dir(&kernels_dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    sources.sort();
    for path in &sources {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let cu_files: Vec<&PathBuf> = sources
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "cu"))
        .collect();

    let skip = env::var("SLOTPROOF_CUDA_SKIP_KERNELS").is_ok_and(|v| v == "1");
    let nvcc = if skip { None } else { find_nvcc(&root) };
    let mut generated = String::new();
    match nvcc {
        Some(nvcc) => {
            let flags = read_flags(&kernels_dir.join("nvcc.flags"));
            writeln!(generated, "/// nvcc used to build the embedded kernels.").unwrap();
            writeln!(
                generated,
                "pub const NVCC: Option<&str> = Some({:?});",
                nvcc.display().to_string()
            )
            .unwrap();
            writeln!(
                generated,
                "/// Embedded kernels: (name, sm_90 cubin, compute_90 PTX)."
            )
            .unwrap();
            writeln!(generated, "pub static KERNELS: &[(&str, &[u8], &str)] = &[").unwrap();
            let mut reports = Vec::new();
            for cu in &cu_files {
                let name = cu.file_stem().unwrap().to_str().unwrap().to_string();
                let cubin = out_dir.join(format!("{name}.sm_90.cubin"));
                let ptx = out_dir.join(format!("{name}.compute_90.ptx"));
                let ptxas = compile(
                    &nvcc,
                    &flags,
                    &kernels_dir,
                    cu,
                    &["-cubin", "-arch=sm_90", "-Xptxas=-v"],
                    &cubin,
                );
                let report = out_dir.join(format!("{name}.ptxas.txt"));
                fs::write(&report, ptxas).unwrap();
                reports.push((name.clone(), report));
                compile(
                    &nvcc,
                    &flags,
                    &kernels_dir,
                    cu,
                    &["-ptx", "-arch=compute_90"],
                    &ptx,
                );
                writeln!(
                    generated,
                    "    ({name:?}, include_bytes!({:?}), include_str!({:?})),",
                    cubin.display().to_string(),
                    ptx.display().to_string()
                )
                .unwrap();
            }
            writeln!(generated, "];").unwrap();
            writeln!(
                generated,
                "/// ptxas's resource report (`-Xptxas=-v`) of each module's sm_90 cubin: (name, report)."
            )
            .unwrap();
            writeln!(generated, "pub static PTXAS_REPORTS: &[(&str, &str)] = &[").unwrap();
            for (name, report) in &reports {
                writeln!(
                    generated,
                    "    ({name:?}, include_str!({:?})),",
                    report.display().to_string()
                )
                .unwrap();
            }
            writeln!(generated, "];").unwrap();
        }
        None => {
            if skip {
                println!(
                    "cargo:warning=slotproof-cuda: SLOTPROOF_CUDA_SKIP_KERNELS=1, building without kernels"
                );
            } else {
                println!(
                    "cargo:warning=slotproof-cuda: nvcc not found (run scripts/install-nvcc.sh or set NVCC); \
                     building without kernels, GPU operations will return Error::KernelsNotBuilt"
                );
            }
            writeln!(generated, "/// nvcc used to build the embedded kernels.").unwrap();
            writeln!(generated, "pub const NVCC: Option<&str> = None;").unwrap();
            writeln!(
                generated,
                "/// Embedded kernels: (name, sm_90 cubin, compute_90 PTX)."
            )
            .unwrap();
            writeln!(
                generated,
                "pub static KERNELS: &[(&str, &[u8], &str)] = &[];"
            )
            .unwrap();
            writeln!(generated, "/// ptxas resource reports (none without nvcc).").unwrap();
            writeln!(
                generated,
                "pub static PTXAS_REPORTS: &[(&str, &str)] = &[];"
            )
            .unwrap();
        }
    }
    fs::write(out_dir.join("kernels.rs"), generated).unwrap();
}

fn find_nvcc(root: &Path) -> Option<PathBuf> {
    if let Ok(p) = env::var("NVCC") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Some(p);
        }
        println!(
            "cargo:warning=slotproof-cuda: NVCC={} is not a file",
            p.display()
        );
    }
    let dir = env::var("SLOTPROOF_NVCC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join(".nvcc"));
    // Rebuild when scripts/install-nvcc.sh (re)installs: it writes this stamp last. Only watched
    // once it exists, so that a machine without nvcc does not rerun this script every build.
    let stamp = dir.join(".installed");
    if stamp.is_file() {
        println!("cargo:rerun-if-changed={}", stamp.display());
    }
    let local = dir.join("nvidia/cu13/bin/nvcc");
    if local.is_file() {
        return Some(local);
    }
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|d| d.join("nvcc"))
        .find(|p| p.is_file())
}

fn read_flags(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).expect("kernels/nvcc.flags is missing");
    let mut flags: Vec<String> = text
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if let Ok(ccbin) = env::var("NVCC_CCBIN") {
        flags.push("-ccbin".into());
        flags.push(ccbin);
    }
    flags
}

/// Compile one file; returns what nvcc printed on stderr (ptxas's report with `-Xptxas=-v`).
fn compile(
    nvcc: &Path,
    flags: &[String],
    include: &Path,
    cu: &Path,
    target: &[&str],
    out: &Path,
) -> String {
    let output = Command::new(nvcc)
        .args(flags)
        .arg(format!("-I{}", include.display()))
        .args(target)
        .arg("-o")
        .arg(out)
        .arg(cu)
        .output()
        .unwrap_or_else(|e| panic!("failed to run {}: {e}", nvcc.display()));
    if !output.status.success() {
        panic!(
            "nvcc failed on {} ({}):\n{}\n{}",
            cu.display(),
            target.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8_lossy(&output.stderr).into_owned()
}
