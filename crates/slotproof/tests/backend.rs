//! Backend selection: choosing CUDA where it cannot run is a typed error before any work, and on
//! a GPU a block proof made with the CUDA backend is byte for byte the CPU backend's (both
//! fields) and verifies with the same verifier. Without a GPU the CUDA tests run the unchanged
//! CUDA backend on the stand-in driver (`slotproof-cuda-standin`: the real kernels on the CPU).

use slotproof::executor::BlockInput;
use slotproof::{BackendUnavailable, BlockProver, ProveError, ProverBackend};

/// The repository's `transfers` block; from the working directory when the build's path is
/// absent (a test binary copied to the GPU machine runs from the repository root there).
fn transfers() -> BlockInput {
    let built = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/transfers.json");
    let path = if std::path::Path::new(built).exists() {
        built
    } else {
        "fixtures/transfers.json"
    };
    BlockInput::from_path(path).unwrap()
}

/// The driver the CUDA tests run on, chosen once per process before any device opens: a real
/// CUDA driver when the machine has one (or the library `SLOTPROOF_CUDA_DRIVER` names), else
/// the stand-in driver.
#[cfg(feature = "cuda")]
fn cuda_driver() -> Result<slotproof::cuda::DriverInfo, slotproof::cuda::Error> {
    match slotproof::cuda::probe_driver() {
        Err(slotproof::cuda::Error::DriverNotFound { .. }) => {
            slotproof::cuda::probe_driver_file(slotproof_cuda_standin::LIBRARY_PATH)
        }
        other => other,
    }
}

/// A CUDA device is usable here (a GPU, or the stand-in); `Err` says why not.
#[cfg(feature = "cuda")]
fn cuda_usable() -> Result<(), slotproof::cuda::Error> {
    cuda_driver()?;
    slotproof::cuda::CudaBackend::new().map(drop)
}

#[test]
fn builder_defaults_to_the_cpu() {
    assert_eq!(
        BlockProver::builder().build().backend(),
        &ProverBackend::Cpu
    );
    assert_eq!(
        BlockProver::builder().cuda(2).build().backend(),
        &ProverBackend::Cuda { devices: vec![2] }
    );
    assert_eq!(
        BlockProver::builder()
            .cuda_devices(&[1, 0])
            .build()
            .backend(),
        &ProverBackend::Cuda {
            devices: vec![1, 0]
        }
    );
    assert_eq!(
        BlockProver::builder().cuda(2).cpu().build().backend(),
        &ProverBackend::Cpu
    );
    assert_eq!(
        BlockProver::builder().build().cuda_streams(),
        slotproof::DEFAULT_CUDA_STREAMS
    );
}

/// Without the feature, CUDA is never available: the error says so.
#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_without_the_feature_is_a_typed_error() {
    let result = BlockProver::builder().cuda(0).build().prove(&transfers());
    assert!(matches!(
        result,
        Err(ProveError::Backend(BackendUnavailable::CudaNotCompiled))
    ));
    let msg = result.err().unwrap().to_string();
    assert!(msg.contains("`cuda` feature"), "{msg}");
    assert_eq!(
        BlockProver::builder().cuda(0).build().check_backend(),
        Err(BackendUnavailable::CudaNotCompiled)
    );
    assert_eq!(BlockProver::builder().build().check_backend(), Ok(()));
}

/// With the feature, a device that does not exist is an error on every machine, GPU or not.
#[cfg(feature = "cuda")]
#[test]
fn cuda_on_a_missing_device_is_a_typed_error() {
    let result = BlockProver::builder().cuda(999).build().prove(&transfers());
    assert!(
        matches!(
            result,
            Err(ProveError::Backend(BackendUnavailable::CudaDevice {
                device: 999,
                ..
            }))
        ),
        "{:?}",
        result.err()
    );
}

