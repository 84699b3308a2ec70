//! GPU tests: every kernel against Plonky3, bit for bit, on fresh random inputs, with every
//! buffer the backend allocates poisoned (0xFFFF_FFFF, not a canonical field word) so unwritten
//! outputs fail the download check. On a machine without a usable GPU (or a build without
//! kernels) each test prints `SKIP ...` and passes.
//!
//! The NTT runs with the plan the device's shared memory allows (two passes up to 2^24 rows on
//! sm_90) and, in `gpu_ntt_and_lde_match_plonky3_with_every_plan`, with the 48 KiB fallback and
//! small multi-pass plans.
//!
//! Sizes: `SLOTPROOF_GPU_MIN_LOG_N` (default 1) ..= `SLOTPROOF_GPU_MAX_LOG_N` (default 20; up to
//! 24 on the GPU machine), widths `SLOTPROOF_GPU_WIDTHS` (default "1,3,7"; widths above
//! 2^16 rows are cut to the first two to bound the CPU reference time).

use crate::common;

use common::{checked_backend as backend, skip};

use common::*;
use p3_baby_bear::BabyBear;
use p3_field::extension::BinomialExtensionField;
use p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing};
use p3_koala_bear::KoalaBear;
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use p3_symmetric::Permutation;
use rand::RngExt;
use slotproof_cuda::plan::{DEFAULT_SHARED_BYTES, NttLimits, SM90_SHARED_OPTIN_BYTES};
use slotproof_cuda::{CudaBackend, ElementwiseOp, Error};

fn min_log() -> u32 {
    env_usize("SLOTPROOF_GPU_MIN_LOG_N", 1) as u32
}

fn max_log() -> u32 {
    // The stand-in driver runs the kernels on the CPU: smaller transforms there.
    env_size("SLOTPROOF_GPU_MAX_LOG_N", 20, 10) as u32
}

fn widths(log_n: u32) -> Vec<usize> {
    let all: Vec<usize> = std::env::var("SLOTPROOF_GPU_WIDTHS")
        .ok()
        .map(|s| s.split(',').filter_map(|w| w.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 3, 7]);
    if log_n > 16 {
        all.into_iter().take(2).collect()
    } else {
        all
    }
}

/// Without a GPU the backend must fail with a typed error, consistently with the probe; with
/// one, it must come up. Never a panic.
#[test]
fn gpu_backend_creation_agrees_with_probe() {
    // The driver of this process (the stand-in when the machine has none).
    let probe = common::driver();
    let backend = CudaBackend::new();
    match (&probe, &backend) {
        (Ok(info), Ok(_)) => {
            assert!(info.device_count > 0);
            assert!(slotproof_cuda::kernels::available());
        }
        (Ok(_), Err(Error::KernelsNotBuilt)) => {
            assert!(!slotproof_cuda::kernels::available());
            skip(
                "gpu_backend_creation_agrees_with_probe",
                "driver present but built without kernels",
            );
        }
        (Ok(_), Err(e)) => panic!("driver probe succeeded but the backend failed: {e}"),
        (Err(pe), Err(be)) => {
            assert_eq!(pe.to_string(), be.to_string());
            skip("gpu_backend_creation_agrees_with_probe", &pe.to_string());
        }
        (Err(pe), Ok(_)) => panic!("probe failed ({pe}) but a backend was created"),
    }
}

