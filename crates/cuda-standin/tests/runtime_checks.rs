//! The kernel runtime's execution model and checks, on purpose-written kernels
//! (tests/kernels/runtime_probes.cu): a correct barrier/shuffle kernel runs, and each faulty
//! kernel fails its launch with a message naming kernel, block, thread and what was wrong,
//! while the same kernel in its correct mode passes.

mod common;

use common::{CHECKED, DeviceBuf, Dim3, LaunchError, Options, Runtime, bytes_of, dim, serial};

#[repr(C)]
#[derive(Clone, Copy)]
struct ProbeParams {
    input: u64,
    out: u64,
    n: u32,
    mode: u32,
}

fn launch_probe(kernel: &str, grid: Dim3, block: Dim3, dynamic: u32, p: ProbeParams) -> Result<(), LaunchError> {
    Runtime::get().launch(kernel, grid, block, dynamic, &[&bytes_of(&p)])
}

fn expect_failure(r: Result<(), LaunchError>, code: i32, needles: &[&str]) -> String {
    let e = r.expect_err("the faulty launch must fail");
    assert_eq!(e.code, code, "{}", e.message);
    for n in needles {
        assert!(e.message.contains(n), "message lacks {n:?}: {}", e.message);
    }
    e.message
}

#[test]
fn barrier_and_shuffle_kernel_computes_block_and_warp_sums() {
    let _g = serial();
    let rt = Runtime::get();
    for seed in [1, 2, 3] {
        rt.set_options(Options { seed, ..CHECKED });
        let blocks = 3u32;
        let threads = 256u32;
        let n = (blocks * threads) as usize;
        let data: Vec<u32> = (0..n as u32).map(|i| i.wrapping_mul(2654435761) >> 8).collect();
        let mut input = DeviceBuf::new(data.clone());
        let mut out = DeviceBuf::zeroed(blocks as usize + n);
        let p = ProbeParams { input: input.addr(), out: out.addr(), n: n as u32, mode: 0 };
        launch_probe("standin_test_block_sum", dim(blocks), dim(threads), 0, p).unwrap();
        for b in 0..blocks as usize {
            let want = data[b * threads as usize..(b + 1) * threads as usize].iter().fold(0u32, |a, v| a.wrapping_add(*v));
            assert_eq!(out.words[b], want, "block {b}");
        }
        for (i, chunk) in data.chunks(32).enumerate() {
            let mut acc = 0u32;
            for (l, v) in chunk.iter().enumerate() {
                acc = acc.wrapping_add(*v);
                assert_eq!(out.words[blocks as usize + 32 * i + l], acc, "warp {i} lane {l}");
            }
        }
    }
}

#[test]
fn seed_decides_the_thread_order() {
    let _g = serial();
    let rt = Runtime::get();
    let order = |seed: u64| {
        rt.set_options(Options { seed, ..CHECKED });
        let mut out = DeviceBuf::zeroed(129);
        let p = ProbeParams { input: 0, out: out.addr(), n: 129, mode: 0 };
        launch_probe("standin_test_order", dim(1), dim(128), 0, p).unwrap();
        let mut seen = out.words[..128].to_vec();
        let order = seen.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..128).collect::<Vec<u32>>(), "every thread ran once");
        order
    };
    let a = order(11);
    assert_eq!(a, order(11), "one seed, one order");
    assert_ne!(a, order(12), "another seed, another order");
    assert_ne!(a, (0..128).collect::<Vec<u32>>(), "not in thread order");
}

#[test]
fn shared_memory_races_fail_the_launch() {
    let _g = serial();
    let rt = Runtime::get();
    rt.set_options(CHECKED);
    let mut out = DeviceBuf::zeroed(64);
    let p = ProbeParams { input: 0, out: out.addr(), n: 64, mode: 0 };
    expect_failure(
        launch_probe("standin_test_shared_race", dim(2), dim(64), 0, p),
        719,
        &["kernel standin_test_shared_race, block (", "thread (", "shared-memory race", "write"],
    );
    let p = ProbeParams { mode: 1, ..p };
    expect_failure(launch_probe("standin_test_shared_race", dim(1), dim(64), 0, p), 719, &["shared-memory race at 0x"]);
    let p = ProbeParams { mode: 2, ..p };
    launch_probe("standin_test_shared_race", dim(1), dim(64), 0, p).unwrap();
    assert_eq!(out.words[0], 7);
    // With the detector off, the racy kernel runs.
    rt.set_options(Options { check_races: 0, ..CHECKED });
    launch_probe("standin_test_shared_race", dim(1), dim(64), 0, ProbeParams { mode: 1, ..p }).unwrap();
    rt.set_options(CHECKED);
}