/// With the feature on a machine without a usable GPU: the error is the device probe's.
#[cfg(feature = "cuda")]
#[test]
fn cuda_without_a_gpu_reports_the_probe_error() {
    // The driver every CUDA test of this process shares (the stand-in when no GPU is present).
    let probe = match cuda_usable() {
        Ok(()) => {
            eprintln!(
                "SKIP cuda_without_a_gpu_reports_the_probe_error: a CUDA driver (GPU or stand-in) is usable"
            );
            return;
        }
        Err(e) => e.to_string(),
    };
    let result = BlockProver::builder().cuda(0).build().prove(&transfers());
    match result {
        Err(ProveError::Backend(BackendUnavailable::CudaDevice { device: 0, reason })) => {
            assert_eq!(reason, probe)
        }
        other => panic!("expected the probe's error, got {:?}", other.err()),
    }
}

/// On a GPU: CPU and CUDA block proofs are the same bytes (both fields; KoalaBear on the
/// stand-in), and so is the
/// aggregated block proof v3 (KoalaBear), and they verify; every shard's measured resident
/// device memory is within its plan.
#[cfg(feature = "cuda")]
#[test]
fn gpu_block_proof_is_the_cpu_block_proof() {
    if let Err(e) = cuda_usable() {
        eprintln!(
            "SKIP gpu_block_proof_is_the_cpu_block_proof: no usable CUDA device/kernels: {e}"
        );
        return;
    }
    use slotproof::aggregated::{AGGREGATED_PROOF_VERSION, AggregatedProof};
    use slotproof::{Field, verify_block_proof};
    let input = transfers();
    // A stand-in run says so wherever the backend is described.
    let standin = cuda_driver().unwrap().is_standin();
    let labelled = BlockProver::builder().cuda(0).build();
    labelled.check_backend().unwrap();
    assert_eq!(labelled.runs_on_standin(), standin);
    assert_eq!(
        labelled.backend_description(),
        if standin {
            "cuda:0 (stand-in)"
        } else {
            "cuda:0"
        }
    );
    // On the stand-in (kernels on the CPU) KoalaBear only: BabyBear's kernels and prover backend
    // are compared with the CPU in crates/cuda's suites.
    let fields: &[Field] = if standin {
        &[Field::KoalaBear]
    } else {
        &[Field::KoalaBear, Field::BabyBear]
    };
    for &field in fields {
        // Two shards (188 steps): chained across a cut, and each padded to its shape. On
        // KoalaBear also aggregated: their leaves, the internal node over them and the root are
        // proven on the same lanes as the shards (on the CUDA backend, the lane's stream). On the
        // stand-in the block is one shard (its leaf and the root): recursion proofs there cost
        // minutes each; the internal node's settings are covered by
        // `gpu_leaf_proof_is_the_cpu_leaf_proof` (every layer's), chained shards by
        // `gpu_streams_and_devices_give_the_cpu_block_proof`.
        let aggregate = field == Field::KoalaBear;
        let rows = if standin { 256 } else { 128 };
        let prove = |backend| {
            BlockProver::builder()
                .max_shard_rows(rows)
                .field(field)
                .backend(backend)
                .aggregate(aggregate)
                .build()
                .prove(&input)
                .unwrap()
        };
        let v3 = |proved: &slotproof::ProvedBlock| {
            let aggregated = proved.aggregated.as_ref().expect("an aggregated proof");
            AggregatedProof::new(&proved.proof, aggregated)
                .unwrap()
                .to_bytes()
                .unwrap()
        };
        let on_cpu = prove(ProverBackend::Cpu);
        let cpu = on_cpu.proof.to_bytes().unwrap();
        let proved = prove(ProverBackend::Cuda { devices: vec![0] });
        if aggregate {
            let (cpu_v3, gpu_v3) = (v3(&on_cpu), v3(&proved));
            assert!(
                cpu_v3 == gpu_v3,
                "the CUDA block proof v3 differs from the CPU's"
            );
            let (version, _) = slotproof::verify_block_proof_version(&gpu_v3).unwrap();
            assert_eq!(version, AGGREGATED_PROOF_VERSION);
        }
        // Every shard's resident device memory is measured, and within its plan.
        for r in &proved.shards {
            let measured = r.measured_device_bytes.expect("measured on CUDA");
            assert!(
                measured > 0 && measured <= r.planned_device_bytes,
                "{field:?}: {r:?}"
            );
        }
        let gpu = proved.proof.to_bytes().unwrap();
        assert_eq!(
            cpu, gpu,
            "{field:?}: CUDA block proof differs from the CPU's"
        );
        verify_block_proof(&gpu).unwrap();
    }
}