fn field_ops<F>(b: &CudaBackend)
where
    F: TestField + p3_field::extension::BinomiallyExtendable<4>,
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let mut rng = rng(F::NAME);
    let n = 1 << 16;
    let xs: Vec<F> = (0..n).map(|_| rng.random()).collect();
    let ys: Vec<F> = (0..n).map(|_| rng.random()).collect();
    let (da, db) = (
        b.upload_words(F::as_words(&xs)).unwrap(),
        b.upload_words(F::as_words(&ys)).unwrap(),
    );
    let run = |op| {
        F::vec_from_words(
            b.download_words(&b.elementwise::<F>(op, &da, &db).unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    let zip =
        |f: &dyn Fn(F, F) -> F| -> Vec<F> { xs.iter().zip(&ys).map(|(&x, &y)| f(x, y)).collect() };
    assert_eq!(run(ElementwiseOp::Add), zip(&|x, y| x + y));
    assert_eq!(run(ElementwiseOp::Sub), zip(&|x, y| x - y));
    assert_eq!(run(ElementwiseOp::Mul), zip(&|x, y| x * y));
    assert_eq!(run(ElementwiseOp::Halve), zip(&|x, _| x.halve()));
    assert_eq!(
        run(ElementwiseOp::Sbox),
        zip(&|x, _| x.exp_u64(F::POSEIDON2_SBOX_DEGREE))
    );
    type E<F> = BinomialExtensionField<F, 4>;
    let ext = |v: &[F]| -> Vec<E<F>> {
        v.chunks_exact(4)
            .map(|c| E::<F>::from_basis_coefficients_slice(c).unwrap())
            .collect()
    };
    let (ex, ey) = (ext(&xs), ext(&ys));
    let flat = |v: Vec<E<F>>| -> Vec<F> {
        v.iter()
            .flat_map(|e| e.as_basis_coefficients_slice().to_vec())
            .collect()
    };
    let ezip =
        |f: &dyn Fn(E<F>, E<F>) -> E<F>| flat(ex.iter().zip(&ey).map(|(&x, &y)| f(x, y)).collect());
    assert_eq!(run(ElementwiseOp::ExtAdd), ezip(&|x, y| x + y));
    assert_eq!(run(ElementwiseOp::ExtSub), ezip(&|x, y| x - y));
    assert_eq!(run(ElementwiseOp::ExtMul), ezip(&|x, y| x * y));
}

#[test]
fn gpu_field_ops_match_plonky3() {
    let Some(b) = backend("gpu_field_ops_match_plonky3") else {
        return;
    };
    field_ops::<KoalaBear>(&b);
    field_ops::<BabyBear>(&b);
}

fn poseidon2<F: TestField>(b: &CudaBackend)
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let mut rng = rng(F::NAME);
    let perm = F::default_perm();
    let states: Vec<[F; 16]> = (0..10_000)
        .map(|_| core::array::from_fn(|_| rng.random()))
        .collect();
    let flat: Vec<F> = states.iter().flatten().copied().collect();
    let out = b
        .poseidon2_permute_batch::<F>(&b.upload_words(F::as_words(&flat)).unwrap())
        .unwrap();
    let got = F::vec_from_words(b.download_words(&out).unwrap()).unwrap();
    let expect: Vec<F> = states.iter().flat_map(|s| perm.permute(*s)).collect();
    assert_eq!(got, expect);
}

#[test]
fn gpu_poseidon2_matches_plonky3() {
    let Some(b) = backend("gpu_poseidon2_matches_plonky3") else {
        return;
    };
    poseidon2::<KoalaBear>(&b);
    poseidon2::<BabyBear>(&b);
}

#[test]
fn gpu_upload_download_roundtrip() {
    let Some(b) = backend("gpu_upload_download_roundtrip") else {
        return;
    };
    let mut rng = rng("roundtrip");
    let m: RowMajorMatrix<KoalaBear> = rand_matrix(&mut rng, 1 << 10, 7);
    let d = b.upload_row_major(&m).unwrap();
    assert_eq!((d.height(), d.width()), (1 << 10, 7));
    assert_eq!(b.download_row_major(&d).unwrap(), m);
    // Column-major on the device: column c is contiguous.
    let cols = b.download_columns(&d).unwrap();
    for c in 0..7 {
        for r in 0..1 << 10 {
            assert_eq!(cols[c * (1 << 10) + r], m.values[r * 7 + c]);
        }
    }
}

fn ntt<F: TestField>(b: &CudaBackend, max_log_n: u32)
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let mut rng = rng(F::NAME);
    for log_n in min_log()..=max_log_n.min(F::TWO_ADICITY as u32) {
        for w in widths(log_n) {
            let m: RowMajorMatrix<F> = rand_matrix(&mut rng, 1 << log_n, w);
            let mut d = b.upload_row_major(&m).unwrap();
            b.dft_bitrev_in_place(&mut d).unwrap();
            assert_eq!(
                b.download_row_major(&d).unwrap(),
                p3_dft_bitrev(m.clone()),
                "{} dft 2^{log_n} x {w}",
                F::NAME
            );
            let d = b.upload_row_major(&m).unwrap();
            let c = b.idft(&d).unwrap();
            assert_eq!(
                b.download_row_major(&c).unwrap(),
                p3_idft(m),
                "{} idft 2^{log_n} x {w}",
                F::NAME
            );
        }
    }
}