#[test]
fn out_of_bounds_writes_fail_the_launch() {
    let _g = serial();
    let rt = Runtime::get();
    rt.set_options(CHECKED);
    let mut out = DeviceBuf::zeroed(100);
    let p = ProbeParams { input: 0, out: out.addr(), n: 100, mode: 0 };
    launch_probe("standin_test_out_of_bounds", dim(4), dim(32), 0, p).unwrap();
    assert_eq!(out.words[99], 99);
    let msg = expect_failure(
        launch_probe("standin_test_out_of_bounds", dim(4), dim(32), 0, ProbeParams { mode: 1, ..p }),
        700,
        &["kernel standin_test_out_of_bounds, block (3,0,0), thread (4,0,0)", "out-of-bounds 4-byte write"],
    );
    assert!(msg.contains(&format!("{:#x}", out.addr() + 400)), "{msg}");
}

#[test]
fn misaligned_vector_loads_fail_the_launch() {
    let _g = serial();
    let rt = Runtime::get();
    rt.set_options(CHECKED);
    let mut input = DeviceBuf::new((0..4 * 32 + 8).collect());
    let mut out = DeviceBuf::zeroed(4 * 32);
    let p = ProbeParams { input: input.addr(), out: out.addr(), n: 0, mode: 0 };
    launch_probe("standin_test_misaligned_uint4", dim(1), dim(32), 0, p).unwrap();
    assert_eq!(&out.words[..], &input.words[..4 * 32]);
    expect_failure(
        launch_probe("standin_test_misaligned_uint4", dim(1), dim(32), 0, ProbeParams { mode: 1, ..p }),
        716,
        &["kernel standin_test_misaligned_uint4, block (0,0,0), thread (", "misaligned 16-byte read"],
    );
}

#[test]
fn a_missing_shuffle_lane_fails_the_launch() {
    let _g = serial();
    let rt = Runtime::get();
    rt.set_options(CHECKED);
    let mut out = DeviceBuf::zeroed(64);
    let p = ProbeParams { input: 0, out: out.addr(), n: 64, mode: 0 };
    launch_probe("standin_test_shuffle_lane", dim(1), dim(64), 0, p).unwrap();
    assert_eq!(out.words[4], 5);
    assert_eq!(out.words[33], 32);
    expect_failure(
        launch_probe("standin_test_shuffle_lane", dim(1), dim(64), 0, ProbeParams { mode: 1, ..p }),
        719,
        &["kernel standin_test_shuffle_lane, block (0,0,0)", "lane 5"],
    );
}

#[test]
fn a_barrier_skipped_by_some_threads_fails_the_launch() {
    let _g = serial();
    let rt = Runtime::get();
    rt.set_options(CHECKED);
    let mut out = DeviceBuf::zeroed(64);
    let p = ProbeParams { input: 0, out: out.addr(), n: 64, mode: 0 };
    launch_probe("standin_test_barrier", dim(2), dim(64), 0, p).unwrap();
    expect_failure(
        launch_probe("standin_test_barrier", dim(2), dim(64), 0, ProbeParams { mode: 1, ..p }),
        719,
        &["kernel standin_test_barrier, block (", "48 threads wait at __syncthreads", "16 threads exited"],
    );
}

#[test]
fn dynamic_shared_memory_is_bounded_by_the_launch_size() {
    let _g = serial();
    let rt = Runtime::get();
    rt.set_options(CHECKED);
    let mut out = DeviceBuf::zeroed(64);
    let p = ProbeParams { input: 0, out: out.addr(), n: 64, mode: 0 };
    launch_probe("standin_test_dynamic_shared", dim(1), dim(64), 256, p).unwrap();
    assert_eq!(out.words[63], 63);
    expect_failure(
        launch_probe("standin_test_dynamic_shared", dim(1), dim(64), 256, ProbeParams { mode: 1, ..p }),
        700,
        &["thread (63,0,0)", "byte 256 of dynamic shared memory, beyond the launch's 256 bytes"],
    );
}

#[test]
fn launches_beyond_the_kernel_limits_are_refused() {
    let _g = serial();
    let rt = Runtime::get();
    rt.set_options(CHECKED);
    let p = ProbeParams { input: 0, out: 0, n: 0, mode: 0 };
    let e = launch_probe("standin_test_barrier", dim(1), dim(1025), 0, p).unwrap_err();
    assert_eq!(e.code, 1, "{}", e.message);
    // ntt_dif_pass_kb declares __launch_bounds__(512).
    let e = rt.launch("ntt_dif_pass_kb", dim(1), dim(1024), 0, &[&[0u8; 56]]).unwrap_err();
    assert_eq!(e.code, 701, "{}", e.message);
    let e = launch_probe("standin_test_dynamic_shared", dim(1), dim(32), 228 * 1024, p).unwrap_err();
    assert_eq!(e.code, 1, "{}", e.message);
}
