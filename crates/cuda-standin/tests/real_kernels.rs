//! The real kernels/*.cu under the runtime: every entry is registered with the right shape, and
//! fill_u32, elementwise_kb and ntt_dif_pass_kb (shared memory, barriers, warp shuffles, uint2
//! stores) match plain CPU computations bit for bit, with every check on.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{CHECKED, DeviceBuf, Dim3, Options, Runtime, bytes_of, dim, serial};
use slotproof_cuda::abi::{
    ElementwiseParams, FillParams, NttPassParams, PermuteParams, Poseidon2Constants,
};

const P: u64 = 0x7f00_0001; // KoalaBear

fn to_monty(x: u64) -> u32 {
    ((x << 32) % P) as u32
}
fn from_monty(x: u32) -> u64 {
    // x * 2^-32 mod p; 2^-32 = (2^32)^(p-2).
    u64::from(x) * pow(1 << 32, P - 2) % P
}
fn pow(mut b: u64, mut e: u64) -> u64 {
    let mut acc = 1u64;
    b %= P;
    while e > 0 {
        if e & 1 == 1 {
            acc = acc * b % P;
        }
        b = b * b % P;
        e >>= 1;
    }
    acc
}

/// Deterministic pseudo-random canonical field elements.
fn elements(n: usize, salt: u64) -> Vec<u64> {
    let mut s = salt.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s % P
        })
        .collect()
}

fn kernels_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kernels")
}

/// `extern "C" __global__` entries of a .cu, read from the preprocessor's output (the macros
/// that stamp out the _kb/_bb variants expanded).
fn entries_of(cu: &Path) -> Vec<String> {
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let out = Command::new(cxx)
        .args(["-std=c++17", "-E", "-P", "-x", "c++"])
        .arg(cu)
        .output()
        .expect("run c++ -E");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut names = Vec::new();
    for (at, _) in text.match_indices("extern \"C\" __global__") {
        let rest = &text[at..];
        let open = rest.find('(').expect("parameter list");
        let mut head = &rest[..open];
        // `__launch_bounds__(N) name(`: the name follows the bounds' closing parenthesis.
        if head.trim_end().ends_with("__launch_bounds__") {
            let close = rest.find(')').unwrap();
            let after = &rest[close + 1..];
            head = &after[..after.find('(').unwrap()];
        }
        names.push(head.split_whitespace().last().unwrap().to_string());
    }
    names
}

#[test]
fn every_kernel_entry_is_registered() {
    let rt = Runtime::get();
    let registered: BTreeSet<String> = rt
        .kernel_names()
        .into_iter()
        .filter(|n| !n.starts_with("standin_test_"))
        .collect();
    let mut expected = BTreeSet::new();
    for e in std::fs::read_dir(kernels_dir()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "cu") {
            let names = entries_of(&p);
            assert!(!names.is_empty(), "{} has no entries", p.display());
            expected.extend(names);
        }
    }
    assert_eq!(registered, expected);
    // Shapes the driver reports through cuFuncGetAttribute / cuFuncGetParamInfo.
    assert_eq!(rt.param_sizes("fill_u32"), vec![24]);
    assert_eq!(rt.param_sizes("ntt_dif_pass_kb"), vec![56]);
    assert_eq!(rt.param_sizes("poseidon2_permute_bb").len(), 2);
    assert_eq!(rt.max_threads("ntt_dif_pass_kb"), 512);
    assert_eq!(rt.max_threads("logup_scan_block_kb"), 256);
    assert_eq!(rt.max_threads("fill_u32"), 1024);
    assert_eq!(rt.static_shared_bytes("opening_dot_kb"), 4 * 256 * 4);
    assert_eq!(
        rt.static_shared_bytes("coset_scatter_tiled_bb"),
        32 * 33 * 4
    );
    assert_eq!(rt.static_shared_bytes("logup_scan_block_kb"), 4 * 8 * 4);
    assert_eq!(rt.static_shared_bytes("ntt_dif_pass_kb"), 0);
    assert_eq!(rt.static_shared_bytes("fill_u32"), 0);
}

