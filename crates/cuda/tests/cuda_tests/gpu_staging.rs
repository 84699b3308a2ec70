//! GPU tests of the pinned upload staging (`slotproof_cuda::staging`): uploads through the
//! pinned slots must land on the device bit for bit as the pageable path's, at every size around
//! the chunk boundaries (slots capped small so that uploads go in many chunks), for plain words
//! and for row-major matrices transposed straight into the slots; back-to-back uploads on two
//! forked streams must survive the host overwriting its source as soon as each call returns.
//! The counters (`CudaBackend::staging_stats`) show the pinned path really ran. Without a usable
//! GPU (or kernels) each GPU test prints `SKIP ...` and passes.

use crate::common;

use common::rng;
use p3_baby_bear::BabyBear;
use p3_koala_bear::KoalaBear;
use p3_matrix::dense::RowMajorMatrix;
use rand::RngExt;
use slotproof_cuda::staging::SLOTS;
use slotproof_cuda::{BackendOptions, CudaBackend, DeviceField, Error};

/// A small slot cap (words), so that modest uploads go through the slots in many chunks.
const CAP: usize = 1000;

/// Device 0 with pinned uploads on or off and slots of `cap` words; `None` (with a `SKIP`
/// line) without a usable GPU or kernels.
fn backend(test: &str, pinned_uploads: bool, cap: usize) -> Option<CudaBackend> {
    common::backend_with(
        test,
        BackendOptions {
            pinned_uploads,
            staging_slot_words: cap,
            ..BackendOptions::default()
        },
    )
}

/// Words neither path could produce by accident (a fixed pattern mixed with random words).
fn words(rng: &mut impl rand::Rng, len: usize) -> Vec<u32> {
    (0..len)
        .map(|i| rng.random::<u32>() ^ (i as u32).rotate_left(13))
        .collect()
}

/// On every machine: a zero slot cap is a typed error, before any device is touched.
#[test]
fn zero_staging_slot_is_rejected() {
    let r = CudaBackend::with_options(
        0,
        BackendOptions {
            staging_slot_words: 0,
            ..BackendOptions::default()
        },
    );
    assert!(matches!(r, Err(Error::InvalidOptions(_))), "{:?}", r.err());
    assert!(BackendOptions::default().pinned_uploads);
}

#[test]
fn gpu_pinned_upload_equals_pageable_at_every_size() {
    let test = "gpu_pinned_upload_equals_pageable_at_every_size";
    let Some(pinned) = backend(test, true, CAP) else {
        return;
    };
    let pageable = backend(test, false, CAP).expect("the device came up above");
    let big = backend(test, true, slotproof_cuda::staging::DEFAULT_SLOT_WORDS)
        .expect("the device came up above");
    let mut rng = rng(test);
    let sizes = [
        0,
        1,
        7,
        CAP - 1,
        CAP,
        CAP + 1,
        2 * CAP - 1,
        2 * CAP,
        2 * CAP + 1,
        5 * CAP + 3,
    ];
    let mut chunks = 0;
    for len in sizes {
        let src = words(&mut rng, len);
        let a = pinned.upload_words(&src).unwrap();
        let b = pageable.upload_words(&src).unwrap();
        let c = big.upload_words(&src).unwrap();
        assert_eq!(a.len(), len);
        let (a, b, c) = (
            pinned.download_words(&a).unwrap(),
            pageable.download_words(&b).unwrap(),
            big.download_words(&c).unwrap(),
        );
        assert_eq!(a, src, "pinned upload of {len} words");
        assert_eq!(b, src, "pageable upload of {len} words");
        assert_eq!(c, src, "one-chunk pinned upload of {len} words");
        chunks += len.div_ceil(CAP) as u64;
    }
    let s = pinned.staging_stats();
    assert_eq!(s.pinned_alloc_failures, 0, "{s:?}");
    assert_eq!(
        s.pinned_copies, chunks,
        "every chunk went through a slot: {s:?}"
    );
    assert_eq!(s.pageable_copies, 0, "{s:?}");
    assert_eq!(s.slot_words, [CAP; SLOTS], "{s:?}");
    let s = pageable.staging_stats();
    assert_eq!(s.pinned_copies, 0, "{s:?}");
    assert_eq!(
        s.slot_words, [0; SLOTS],
        "pinned off allocates no slot: {s:?}"
    );
    // With the default cap every upload is one chunk, on slots grown to a power of two.
    let s = big.staging_stats();
    assert_eq!(
        s.pinned_copies as usize,
        sizes.iter().filter(|&&n| n > 0).count()
    );
    assert!(s.slot_words.iter().all(|w| w.is_power_of_two()), "{s:?}");
}