/// On a GPU: several shards in flight per device (one stream each), two devices when the
/// machine has them, and shards re-cut to a device memory budget all give the CPU's proof bytes;
/// the report names the device of every shard.
#[cfg(feature = "cuda")]
#[test]
fn gpu_streams_and_devices_give_the_cpu_block_proof() {
    if let Err(e) = cuda_usable() {
        eprintln!(
            "SKIP gpu_streams_and_devices_give_the_cpu_block_proof: no usable CUDA device/kernels: {e}"
        );
        return;
    }
    use slotproof::BlockProverBuilder;
    let input = transfers();
    let prove = |b: BlockProverBuilder| b.max_shard_rows(64).build().prove(&input).unwrap();
    let cpu = prove(BlockProver::builder()).proof.to_bytes().unwrap();
    let check = |gpu: slotproof::ProvedBlock, devices: &[usize], what: &str| {
        assert!(
            gpu.shards
                .iter()
                .all(|r| r.device.is_some_and(|d| devices.contains(&d))),
            "{what}: devices of {:?}",
            gpu.shards
        );
        assert_eq!(
            gpu.proof.to_bytes().unwrap(),
            cpu,
            "{what}: differs from the CPU's"
        );
    };
    // On the stand-in (kernels on the CPU, minutes per block) three streams only: they cover
    // the one-stream path too, a stream taking the next shard when free.
    let standin = cuda_driver().unwrap().is_standin();
    let stream_counts: &[usize] = if standin { &[3] } else { &[1, 3] };
    for &streams in stream_counts {
        let gpu = prove(BlockProver::builder().cuda(0).cuda_streams(streams));
        check(gpu, &[0], &format!("{streams} streams"));
    }
    if slotproof::cuda::CudaBackend::with_options(1, Default::default()).is_ok() {
        let gpu = prove(BlockProver::builder().cuda_devices(&[0, 1]));
        check(gpu, &[0, 1], "devices 0 and 1");
    } else {
        eprintln!("SKIP two devices: only one CUDA device");
    }
    // Every shard here has the smallest shape, whose parts would be padded to it again: a
    // budget just under its plan is the same typed error on both backends.
    let budget = prove(BlockProver::builder()).max_planned_device_bytes() - 1;
    let refuse = |b: BlockProverBuilder| {
        b.max_shard_rows(64)
            .device_memory_budget(Some(budget))
            .build()
            .prove(&input)
            .map(|p| p.shards.len())
            .map_err(|e| e.to_string())
    };
    let cpu_refused = refuse(BlockProver::builder());
    assert!(cpu_refused.is_err(), "{cpu_refused:?}");
    assert_eq!(refuse(BlockProver::builder().cuda(0)), cpu_refused);
}

/// On a GPU: kernel profiling reports device time for the NTT, Merkle, quotient, LogUp and FRI
/// kernels of a block proof, leaves the proof bytes unchanged, and starts afresh per proof.
#[cfg(feature = "cuda")]
#[test]
fn gpu_kernel_times_of_a_block_proof() {
    if let Err(e) = cuda_usable() {
        eprintln!("SKIP gpu_kernel_times_of_a_block_proof: no usable CUDA device/kernels: {e}");
        return;
    }
    let input = transfers();
    // One shard: the block's 188 steps (three proofs on the stand-in, each of a padded shard).
    let build = |profile| {
        BlockProver::builder()
            .cuda(0)
            .profile_kernels(profile)
            .build()
    };
    let profiled = build(true);
    let a = profiled.prove(&input).unwrap();
    let plain = build(false).prove(&input).unwrap();
    assert_eq!(a.proof.to_bytes().unwrap(), plain.proof.to_bytes().unwrap());
    assert!(plain.kernel_times.is_empty());
    for kernel in [
        "ntt_dif_pass",
        "merkle_compress",
        "quotient_eval",
        "logup_fractions",
        "fri_fold",
        "memcpy h2d",
    ] {
        assert!(
            a.kernel_times
                .iter()
                .any(|t| t.name.starts_with(kernel) && t.launches > 0),
            "no device time for {kernel}: {:?}",
            a.kernel_times
        );
    }
    let b = profiled.prove(&input).unwrap();
    // Kernel launches (not copies: twiddle tables are uploaded once per stream and cached).
    let launches = |p: &slotproof::ProvedBlock| {
        p.kernel_times
            .iter()
            .filter(|t| !t.name.starts_with("memcpy"))
            .map(|t| t.launches)
            .sum::<usize>()
    };
    assert_eq!(
        launches(&a),
        launches(&b),
        "each proof reports its own launches only"
    );
}