#[test]
fn gpu_ntt_matches_plonky3() {
    let Some(b) = backend("gpu_ntt_matches_plonky3") else {
        return;
    };
    ntt::<KoalaBear>(&b, max_log());
    ntt::<BabyBear>(&b, max_log());
}

fn lde<F: TestField>(b: &CudaBackend, max_log_n: u32)
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let mut rng = rng(F::NAME);
    for log_n in min_log()..=max_log_n {
        for log_blowup in [1u32, 2, 3] {
            if (log_n + log_blowup) as usize > F::TWO_ADICITY || (log_n >= 20 && log_blowup == 3) {
                continue;
            }
            for w in widths(log_n) {
                let m: RowMajorMatrix<F> = rand_matrix(&mut rng, 1 << log_n, w);
                let d = b.upload_row_major(&m).unwrap();
                let out = b.coset_lde_bitrev(&d, log_blowup, F::GENERATOR).unwrap();
                let expect = p3_lde(m.clone(), log_blowup as usize, F::GENERATOR);
                assert_eq!(
                    b.download_row_major(&out).unwrap(),
                    expect,
                    "{} LDE 2^{log_n} x {w} blowup 2^{log_blowup}",
                    F::NAME
                );
                // The input is untouched, and the consuming variant gives the same result.
                assert_eq!(b.download_row_major(&d).unwrap(), m);
                let owned = b
                    .coset_lde_bitrev_owned(d, log_blowup, F::GENERATOR)
                    .unwrap();
                assert_eq!(
                    b.download_row_major(&owned).unwrap(),
                    expect,
                    "{} owned LDE 2^{log_n} x {w}",
                    F::NAME
                );
            }
        }
    }
}

#[test]
fn gpu_coset_lde_matches_plonky3() {
    let Some(b) = backend("gpu_coset_lde_matches_plonky3") else {
        return;
    };
    lde::<KoalaBear>(&b, max_log());
    lde::<BabyBear>(&b, max_log());
}

/// The device's NTT plan comes from its opt-in shared memory: on sm_90 (227 KiB) it is
/// `NttLimits::DEVICE`, two passes up to 2^24 rows, with tiles above the default 48 KiB (so the
/// kernel's `MAX_DYNAMIC_SHARED_SIZE_BYTES` opt-in is exercised by every strided pass). Limits
/// the device cannot run are a typed error.
#[test]
fn gpu_ntt_plan_follows_the_device_shared_memory() {
    let Some(mut b) = backend("gpu_ntt_plan_follows_the_device_shared_memory") else {
        return;
    };
    let optin = b.shared_memory_optin_bytes();
    eprintln!("shared memory per block (opt-in): {optin} bytes");
    assert_eq!(b.ntt_limits(), NttLimits::for_shared_memory(optin));
    if optin >= SM90_SHARED_OPTIN_BYTES {
        assert_eq!(b.ntt_limits(), NttLimits::DEVICE);
        assert_eq!(b.ntt_plan(24).len(), 2);
        assert!(b.ntt_plan(24)[0].shared_bytes() > DEFAULT_SHARED_BYTES);
    }
    let too_big = NttLimits {
        max_final_stages: 20,
        ..NttLimits::DEVICE
    };
    assert!(matches!(
        b.set_ntt_limits(too_big),
        Err(Error::InvalidNttLimits(_))
    ));
    let too_many_regs = NttLimits {
        max_log_regs: 4,
        ..NttLimits::DEVICE
    };
    assert!(matches!(
        b.set_ntt_limits(too_many_regs),
        Err(Error::InvalidNttLimits(_))
    ));
    assert_eq!(b.ntt_limits(), NttLimits::for_shared_memory(optin));
}