/// Uploads of mixed sizes (one chunk and several) back to back on two forked streams, all from
/// one host buffer that is overwritten right after each call returns: every device buffer must
/// hold what the source held at the call, so the staging copy is taken before the return and
/// no slot is overwritten while its copy is in flight.
#[test]
fn gpu_back_to_back_uploads_on_two_streams_survive_source_overwrites() {
    let test = "gpu_back_to_back_uploads_on_two_streams_survive_source_overwrites";
    let Some(base) = backend(test, true, 4096) else {
        return;
    };
    let streams = [base.fork_stream().unwrap(), base.fork_stream().unwrap()];
    let mut rng = rng(test);
    let mut source = vec![0u32; 3 * 4096 + 5];
    let mut uploaded = Vec::new();
    for round in 0..12 {
        for (s, b) in streams.iter().enumerate() {
            let len = [1, 4095, 4096, 3 * 4096 + 5, 777][(round + s) % 5];
            let expected = words(&mut rng, len);
            source[..len].copy_from_slice(&expected);
            let buf = b.upload_words(&source[..len]).unwrap();
            // The host reuses its buffer at once (as trace generation would).
            source.iter_mut().for_each(|w| *w = !*w ^ 0x5bd1_e995);
            uploaded.push((s, buf, expected));
        }
    }
    for (s, buf, expected) in &uploaded {
        let got = streams[*s].download_words(buf).unwrap();
        assert_eq!(&got, expected, "stream {s}, {} words", expected.len());
    }
    for b in &streams {
        let st = b.staging_stats();
        assert_eq!(st.pinned_alloc_failures, 0, "{st:?}");
        assert!(st.pinned_copies > SLOTS as u64, "slots were reused: {st:?}");
    }
    assert_eq!(
        base.staging_stats().pinned_copies,
        0,
        "forks have slots of their own"
    );
}

fn row_major_case<F: DeviceField>(test: &str, pinned: &CudaBackend, pageable: &CudaBackend)
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let mut rng = rng(test);
    // Chunks of CAP words start and end inside columns and across several columns.
    for (h, w) in [
        (1, 1),
        (1, 9),
        (3, 5),
        (999, 1),
        (1000, 3),
        (1001, 7),
        (2049, 33),
        (4096, 64),
    ] {
        let m: RowMajorMatrix<F> = common::rand_matrix(&mut rng, h, w);
        let expected: Vec<u32> = common::columns(&m).concat();
        let a = pinned.upload_row_major(&m).unwrap();
        let b = pageable.upload_row_major(&m).unwrap();
        assert_eq!((a.height(), a.width()), (h, w));
        let a = pinned.download_words(a.buffer()).unwrap();
        let b = pageable.download_words(b.buffer()).unwrap();
        assert_eq!(a, expected, "pinned {h} x {w}");
        assert_eq!(b, expected, "pageable {h} x {w}");
        // And back through the row-major download.
        let back = pinned.download_row_major(&pinned.upload_row_major(&m).unwrap());
        assert_eq!(back.unwrap(), m, "{h} x {w} round trip");
    }
}

#[test]
fn gpu_row_major_upload_equals_pageable() {
    let test = "gpu_row_major_upload_equals_pageable";
    let Some(pinned) = backend(test, true, CAP) else {
        return;
    };
    let pageable = backend(test, false, CAP).expect("the device came up above");
    row_major_case::<KoalaBear>(test, &pinned, &pageable);
    row_major_case::<BabyBear>(test, &pinned, &pageable);
    let s = pinned.staging_stats();
    assert!(s.pinned_copies > 0 && s.pinned_alloc_failures == 0, "{s:?}");
    assert_eq!(s.pageable_copies, 0, "{s:?}");
}

/// With profiling on, every staged chunk is timed as one "memcpy h2d".
#[test]
fn gpu_staged_copies_are_profiled() {
    let test = "gpu_staged_copies_are_profiled";
    let Some(b) = common::backend_with(
        test,
        BackendOptions {
            profile_kernels: true,
            staging_slot_words: CAP,
            ..BackendOptions::default()
        },
    ) else {
        return;
    };
    let _ = b.take_kernel_times().unwrap();
    let src = words(&mut rng(test), 4 * CAP + 1);
    let buf = b.upload_words(&src).unwrap();
    let times = b.take_kernel_times().unwrap();
    let h2d = times
        .iter()
        .find(|t| t.name == "memcpy h2d")
        .expect("copies timed");
    assert_eq!(h2d.launches, 5, "{times:?}");
    assert_eq!(b.download_words(&buf).unwrap(), src);
}