#[test]
fn fill_u32_fills_exactly_its_range() {
    let _g = serial();
    let rt = Runtime::get();
    rt.set_options(CHECKED);
    let mut buf = DeviceBuf::zeroed(1000);
    let p = FillParams {
        dst: buf.addr() + 4,
        n: 998,
        value: 0xdead_beef,
        _pad: 0,
    };
    rt.launch("fill_u32", dim(3), dim(128), 0, &[&bytes_of(&p)])
        .unwrap();
    assert_eq!(buf.words[0], 0);
    assert_eq!(buf.words[999], 0);
    assert!(buf.words[1..999].iter().all(|w| *w == 0xdead_beef));
    // One word too many runs past the allocation.
    let p = FillParams { n: 1000, ..p };
    let e = rt
        .launch("fill_u32", dim(3), dim(128), 0, &[&bytes_of(&p)])
        .unwrap_err();
    assert_eq!(e.code, 700, "{}", e.message);
    assert!(e.message.contains("kernel fill_u32"), "{}", e.message);
}

#[test]
fn elementwise_kb_matches_field_arithmetic() {
    let _g = serial();
    let rt = Runtime::get();
    rt.set_options(CHECKED);
    let n = 777usize;
    let a = elements(n, 1);
    let b = elements(n, 2);
    let mut da = DeviceBuf::new(a.iter().map(|x| to_monty(*x)).collect());
    let mut db = DeviceBuf::new(b.iter().map(|x| to_monty(*x)).collect());
    let mut out = DeviceBuf::zeroed(n);
    for (op, f) in [
        (0u32, (|x, y| (x + y) % P) as fn(u64, u64) -> u64),
        (1, |x, y| (x + P - y) % P),
        (2, |x, y| x * y % P),
    ] {
        let p = ElementwiseParams {
            a: da.addr(),
            b: db.addr(),
            out: out.addr(),
            n: n as u32,
            op,
        };
        rt.launch("elementwise_kb", dim(4), dim(64), 0, &[&bytes_of(&p)])
            .unwrap();
        for i in 0..n {
            assert_eq!(out.words[i], to_monty(f(a[i], b[i])), "op {op} element {i}");
        }
    }
}

fn reverse_bits(x: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        x.reverse_bits() >> (usize::BITS - bits)
    }
}

/// One whole-column pass of ntt_dif_pass_kb (shared-memory stages, then register and shuffle
/// stages) against the DFT in bit-reversed order: word p = sum_i x_i omega^(i bitrev(p)).
fn ntt_single_pass(log_n: u32, log_regs: u32, seed: u64) {
    let rt = Runtime::get();
    rt.set_options(Options { seed, ..CHECKED });
    let n = 1usize << log_n;
    let cols = 2usize;
    let omega = pow(3, (P - 1) >> log_n);
    assert_eq!(pow(omega, (n / 2) as u64), P - 1, "omega has order n");
    let x = elements(n * cols, 3);
    let mut data = DeviceBuf::new(x.iter().map(|v| to_monty(*v)).collect());
    let mut tw = DeviceBuf::new((0..n / 2).map(|k| to_monty(pow(omega, k as u64))).collect());
    let warp_stages = 5 + log_regs;
    let threads = 1u32 << (log_n - log_regs);
    let p = NttPassParams {
        data: data.addr(),
        twiddles: tw.addr(),
        col_stride: n as u64,
        log_n,
        num_cols: cols as u32,
        stage_hi: log_n,
        num_stages: log_n,
        log_lanes: 0,
        warp_stages,
        log_regs,
        _pad: 0,
    };
    let grid = Dim3 {
        x: 1,
        y: cols as u32,
        z: 1,
    };
    rt.launch(
        "ntt_dif_pass_kb",
        grid,
        dim(threads.min(512)),
        (n * 4) as u32,
        &[&bytes_of(&p)],
    )
    .unwrap();
    let powers: Vec<u64> = (0..n).map(|e| pow(omega, e as u64)).collect();
    for c in 0..cols {
        let col = &x[c * n..(c + 1) * n];
        for q in 0..n {
            let k = reverse_bits(q, log_n) as u64;
            let want = col.iter().enumerate().fold(0u64, |acc, (i, v)| {
                (acc + v * powers[(i as u64 * k) as usize % n]) % P
            });
            assert_eq!(
                from_monty(data.words[c * n + q]),
                want,
                "log_n {log_n} log_regs {log_regs} column {c} word {q}"
            );
        }
    }
}

