//! Static resource check: every launch the host can make must fit the kernel's resources on an
//! sm_90 device (H100 / H200), as ptxas reports them.
//!
//! Inputs, each from its one source: the per-kernel registers, static shared memory, stack and
//! spills from ptxas's report of the embedded cubins (`-Xptxas=-v`, kept by build.rs as
//! [`crate::kernels::PTXAS_REPORTS`]); each kernel's `__launch_bounds__` from the embedded PTX
//! (`.maxntid`); the block shapes and dynamic shared memory from the host's own launch table
//! ([`crate::launch::KERNEL_BLOCKS`]) and, for the NTT, its planner ([`plan_dif_passes`]).
//!
//! Rules (sm_90): a block's registers, allocated per warp in units of 256, fit the 65,536 of a
//! multiprocessor; static plus dynamic shared memory fits the 232,448-byte opt-in limit, and
//! the 48 KiB default when the host does not opt in (it opts in only for dynamic shared memory
//! above 48 KiB); a block has no more threads than the kernel's `__launch_bounds__`; no spills.
//! Without nvcc at build time there is nothing to check (the test says so and passes).

use crate::launch::{KERNEL_BLOCKS, KernelBlock};
use crate::plan::{DEFAULT_SHARED_BYTES, NttLimits, SM90_SHARED_OPTIN_BYTES, plan_dif_passes};

/// Registers of one sm_90 multiprocessor (and the most one block may use).
pub const SM90_REGISTERS_PER_BLOCK: u32 = 65_536;
/// Registers are allocated per warp in units of this many.
pub const SM90_REGISTER_ALLOCATION_UNIT: u32 = 256;
/// Most registers one thread may use.
pub const SM90_MAX_REGISTERS_PER_THREAD: u32 = 255;

/// What ptxas reported for one kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelResources {
    pub name: String,
    pub registers: u32,
    pub static_shared_bytes: u32,
    pub stack_frame_bytes: u32,
    pub spill_store_bytes: u32,
    pub spill_load_bytes: u32,
}

/// Parse a ptxas `-v` report: one entry per "Compiling entry function" block.
pub fn parse_ptxas_report(report: &str) -> Vec<KernelResources> {
    let mut out: Vec<KernelResources> = Vec::new();
    for line in report.lines() {
        let line = line.trim();
        if let Some(rest) = line.split("Compiling entry function '").nth(1) {
            let name = rest.split('\'').next().unwrap_or_default().to_string();
            out.push(KernelResources {
                name,
                ..Default::default()
            });
            continue;
        }
        let Some(current) = out.last_mut() else {
            continue;
        };
        if line.contains("bytes stack frame") {
            for part in line.split(',') {
                let n = leading_number(part);
                if part.contains("stack frame") {
                    current.stack_frame_bytes = n;
                } else if part.contains("spill stores") {
                    current.spill_store_bytes = n;
                } else if part.contains("spill loads") {
                    current.spill_load_bytes = n;
                }
            }
        } else if let Some(rest) = line.split("Used ").nth(1) {
            for part in rest.split(',') {
                if part.contains("registers") {
                    current.registers = leading_number(part);
                } else if part.trim_end().ends_with("bytes smem") {
                    current.static_shared_bytes = leading_number(part);
                }
            }
        }
    }
    out
}

fn leading_number(s: &str) -> u32 {
    s.split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or(0)
}

/// `.maxntid` (the product of its dimensions) of entry `name` in a PTX module, if it has one.
pub fn ptx_max_threads(ptx: &str, name: &str) -> Option<u32> {
    let decl = format!(".entry {name}(");
    let start = ptx.find(&decl)?;
    // The performance directives sit between the parameter list and the body's brace.
    let header = &ptx[start..];
    let body = header.find('{').unwrap_or(header.len());
    let directive = header[..body].split(".maxntid").nth(1)?;
    let dims = directive.lines().next()?;
    dims.split(',')
        .map(|d| d.trim().parse::<u32>().ok())
        .try_fold(1u32, |acc, d| Some(acc * d?))
}

/// One launch shape the host can make: a kernel, threads per block, dynamic shared memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostLaunch {
    pub kernel: &'static str,
    pub threads: u32,
    pub dynamic_shared_bytes: usize,
    /// Where the shape comes from (for the report).
    pub origin: String,
}

