//! How much slower kernels run under the stand-in runtime than plain host code doing the same
//! work, single-threaded, with the checks on and off. A CPU figure, never a GPU one.
//!
//! cargo run --release -p slotproof-cuda-standin --example runtime_slowdown

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::{DeviceBuf, Dim3, Options, Runtime, bytes_of, dim};
use slotproof_cuda::abi::{ElementwiseParams, NttPassParams};

const P: u32 = 0x7f00_0001;
const MU: u32 = 0x8100_0001;

fn mont_mul(a: u32, b: u32) -> u32 {
    let x = u64::from(a) * u64::from(b);
    let t = (x as u32).wrapping_mul(MU);
    let u = u64::from(t) * u64::from(P);
    let (hi_x, hi_u) = ((x >> 32) as u32, (u >> 32) as u32);
    if hi_x < hi_u {
        hi_x.wrapping_sub(hi_u).wrapping_add(P)
    } else {
        hi_x - hi_u
    }
}

fn time<F: FnMut()>(mut f: F) -> f64 {
    f();
    let reps = 3;
    let t = Instant::now();
    for _ in 0..reps {
        f();
    }
    t.elapsed().as_secs_f64() / reps as f64
}

fn main() {
    let rt = Runtime::get();
    let modes = [("checks on", 1), ("checks off", 0)];

    // Elementwise Montgomery products.
    let n = 1usize << 20;
    let a: Vec<u32> = (0..n as u32)
        .map(|i| i.wrapping_mul(2_654_435_761) % P)
        .collect();
    let b: Vec<u32> = (0..n as u32).map(|i| i.wrapping_mul(40_503) % P).collect();
    let mut host = vec![0u32; n];
    let plain = time(|| {
        for i in 0..n {
            host[i] = mont_mul(a[i], b[i]);
        }
        std::hint::black_box(&host);
    });
    let mut da = DeviceBuf::new(a.clone());
    let mut db = DeviceBuf::new(b.clone());
    let mut out = DeviceBuf::zeroed(n);
    let p = ElementwiseParams {
        a: da.addr(),
        b: db.addr(),
        out: out.addr(),
        n: n as u32,
        op: 2,
    };
    for (label, on) in modes {
        rt.set_options(Options {
            seed: 1,
            check_races: on,
            check_bounds: on,
            worker_threads: 1,
        });
        let t = time(|| {
            rt.launch(
                "elementwise_kb",
                dim((n / 256) as u32),
                dim(256),
                0,
                &[&bytes_of(&p)],
            )
            .unwrap()
        });
        assert_eq!(out.words, host);
        println!(
            "elementwise_kb mul, 2^20 words, {label}: {:.1} ms, {:.0}x plain host code ({:.2} ms)",
            t * 1e3,
            t / plain,
            plain * 1e3
        );
    }

    // One NTT pass over 2^12-word columns (shared-memory stages, then register/shuffle stages).
    let log_n = 12u32;
    let len = 1usize << log_n;
    let cols = 64usize;
    let omega: u32 = {
        // 3 generates KoalaBear's multiplicative group.
        let mut acc = 1u64;
        let mut base = 3u64;
        let mut e = u64::from(P - 1) >> log_n;
        while e > 0 {
            if e & 1 == 1 {
                acc = acc * base % u64::from(P);
            }
            base = base * base % u64::from(P);
            e >>= 1;
        }
        ((acc << 32) % u64::from(P)) as u32
    };
    let r1 = ((1u64 << 32) % u64::from(P)) as u32;
    let mut twiddles = vec![r1; len / 2];
    for k in 1..len / 2 {
        twiddles[k] = mont_mul(twiddles[k - 1], omega);
    }
    let input: Vec<u32> = (0..(len * cols) as u32)
        .map(|i| i.wrapping_mul(2_654_435_761) % P)
        .collect();
    // The same radix-2 DIF, plain Rust.
    let mut host = input.clone();
    let plain = time(|| {
        host.copy_from_slice(&input);
        for col in host.chunks_mut(len) {
            let mut half = len / 2;
            while half >= 1 {
                let step = len / (2 * half);
                for start in (0..len).step_by(2 * half) {
                    for j in 0..half {
                        let (x, y) = (col[start + j], col[start + j + half]);
                        let s = x + y;
                        col[start + j] = if s >= P { s - P } else { s };
                        let d = if x >= y { x - y } else { x + P - y };
                        col[start + j + half] = mont_mul(d, twiddles[j * step]);
                    }
                }
                half /= 2;
            }
        }
        std::hint::black_box(&host);
    });
    let mut data = DeviceBuf::new(input.clone());
    let mut tw = DeviceBuf::new(twiddles.clone());
    let log_regs = 3u32;
    let p = NttPassParams {
        data: data.addr(),
        twiddles: tw.addr(),
        col_stride: len as u64,
        log_n,
        num_cols: cols as u32,
        stage_hi: log_n,
        num_stages: log_n,
        log_lanes: 0,
        warp_stages: 5 + log_regs,
        log_regs,
        _pad: 0,
    };
    for (label, on) in modes {
        rt.set_options(Options {
            seed: 1,
            check_races: on,
            check_bounds: on,
            worker_threads: 1,
        });
        let t = time(|| {
            data.words.copy_from_slice(&input);
            rt.launch(
                "ntt_dif_pass_kb",
                Dim3 {
                    x: 1,
                    y: cols as u32,
                    z: 1,
                },
                dim(1 << (log_n - log_regs)),
                (len * 4) as u32,
                &[&bytes_of(&p)],
            )
            .unwrap()
        });
        assert_eq!(data.words, host);
        println!(
            "ntt_dif_pass_kb, 64 columns of 2^12, {label}: {:.1} ms, {:.0}x plain host code ({:.2} ms)",
            t * 1e3,
            t / plain,
            plain * 1e3
        );
    }
}