/// The other plans the reference model checks, on the device: the 48 KiB fallback (3 passes
/// at 2^24), and small tiles that give 3 to 6 passes at moderate sizes, with a warp phase on
/// every pass (MID) or none (SMALL). Up to 2^20 rows (`SLOTPROOF_GPU_MAX_LOG_N` when lower).
#[test]
fn gpu_ntt_and_lde_match_plonky3_with_every_plan() {
    let Some(mut b) = backend("gpu_ntt_and_lde_match_plonky3_with_every_plan") else {
        return;
    };
    let plans = [
        NttLimits::for_shared_memory(DEFAULT_SHARED_BYTES),
        NttLimits {
            max_final_stages: 7,
            max_strided_stages: 5,
            log_lanes: 2,
            max_log_regs: 2,
            max_threads: 64,
        },
        NttLimits {
            max_final_stages: 3,
            max_strided_stages: 2,
            log_lanes: 1,
            max_log_regs: 0,
            max_threads: 32,
        },
    ];
    let max = max_log().min(20);
    for limits in plans {
        b.set_ntt_limits(limits).unwrap();
        eprintln!(
            "plan {limits:?}: 2^{max} rows in {} passes",
            b.ntt_plan(max).len()
        );
        ntt::<KoalaBear>(&b, max);
        ntt::<BabyBear>(&b, max);
        lde::<KoalaBear>(&b, max);
        lde::<BabyBear>(&b, max);
    }
}