/// Every launch shape the host can make: each fixed block of [`KERNEL_BLOCKS`]; for the NTT,
/// every pass of the plans of the sm_90 and 48 KiB limits at 2^1..2^27 rows, and the envelope
/// `CudaBackend::set_ntt_limits` allows (the kernel's thread bound with the device's whole
/// opt-in shared memory).
pub fn host_launches() -> Vec<HostLaunch> {
    let mut out = Vec::new();
    for &(kernel, block) in KERNEL_BLOCKS {
        match block {
            KernelBlock::Exact(x, y, z) => out.push(HostLaunch {
                kernel,
                threads: x * y * z,
                dynamic_shared_bytes: 0,
                origin: format!("block ({x}, {y}, {z})"),
            }),
            KernelBlock::NttPass { max_threads } => {
                for (label, limits) in [
                    ("sm_90 plan", NttLimits::DEVICE),
                    (
                        "48 KiB plan",
                        NttLimits::for_shared_memory(DEFAULT_SHARED_BYTES),
                    ),
                ] {
                    for log_n in 1..=27 {
                        for pass in plan_dif_passes(log_n, limits) {
                            out.push(HostLaunch {
                                kernel,
                                threads: pass.threads * pass.tiles_per_block,
                                dynamic_shared_bytes: pass.shared_bytes(),
                                origin: format!(
                                    "{label}, 2^{log_n} rows, stage_hi {}",
                                    pass.stage_hi
                                ),
                            });
                        }
                    }
                }
                out.push(HostLaunch {
                    kernel,
                    threads: max_threads,
                    dynamic_shared_bytes: block.max_dynamic_shared_bytes(),
                    origin: "any limits set_ntt_limits accepts".into(),
                });
            }
        }
    }
    out
}

/// Registers one block of `threads` threads takes at `registers` per thread (per-warp units).
pub fn block_registers(registers: u32, threads: u32) -> u64 {
    let per_warp =
        (registers * 32).div_ceil(SM90_REGISTER_ALLOCATION_UNIT) * SM90_REGISTER_ALLOCATION_UNIT;
    u64::from(threads.div_ceil(32)) * u64::from(per_warp)
}

/// Every way `launch` does not fit `res` (empty: it fits).
pub fn violations(
    launch: &HostLaunch,
    res: &KernelResources,
    launch_bound: Option<u32>,
) -> Vec<String> {
    let mut v = Vec::new();
    let what = format!("{} ({})", launch.kernel, launch.origin);
    let regs = block_registers(res.registers, launch.threads);
    if regs > u64::from(SM90_REGISTERS_PER_BLOCK) {
        v.push(format!(
            "{what}: {} threads x {} registers = {regs} allocated registers > {SM90_REGISTERS_PER_BLOCK}",
            launch.threads, res.registers
        ));
    }
    if res.registers > SM90_MAX_REGISTERS_PER_THREAD {
        v.push(format!("{what}: {} registers per thread", res.registers));
    }
    let shared = res.static_shared_bytes as usize + launch.dynamic_shared_bytes;
    if shared > SM90_SHARED_OPTIN_BYTES {
        v.push(format!(
            "{what}: {} static + {} dynamic = {shared} bytes of shared memory > {SM90_SHARED_OPTIN_BYTES} (opt-in limit)",
            res.static_shared_bytes, launch.dynamic_shared_bytes
        ));
    } else if launch.dynamic_shared_bytes <= DEFAULT_SHARED_BYTES && shared > DEFAULT_SHARED_BYTES {
        // The backend opts in only when the dynamic part alone exceeds 48 KiB.
        v.push(format!(
            "{what}: {} static + {} dynamic = {shared} bytes of shared memory > {DEFAULT_SHARED_BYTES} without opting in",
            res.static_shared_bytes, launch.dynamic_shared_bytes
        ));
    }
    if let Some(bound) = launch_bound
        && launch.threads > bound
    {
        v.push(format!(
            "{what}: {} threads per block > __launch_bounds__ {bound}",
            launch.threads
        ));
    }
    if res.spill_store_bytes > 0 || res.spill_load_bytes > 0 {
        v.push(format!(
            "{what}: spills ({} bytes stored, {} loaded)",
            res.spill_store_bytes, res.spill_load_bytes
        ));
    }
    v
}

