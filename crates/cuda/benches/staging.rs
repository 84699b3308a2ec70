//! Trace uploads, pinned staging against pageable copies, in one run on the same inputs:
//! a row-major KoalaBear trace of `SLOTPROOF_BENCH_UPLOAD_MIB` MiB (default "64,512") and
//! `SLOTPROOF_BENCH_UPLOAD_WIDTH` columns (default 64), uploaded with `upload_row_major` (the
//! prover backend's `load_trace`: host transpose to column-major, then host-to-device copy),
//! and the same words uploaded as they are with `upload_words` (no transpose).
//!
//! * `pinned`: default options (transpose straight into the 256 MiB pinned slots, copies queued,
//!   chunks alternating between the two slots);
//! * `pageable`: `pinned_uploads: false` (transpose into a vector, pageable copy).
//!
//! For each: `return`, the time until the call returns (when the host may go on, e.g. to the
//! next shard's trace), and `done`, until the copy has landed (the call plus a stream
//! synchronize). The device words are checked equal between the two paths before timing.
//! Medians of `SLOTPROOF_BENCH_ITERS` (default 5) after one warm-up (which also allocates the
//! slots); ratio = pageable / pinned (above 1: pinned is faster). Skips without a GPU, and skips
//! a size whose buffers would not fit in 80% of free device memory.

mod common;

use std::time::{Duration, Instant};

use common::{iters, list, ms};

use p3_koala_bear::KoalaBear;
use p3_matrix::dense::RowMajorMatrix;
use slotproof_cuda::{BackendOptions, CudaBackend, DeviceField};

/// Medians of (call returned, copy landed) over `iters()` runs after one warm-up.
fn median<T>(b: &CudaBackend, mut upload: impl FnMut() -> T) -> (Duration, Duration) {
    let mut run = || {
        let t = Instant::now();
        let out = upload();
        let returned = t.elapsed();
        b.synchronize().unwrap();
        let done = t.elapsed();
        drop(out);
        b.synchronize().unwrap();
        (returned, done)
    };
    run();
    let (mut ret, mut done): (Vec<Duration>, Vec<Duration>) = (0..iters()).map(|_| run()).unzip();
    ret.sort();
    done.sort();
    (ret[ret.len() / 2], done[done.len() / 2])
}

fn report(what: &str, bytes: usize, pinned: (Duration, Duration), pageable: (Duration, Duration)) {
    let gbps = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e9;
    println!(
        "{what}: pinned return {:.2} ms, done {:.2} ms ({:.1} GB/s); pageable return {:.2} ms, done {:.2} ms ({:.1} GB/s); ratio (done) {:.2}, ratio (return) {:.2}",
        ms(pinned.0),
        ms(pinned.1),
        gbps(pinned.1),
        ms(pageable.0),
        ms(pageable.1),
        gbps(pageable.1),
        pageable.1.as_secs_f64() / pinned.1.as_secs_f64(),
        pageable.0.as_secs_f64() / pinned.0.as_secs_f64(),
    );
}

fn main() {
    let pinned = match CudaBackend::new() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("SKIP slotproof-cuda staging bench: no usable CUDA device/kernels: {e}");
            return;
        }
    };
    // Times under the stand-in driver (the kernels on the CPU) are never GPU figures.
    if pinned.driver_info().is_standin() {
        eprintln!(
            "SKIP slotproof-cuda staging bench: the CUDA driver is the CPU stand-in, not a GPU"
        );
        return;
    }
    let pageable = CudaBackend::with_options(
        0,
        BackendOptions {
            pinned_uploads: false,
            ..BackendOptions::default()
        },
    )
    .expect("the device came up above");
    eprintln!(
        "benchmarking uploads on {}",
        pinned.device_description().unwrap_or_default()
    );
    let width = list("SLOTPROOF_BENCH_UPLOAD_WIDTH", "64")
        .first()
        .copied()
        .unwrap_or(64)
        .max(1);
    println!(
        "\n== trace uploads, pinned vs pageable, medians of {} ==",
        iters()
    );
    for mib in list("SLOTPROOF_BENCH_UPLOAD_MIB", "64,512") {
        let bytes = mib << 20;
        let height = bytes / 4 / width;
        // Two uploads resident at most (one per backend) while timing.
        let (free, _) = pinned.mem_info().unwrap();
        if 2.0 * bytes as f64 > 0.8 * free as f64 {
            eprintln!("SKIP {mib} MiB: {} MiB free", free >> 20);
            continue;
        }
        // xorshift64*, reduced into [0, p): canonical words, never zeros.
        let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ mib as u64;
        let values: Vec<KoalaBear> = (0..height * width)
            .map(|_| {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                KoalaBear::from_monty_word(
                    ((x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32) % KoalaBear::PRIME,
                )
            })
            .collect();
        let trace = RowMajorMatrix::new(values, width);

        let a = pinned.upload_row_major(&trace).unwrap();
        let b = pageable.upload_row_major(&trace).unwrap();
        assert_eq!(
            pinned.download_words(a.buffer()).unwrap(),
            pageable.download_words(b.buffer()).unwrap(),
            "pinned and pageable uploads differ"
        );
        drop((a, b));

        let tag = format!("{mib} MiB trace ({height} x {width})");
        let p = median(&pinned, || pinned.upload_row_major(&trace).unwrap());
        let q = median(&pageable, || pageable.upload_row_major(&trace).unwrap());
        report(&format!("{tag}, upload_row_major"), bytes, p, q);

        let words = KoalaBear::as_words(&trace.values);
        let p = median(&pinned, || pinned.upload_words(words).unwrap());
        let q = median(&pageable, || pageable.upload_words(words).unwrap());
        report(&format!("{tag}, upload_words"), bytes, p, q);
        eprintln!("staging: {:?}", pinned.staging_stats());
    }
}