#[test]
fn ntt_dif_pass_kb_matches_the_dft() {
    let _g = serial();
    // One word per lane (shuffle stages only), and two per lane (paired shuffles, uint2 stores).
    ntt_single_pass(8, 0, 5);
    ntt_single_pass(8, 1, 6);
    ntt_single_pass(9, 2, 7);
}

#[repr(C)]
#[derive(Clone, Copy)]
struct OpeningDotParams {
    matrix: u64,
    col_stride: u64,
    weights: u64,
    out: u64,
    h: u32,
    width: u32,
}

#[test]
fn opening_dot_kb_matches_the_dot_products() {
    let _g = serial();
    let rt = Runtime::get();
    rt.set_options(Options { seed: 9, ..CHECKED });
    let (h, width) = (1000usize, 3usize);
    let m = elements(h * width, 4);
    let w = elements(4 * h, 5);
    let mut dm = DeviceBuf::new(m.iter().map(|v| to_monty(*v)).collect());
    let mut dw = DeviceBuf::new(w.iter().map(|v| to_monty(*v)).collect());
    let mut out = DeviceBuf::zeroed(4 * width);
    let p = OpeningDotParams {
        matrix: dm.addr(),
        col_stride: h as u64,
        weights: dw.addr(),
        out: out.addr(),
        h: h as u32,
        width: width as u32,
    };
    rt.launch(
        "opening_dot_kb",
        dim(width as u32),
        dim(256),
        0,
        &[&bytes_of(&p)],
    )
    .unwrap();
    for c in 0..width {
        for k in 0..4 {
            let want = (0..h).fold(0u64, |acc, i| (acc + w[4 * i + k] * m[c * h + i]) % P);
            assert_eq!(
                from_monty(out.words[4 * c + k]),
                want,
                "column {c} coefficient {k}"
            );
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy)]
struct LogUpScanParams {
    data: u64,
    block_sums: u64,
    n: u32,
    pad: u32,
}

#[test]
fn logup_scan_block_kb_matches_prefix_sums() {
    let _g = serial();
    let rt = Runtime::get();
    rt.set_options(Options {
        seed: 10,
        ..CHECKED
    });
    // Two scan blocks of 1024 elements (256 threads x 4 items), the second one partial.
    let n = 1800usize;
    let x = elements(4 * n, 6);
    let mut data = DeviceBuf::new(x.iter().map(|v| to_monty(*v)).collect());
    let mut sums = DeviceBuf::zeroed(8);
    let p = LogUpScanParams {
        data: data.addr(),
        block_sums: sums.addr(),
        n: n as u32,
        pad: 0,
    };
    rt.launch("logup_scan_block_kb", dim(2), dim(256), 0, &[&bytes_of(&p)])
        .unwrap();
    for b in 0..2 {
        let mut acc = [0u64; 4];
        for e in b * 1024..((b + 1) * 1024).min(n) {
            for k in 0..4 {
                acc[k] = (acc[k] + x[4 * e + k]) % P;
                assert_eq!(
                    from_monty(data.words[4 * e + k]),
                    acc[k],
                    "element {e} coefficient {k}"
                );
            }
        }
        for (k, want) in acc.iter().enumerate() {
            assert_eq!(
                from_monty(sums.words[4 * b + k]),
                *want,
                "block {b} total {k}"
            );
        }
    }
}

/// poseidon2.cuh's permutation for KoalaBear (x^3, 20 partial rounds) on canonical values.
fn poseidon2_kb(
    s: &mut [u64; 16],
    ext_init: &[[u64; 16]; 4],
    ext_term: &[[u64; 16]; 4],
    internal: &[u64],
    diag: &[u64; 16],
) {
    let sbox = |x: u64| x * x % P * x % P;
    let mds_light = |s: &mut [u64; 16]| {
        for c in (0..16).step_by(4) {
            let (x0, x1, x2, x3) = (s[c], s[c + 1], s[c + 2], s[c + 3]);
            let t01 = (x0 + x1) % P;
            let t23 = (x2 + x3) % P;
            let t0123 = (t01 + t23) % P;
            let t01123 = (t0123 + x1) % P;
            let t01233 = (t0123 + x3) % P;
            s[c + 3] = (t01233 + 2 * x0) % P;
            s[c + 1] = (t01123 + 2 * x2) % P;
            s[c] = (t01123 + t01) % P;
            s[c + 2] = (t01233 + t23) % P;
        }
        let sums: Vec<u64> = (0..4)
            .map(|k| (s[k] + s[k + 4] + s[k + 8] + s[k + 12]) % P)
            .collect();
        for i in 0..16 {
            s[i] = (s[i] + sums[i & 3]) % P;
        }
    };
    let full = |s: &mut [u64; 16], rc: &[u64; 16]| {
        for i in 0..16 {
            s[i] = sbox((s[i] + rc[i]) % P);
        }
        mds_light(s);
    };
    mds_light(s);
    for rc in ext_init {
        full(s, rc);
    }
    for rc in &internal[..20] {
        s[0] = sbox((s[0] + rc) % P);
        let sum = s.iter().fold(0, |a, v| (a + v) % P);
        for i in 0..16 {
            s[i] = (sum + diag[i] * s[i]) % P;
        }
    }
    for rc in ext_term {
        full(s, rc);
    }
}

#[test]
fn poseidon2_permute_kb_matches_the_permutation() {
    let _g = serial();
    let rt = Runtime::get();
    rt.set_options(Options {
        seed: 12,
        ..CHECKED
    });
    // Any constants: the kernel and the reference above must agree for all of them.
    let c = elements(2 * 64 + 24 + 16, 7);
    let rows = |at: usize| -> [[u64; 16]; 4] {
        std::array::from_fn(|r| std::array::from_fn(|i| c[at + 16 * r + i]))
    };
    let (ext_init, ext_term) = (rows(0), rows(64));
    let internal = &c[128..152];
    let diag: [u64; 16] = std::array::from_fn(|i| c[152 + i]);
    let monty_rows = |r: &[[u64; 16]; 4]| -> [[u32; 16]; 4] {
        std::array::from_fn(|k| std::array::from_fn(|i| to_monty(r[k][i])))
    };
    let constants = Poseidon2Constants {
        external_initial: monty_rows(&ext_init),
        external_terminal: monty_rows(&ext_term),
        internal: std::array::from_fn(|i| to_monty(internal[i])),
        diag: std::array::from_fn(|i| to_monty(diag[i])),
    };
    let states = 100usize;
    let input = elements(16 * states, 8);
    let mut din = DeviceBuf::new(input.iter().map(|v| to_monty(*v)).collect());
    let mut dout = DeviceBuf::zeroed(16 * states);
    let p = PermuteParams {
        input: din.addr(),
        out: dout.addr(),
        num_states: states as u32,
        _pad: 0,
    };
    rt.launch(
        "poseidon2_permute_kb",
        dim(2),
        dim(64),
        0,
        &[&bytes_of(&p), &bytes_of(&constants)],
    )
    .unwrap();
    for k in 0..states {
        let mut s: [u64; 16] = std::array::from_fn(|i| input[16 * k + i]);
        poseidon2_kb(&mut s, &ext_init, &ext_term, internal, &diag);
        for (i, want) in s.iter().enumerate() {
            assert_eq!(
                from_monty(dout.words[16 * k + i]),
                *want,
                "state {k} word {i}"
            );
        }
    }
}