/// The check over the embedded kernels: (a report line per kernel, every violation). `None`
/// when the build carries no ptxas reports (built without nvcc).
pub fn check_embedded() -> Option<(Vec<String>, Vec<String>)> {
    if crate::kernels::PTXAS_REPORTS.is_empty() {
        return None;
    }
    let resources: Vec<KernelResources> = crate::kernels::PTXAS_REPORTS
        .iter()
        .flat_map(|(_, report)| parse_ptxas_report(report))
        .collect();
    let launches = host_launches();
    let mut table = Vec::new();
    let mut violations_found = Vec::new();
    for &(kernel, _) in KERNEL_BLOCKS {
        let Some(res) = resources.iter().find(|r| r.name == kernel) else {
            violations_found.push(format!("{kernel}: no ptxas report (not compiled?)"));
            continue;
        };
        let bound = crate::kernels::KERNELS
            .iter()
            .find_map(|(_, _, ptx)| ptx_max_threads(ptx, kernel));
        let mine: Vec<&HostLaunch> = launches.iter().filter(|l| l.kernel == kernel).collect();
        let max_threads = mine.iter().map(|l| l.threads).max().unwrap_or(0);
        let max_dynamic = mine
            .iter()
            .map(|l| l.dynamic_shared_bytes)
            .max()
            .unwrap_or(0);
        table.push(format!(
            "{kernel:<26} regs {:>3}  smem {:>6}  stack {:>4}  launch_bounds {:>5}  | host: up to {max_threads:>4} threads ({:>6} regs/block), dynamic smem up to {max_dynamic:>6}",
            res.registers,
            res.static_shared_bytes,
            res.stack_frame_bytes,
            bound.map_or("-".to_string(), |b| b.to_string()),
            block_registers(res.registers, max_threads),
        ));
        for l in mine {
            violations_found.extend(violations(l, res, bound));
        }
    }
    Some((table, violations_found))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'opening_dot_bb' for 'sm_90'
ptxas info    : Function properties for opening_dot_bb
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 26 registers, used 1 barriers, 4096 bytes smem
ptxas info    : Compile time = 121.135 ms
ptxas info    : Compiling entry function 'big' for 'sm_90'
ptxas info    : Function properties for big
    16 bytes stack frame, 8 bytes spill stores, 4 bytes spill loads
ptxas info    : Used 168 registers, used 0 barriers, 380 bytes cmem[0]
";

    #[test]
    fn ptxas_reports_parse() {
        let r = parse_ptxas_report(SAMPLE);
        assert_eq!(
            r,
            vec![
                KernelResources {
                    name: "opening_dot_bb".into(),
                    registers: 26,
                    static_shared_bytes: 4096,
                    ..Default::default()
                },
                KernelResources {
                    name: "big".into(),
                    registers: 168,
                    static_shared_bytes: 0,
                    stack_frame_bytes: 16,
                    spill_store_bytes: 8,
                    spill_load_bytes: 4,
                },
            ]
        );
    }

    #[test]
    fn launch_bounds_parse_from_ptx() {
        let ptx = ".visible .entry a(\n.param .align 8 .b8 a_param_0[40]\n)\n.maxntid 256, 1, 1\n{\n}\n\
                   .visible .entry b(\n.param .u64 b_param_0\n)\n{\n}\n";
        assert_eq!(ptx_max_threads(ptx, "a"), Some(256));
        assert_eq!(ptx_max_threads(ptx, "b"), None);
        assert_eq!(ptx_max_threads(ptx, "c"), None);
    }

    #[test]
    fn the_rules_catch_what_does_not_fit() {
        let launch = |threads, dynamic_shared_bytes| HostLaunch {
            kernel: "k",
            threads,
            dynamic_shared_bytes,
            origin: "test".into(),
        };
        let res = |registers, static_shared_bytes| KernelResources {
            name: "k".into(),
            registers,
            static_shared_bytes,
            ..Default::default()
        };
        assert!(violations(&launch(512, 64 << 10), &res(128, 0), Some(512)).is_empty());
        // 129 registers round up to 136 per thread: 512 threads need 69,632.
        assert_eq!(block_registers(129, 512), 69_632);
        assert_eq!(
            violations(&launch(512, 0), &res(129, 0), Some(512)).len(),
            1
        );
        // Static + dynamic above the opt-in limit.
        assert_eq!(
            violations(&launch(256, SM90_SHARED_OPTIN_BYTES), &res(32, 16), None).len(),
            1
        );
        // 40 KiB static + 16 KiB dynamic without opting in.
        assert_eq!(
            violations(&launch(256, 16 << 10), &res(32, 40 << 10), None).len(),
            1
        );
        // More threads than __launch_bounds__.
        assert_eq!(violations(&launch(256, 0), &res(32, 0), Some(128)).len(), 1);
        let mut spilling = res(32, 0);
        spilling.spill_store_bytes = 4;
        assert_eq!(violations(&launch(128, 0), &spilling, Some(128)).len(), 1);
    }

    #[test]
    fn the_host_launch_table_covers_every_kernel() {
        let launches = host_launches();
        for &(kernel, _) in KERNEL_BLOCKS {
            assert!(launches.iter().any(|l| l.kernel == kernel), "{kernel}");
        }
    }

    /// The static resource check (issue 11, part 5): ptxas's registers and shared memory of
    /// every kernel against every launch the host can make. Skips without nvcc at build time.
    #[test]
    fn every_host_launch_fits_the_kernels_resources() {
        let Some((table, found)) = check_embedded() else {
            eprintln!(
                "SKIP every_host_launch_fits_the_kernels_resources: built without nvcc (no ptxas reports)"
            );
            return;
        };
        for line in &table {
            eprintln!("{line}");
        }
        assert!(
            found.is_empty(),
            "{} launch(es) do not fit:\n{}",
            found.len(),
            found.join("\n")
        );
    }
}