/// The leaf recursion proof proves on the CUDA backend through the same `Backend` trait as on
/// the CPU, byte for byte the CPU's proof, and the stock verifier accepts it; so it does under
/// the root's settings. (Every recursion
/// table has preprocessed columns: the CUDA backend commits them on the device and does their
/// LogUp and quotient on the host.) The verified shard proof is a small test-AIR proof with few
/// queries, so the leaf stays small enough for the stand-in driver.
#[cfg(feature = "cuda")]
#[test]
fn gpu_leaf_proof_is_the_cpu_leaf_proof() {
    if let Err(e) = cuda_usable() {
        eprintln!("SKIP gpu_leaf_proof_is_the_cpu_leaf_proof: no usable CUDA device/kernels: {e}");
        return;
    }
    use slotproof::leaf::{LEAF_SETTINGS, build_leaf, prove_leaf, verify_leaf};
    use slotproof::prover::{CpuShardProver, FriSettings, ShardProver, proof_to_bytes};
    use slotproof::recursion::MirrorKey;
    use slotproof::recursion::config::Val;
    use std::sync::Arc;

    let shard = slotproof_prover::test_airs::Shard::<Val>::two_tables(6, 5, 3);
    let settings = FriSettings {
        num_queries: 4,
        query_pow_bits: 2,
        ..FriSettings::DEFAULT
    };
    let prover: CpuShardProver<Val> = ShardProver::cpu(settings);
    let proof = prover
        .prove(&shard.airs, &shard.traces, &shard.public_values)
        .unwrap();
    let data = prover.setup(&shard.airs, &proof.degree_bits).unwrap();
    let key = MirrorKey::new(settings, &shard.airs, &proof.degree_bits, &data.common).unwrap();
    let (circuit, witness) = build_leaf(&key, &proof, &shard.public_values).unwrap();

    let engine = Arc::new(slotproof::cuda::CudaBackend::new().unwrap());
    // Under every recursion layer's settings: the leaves' and internal nodes' (arity 2, one
    // Merkle root) and the root's (arity-8 folds, a final polynomial of 64, Merkle caps).
    for layer in &slotproof::aggregate::LAYERS[1..] {
        let settings = layer.settings;
        let cpu: CpuShardProver<Val> = ShardProver::cpu(settings);
        let cpu_key = circuit.keygen(&cpu).unwrap();
        let on_cpu = prove_leaf(&cpu, &cpu_key, &circuit, &witness).unwrap();

        let gpu = ShardProver::with_backend(settings, |_, s| {
            slotproof::cuda::CudaProverBackend::<Val, _>::with_engine(engine.clone(), s)
        });
        let gpu_key = circuit.keygen(&gpu).unwrap();
        let on_gpu = prove_leaf(&gpu, &gpu_key, &circuit, &witness).unwrap();
        assert_eq!(
            proof_to_bytes(&on_gpu.proof.proof).unwrap(),
            proof_to_bytes(&on_cpu.proof.proof).unwrap(),
            "the CUDA proof under the {} settings differs from the CPU's",
            layer.name
        );
        verify_leaf(&cpu, &cpu_key, &circuit, &on_gpu.proof).unwrap();
    }
    assert_eq!(slotproof::aggregate::LAYERS[1].settings, LEAF_SETTINGS);
}