fn merkle<F: TestField>(b: &CudaBackend)
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let mut rng = rng(F::NAME);
    for log_n in min_log()..=max_log() {
        let h = 1usize << log_n;
        // Tallest matrices concatenated, shorter ones injected, odd widths.
        let mut shapes: Vec<Vec<(usize, usize)>> = vec![vec![(h, 5)], vec![(h, 16), (h, 3)]];
        if log_n >= 3 {
            shapes.push(vec![(h / 4, 7), (h, 9), (h / 2, 1), (h / 4, 2), (h / 8, 8)]);
        }
        for shape in shapes {
            let mats: Vec<RowMajorMatrix<F>> = shape
                .iter()
                .map(|&(hh, w)| rand_matrix(&mut rng, hh, w))
                .collect();
            let dev: Vec<_> = mats
                .iter()
                .map(|m| b.upload_row_major(m).unwrap())
                .collect();
            let refs: Vec<_> = dev.iter().collect();
            let indices = [0, h - 1, rng.random_range(0..h)];
            for cap_height in [0usize, 1, 3] {
                let tree = b.merkle_commit(&refs, cap_height).unwrap();
                let (p3_cap, openings) = F::p3_cap_and_openings(mats.clone(), cap_height, &indices);
                assert_eq!(
                    tree.cap(b).unwrap(),
                    p3_cap,
                    "{} cap {shape:?} cap_height {cap_height}",
                    F::NAME
                );
                let layers: Vec<Vec<[F; 8]>> = (0..tree.num_layers())
                    .map(|k| tree.layer(b, k).unwrap())
                    .collect();
                let device_openings = b.open_batches(&refs, &tree, &indices).unwrap();
                for ((&index, (values, path)), dev) in
                    indices.iter().zip(&openings).zip(&device_openings)
                {
                    assert_eq!(path.len(), tree.num_layers() - 1 - tree.cap_height());
                    assert_eq!(
                        &tree.path(b, index).unwrap(),
                        path,
                        "{} path {index} {shape:?}",
                        F::NAME
                    );
                    assert_eq!(
                        &dev.opening_proof,
                        path,
                        "{} opening proof {index} {shape:?}",
                        F::NAME
                    );
                    assert_eq!(
                        &dev.opened_values,
                        values,
                        "{} opened rows {index} {shape:?}",
                        F::NAME
                    );
                    for (k, sib) in path.iter().enumerate() {
                        assert_eq!(
                            layers[k][(index >> k) ^ 1],
                            *sib,
                            "{} layer {k} {shape:?}",
                            F::NAME
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn gpu_merkle_commit_matches_plonky3() {
    let Some(b) = backend("gpu_merkle_commit_matches_plonky3") else {
        return;
    };
    merkle::<KoalaBear>(&b);
    merkle::<BabyBear>(&b);
}

/// TwoAdicFriPcs::commit on the device: LDE (blowup 2, shift GENERATOR, bit-reversed rows) of
/// matrices of several heights, then one Merkle commitment over all of them.
fn pcs_commit_pipeline<F: TestField>(b: &CudaBackend)
where
    rand::distr::StandardUniform: rand::distr::Distribution<F>,
{
    let mut rng = rng(F::NAME);
    let log_n = max_log().min(18);
    let traces: Vec<RowMajorMatrix<F>> = [(log_n, 11usize), (log_n - 1, 3), (log_n, 1)]
        .iter()
        .map(|&(l, w)| rand_matrix(&mut rng, 1 << l, w))
        .collect();
    let ldes_cpu: Vec<RowMajorMatrix<F>> = traces
        .iter()
        .map(|m| p3_lde(m.clone(), 1, F::GENERATOR))
        .collect();
    let ldes_gpu: Vec<_> = traces
        .iter()
        .map(|m| {
            b.coset_lde_bitrev(&b.upload_row_major(m).unwrap(), 1, F::GENERATOR)
                .unwrap()
        })
        .collect();
    for (g, t) in ldes_gpu.iter().zip(&traces) {
        assert_eq!(g.height(), 2 * t.height());
    }
    let refs: Vec<_> = ldes_gpu.iter().collect();
    let tree = b.merkle_commit(&refs, 2).unwrap();
    let leaves = tree.num_leaves();
    let indices: Vec<usize> = (0..20).map(|_| rng.random_range(0..leaves)).collect();
    let (cap, openings) = F::p3_cap_and_openings(ldes_cpu, 2, &indices);
    assert_eq!(tree.cap(b).unwrap(), cap);
    let device_openings = b.open_batches(&refs, &tree, &indices).unwrap();
    for ((values, proof), dev) in openings.iter().zip(&device_openings) {
        assert_eq!(&dev.opened_values, values);
        assert_eq!(&dev.opening_proof, proof);
    }
}

#[test]
fn gpu_lde_then_commit_matches_plonky3_pcs_commit() {
    let Some(b) = backend("gpu_lde_then_commit_matches_plonky3_pcs_commit") else {
        return;
    };
    pcs_commit_pipeline::<KoalaBear>(&b);
    pcs_commit_pipeline::<BabyBear>(&b);
}

/// Errors, not panics, for shapes the device code does not support.
#[test]
fn gpu_rejects_bad_shapes() {
    let Some(b) = backend("gpu_rejects_bad_shapes") else {
        return;
    };
    let m = b
        .upload_columns::<KoalaBear>(&[KoalaBear::ONE; 6], 6, 1)
        .unwrap();
    assert!(matches!(
        b.coset_lde_bitrev(&m, 1, KoalaBear::GENERATOR),
        Err(Error::InvalidShape(_))
    ));
    assert!(matches!(
        b.merkle_commit(&[&m], 0),
        Err(Error::InvalidShape(_))
    ));
    assert!(
        b.upload_columns::<KoalaBear>(&[KoalaBear::ONE; 5], 3, 2)
            .is_err()
    );
}

/// More columns than the grid's y limit (65,535): the launches are split into column chunks.
#[test]
fn gpu_many_columns_use_chunked_launches() {
    let Some(b) = backend("gpu_many_columns_use_chunked_launches") else {
        return;
    };
    let mut rng = rng("many-columns");
    let m: RowMajorMatrix<KoalaBear> = rand_matrix(&mut rng, 8, 65_537);
    let mut d = b.upload_row_major(&m).unwrap();
    let lde = b.coset_lde_bitrev(&d, 1, KoalaBear::GENERATOR).unwrap();
    assert_eq!(
        b.download_row_major(&lde).unwrap(),
        p3_lde(m.clone(), 1, KoalaBear::GENERATOR)
    );
    b.dft_bitrev_in_place(&mut d).unwrap();
    assert_eq!(b.download_row_major(&d).unwrap(), p3_dft_bitrev(m));
}

/// Forked streams share the context and kernels but run on their own streams: LDEs computed on
/// three streams at once (one thread each, inputs uploaded and results downloaded on the
/// stream that computes them) match Plonky3.
#[test]
fn gpu_forked_streams_compute_concurrently() {
    let Some(b) = backend("gpu_forked_streams_compute_concurrently") else {
        return;
    };
    let forks: Vec<CudaBackend> = (0..3).map(|_| b.fork_stream().unwrap()).collect();
    assert!(forks.iter().all(|f| f.options() == b.options()));
    assert!(
        forks
            .windows(2)
            .all(|w| !std::sync::Arc::ptr_eq(w[0].stream(), w[1].stream()))
    );
    std::thread::scope(|scope| {
        for (k, fork) in forks.iter().enumerate() {
            scope.spawn(move || {
                let mut rng = rng(&format!("forked stream {k}"));
                let m: RowMajorMatrix<KoalaBear> = rand_matrix(&mut rng, 1 << (14 + k), 3);
                for _ in 0..4 {
                    let d = fork.upload_row_major(&m).unwrap();
                    let out = fork.coset_lde_bitrev(&d, 1, KoalaBear::GENERATOR).unwrap();
                    assert_eq!(
                        fork.download_row_major(&out).unwrap(),
                        p3_lde(m.clone(), 1, KoalaBear::GENERATOR),
                        "stream {k}"
                    );
                }
                fork.synchronize().unwrap();
            });
        }
    });
}

/// Device buffers and whole backends dropped on a thread where the context was never made
/// current: cudarc's free does not bind the context, so without the buffer's own binding the
/// free fails and the recorded error comes back from a later, unrelated call (here the
/// synchronize). A fork dropped with work still queued waits for it first.
#[test]
fn gpu_buffers_and_backends_drop_on_any_thread() {
    let Some(b) = backend("gpu_buffers_and_backends_drop_on_any_thread") else {
        return;
    };
    let buffers: Vec<_> = (0..4u32)
        .map(|i| b.upload_words(&vec![i; 1 << 12]).unwrap())
        .collect();
    std::thread::spawn(move || drop(buffers)).join().unwrap();
    b.synchronize()
        .expect("buffers freed on another thread leave no error behind");

    let fork = b.fork_stream().unwrap();
    let queued = fork.upload_words(&vec![5u32; 1 << 16]).unwrap();
    let copy = fork.copy(&queued).unwrap();
    std::thread::spawn(move || {
        drop((queued, copy));
        drop(fork);
    })
    .join()
    .unwrap();
    b.synchronize()
        .expect("a backend dropped on another thread with queued work leaves no error behind");
    let again = b.upload_words(&[7u32; 16]).unwrap();
    assert_eq!(b.download_words(&again).unwrap(), vec![7u32; 16]);
}
