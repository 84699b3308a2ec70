//! Where shard proofs are computed: the CPU (default) or a CUDA device (cargo feature `cuda`).
//!
//! Both backends run the same pipeline (`slotproof_prover::ShardProver`) and produce the same
//! proof bytes for the same shard and settings, so a block proof does not record which one made
//! it and `verify_block_proof` is the same for both. Choosing CUDA where it cannot run (feature
//! off, no driver, no device, an empty or repeated device list, no kernels in the build) is a
//! [`BackendUnavailable`] error when proving starts, never a panic.
//!
//! CUDA proving is organised in lanes: every listed device opens `streams` backends (one
//! stream each, forked from one context) and every lane proves one shard at a time, taking the
//! next unproven shard when it is free. That work queue is least-loaded assignment: a device
//! whose shards are small or fast simply takes more of them, which round-robin would not do.

use slotproof_air::shard::Shard;
use slotproof_prover::{
    BabyBear, Backend, CpuShardProver, FriSettings, KoalaBear, PhaseTimings, ProverConfig,
    ShardProver, proof_to_bytes,
};
use thiserror::Error;

use crate::tree_jobs::{NodeProvers, NodeProving};

use std::sync::Arc;
#[cfg(feature = "cuda")]
use std::sync::OnceLock;

/// The backend a [`crate::BlockProver`] proves shards on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ProverBackend {
    /// Plonky3's DFT, Merkle tree and FRI on the host (rayon).
    #[default]
    Cpu,
    /// `slotproof_cuda::CudaProverBackend` on these CUDA devices (ordinals, each once): coset
    /// LDE and Merkle commitments on the GPU, the other steps on the host. Shards are handed to
    /// the devices' streams as they free up.
    Cuda { devices: Vec<usize> },
}

impl ProverBackend {
    /// `cpu` or `cuda`.
    pub fn name(&self) -> &'static str {
        match self {
            ProverBackend::Cpu => "cpu",
            ProverBackend::Cuda { .. } => "cuda",
        }
    }

    /// `cpu`, or `cuda` on `devices`.
    pub fn from_name(name: &str, devices: &[usize]) -> Option<Self> {
        match name {
            "cpu" => Some(ProverBackend::Cpu),
            "cuda" => Some(ProverBackend::Cuda {
                devices: devices.to_vec(),
            }),
            _ => None,
        }
    }

    /// Whether proofs run on the CPU.
    pub fn is_cpu(&self) -> bool {
        matches!(self, ProverBackend::Cpu)
    }
}

/// Suffix of a backend's description when its CUDA driver is the CPU stand-in: what is
/// measured under it is never a GPU figure.
pub const STANDIN_LABEL: &str = "(stand-in)";

/// `backend` as reports print it: its name and devices, and [`STANDIN_LABEL`] when the CUDA
/// driver is the stand-in (e.g. `cuda:0 (stand-in)`).
pub fn describe_backend(backend: &ProverBackend, standin: bool) -> String {
    if standin && !backend.is_cpu() {
        format!("{backend} {STANDIN_LABEL}")
    } else {
        backend.to_string()
    }
}

impl std::fmt::Display for ProverBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProverBackend::Cpu => f.write_str("cpu"),
            ProverBackend::Cuda { devices } => {
                let list: Vec<String> = devices.iter().map(usize::to_string).collect();
                write!(f, "cuda:{}", list.join(","))
            }
        }
    }
}

/// Why the chosen backend cannot prove.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum BackendUnavailable {
    #[error(
        "the cuda backend is not in this build (build slotproof with the `cuda` feature, e.g. `cargo build -p slotproof-cli --features cuda`)"
    )]
    CudaNotCompiled,
    #[error("the cuda backend needs at least one device")]
    NoCudaDevices,
    #[error("CUDA device {0} is listed twice")]
    DuplicateCudaDevice(usize),
    #[error("{0} shards in flight per device: at least 1 is needed")]
    NoStreams(usize),
    /// The driver probe, context creation, stream creation or kernel loading failed
    /// (`slotproof_cuda::Error`).
    #[error("CUDA device {device} is not usable: {reason}")]
    CudaDevice { device: usize, reason: String },
}

/// Shards proven at once on each CUDA device by default (one stream each).
pub const DEFAULT_CUDA_STREAMS: usize = 2;

/// Device memory left out of every shard's budget: the context, the loaded kernels, the
/// per-stream twiddle tables and allocator granularity.
pub const DEVICE_HEADROOM_BYTES: u64 = 512 << 20;

/// Checks a device list before anything is opened.
fn check_devices(devices: &[usize], streams: usize) -> Result<(), BackendUnavailable> {
    if devices.is_empty() {
        return Err(BackendUnavailable::NoCudaDevices);
    }
    if streams == 0 {
        return Err(BackendUnavailable::NoStreams(streams));
    }
    for (i, d) in devices.iter().enumerate() {
        if devices[..i].contains(d) {
            return Err(BackendUnavailable::DuplicateCudaDevice(*d));
        }
    }
    Ok(())
}

/// One opened CUDA device: a backend (its own stream) per shard in flight on it.
#[cfg(feature = "cuda")]
pub(crate) struct OpenedDevice {
    pub(crate) ordinal: usize,
    pub(crate) streams: Vec<Arc<slotproof_cuda::CudaBackend>>,
}

/// The CUDA devices a prover opened, kept for the prover's lifetime (one context, one set of
/// loaded kernels and the streams of every device for every block it proves); empty for the CPU
/// or before the first proof.
#[derive(Clone, Default)]
pub(crate) struct DevicePool {
    #[cfg(feature = "cuda")]
    opened: Arc<OnceLock<Result<Vec<OpenedDevice>, BackendUnavailable>>>,
    /// Open the devices with per-kernel CUDA-event timing.
    profile_kernels: bool,
}

/// Device time of one kernel (or of host/device copies, `memcpy h2d` / `memcpy d2h`) summed
/// over every stream of every device during one block proof (CUDA events; see
/// [`crate::BlockProverBuilder::profile_kernels`]).
#[derive(Clone, Debug, PartialEq)]
pub struct KernelTime {
    pub name: String,
    pub launches: usize,
    pub device_ms: f64,
}

impl KernelTime {
    /// `times` (of several streams, devices or runs) summed per kernel, largest first.
    pub fn summed(times: impl IntoIterator<Item = KernelTime>) -> Vec<KernelTime> {
        let mut by_name: std::collections::BTreeMap<String, (usize, f64)> = Default::default();
        for t in times {
            let e = by_name.entry(t.name).or_default();
            e.0 += t.launches;
            e.1 += t.device_ms;
        }
        let mut out: Vec<KernelTime> = by_name
            .into_iter()
            .map(|(name, (launches, device_ms))| KernelTime {
                name,
                launches,
                device_ms,
            })
            .collect();
        out.sort_by(|a, b| b.device_ms.total_cmp(&a.device_ms));
        out
    }
}

impl std::fmt::Debug for DevicePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        #[cfg(feature = "cuda")]
        let opened = self.opened.get().map(|r| r.is_ok());
        #[cfg(not(feature = "cuda"))]
        let opened: Option<bool> = None;
        f.debug_struct("DevicePool")
            .field("opened", &opened)
            .field("profile_kernels", &self.profile_kernels)
            .finish()
    }
}

impl DevicePool {
    /// A pool that opens its devices with (or without) per-kernel timing.
    pub(crate) fn new(profile_kernels: bool) -> Self {
        Self {
            #[cfg(feature = "cuda")]
            opened: Default::default(),
            profile_kernels,
        }
    }

    /// The device time per kernel since the last call, summed over every stream of every
    /// opened device, largest first; empty without profiling or without opened devices.
    pub(crate) fn take_kernel_times(&self) -> Result<Vec<KernelTime>, BackendUnavailable> {
        #[cfg(feature = "cuda")]
        if let Some(Ok(devices)) = self.opened.get() {
            let mut all = Vec::new();
            for d in devices {
                for stream in &d.streams {
                    let times =
                        stream
                            .take_kernel_times()
                            .map_err(|e| BackendUnavailable::CudaDevice {
                                device: d.ordinal,
                                reason: e.to_string(),
                            })?;
                    all.extend(times.into_iter().map(|t| KernelTime {
                        name: t.name.to_string(),
                        launches: t.launches,
                        device_ms: t.total_ms,
                    }));
                }
            }
            return Ok(KernelTime::summed(all));
        }
        Ok(Vec::new())
    }

    /// Checks that `backend` can prove here, opening the CUDA devices (and `streams` streams on
    /// each) on first use.
    pub(crate) fn ensure(
        &self,
        backend: &ProverBackend,
        streams: usize,
    ) -> Result<(), BackendUnavailable> {
        match backend {
            ProverBackend::Cpu => Ok(()),
            ProverBackend::Cuda { devices } => {
                check_devices(devices, streams)?;
                self.open(devices, streams).map(|_| ())
            }
        }
    }

    #[cfg(feature = "cuda")]
    fn open(
        &self,
        devices: &[usize],
        streams: usize,
    ) -> Result<&[OpenedDevice], BackendUnavailable> {
        let opened = self.opened.get_or_init(|| {
            devices
                .iter()
                .map(|&device| {
                    let unusable = |e: slotproof_cuda::Error| BackendUnavailable::CudaDevice {
                        device,
                        reason: e.to_string(),
                    };
                    let options = slotproof_cuda::BackendOptions {
                        profile_kernels: self.profile_kernels,
                        ..Default::default()
                    };
                    let first = slotproof_cuda::CudaBackend::with_options(device, options)
                        .map_err(unusable)?;
                    // Every shard gets a non-blocking stream of its own (the context's default
                    // stream would serialise with them).
                    let streams = (0..streams)
                        .map(|_| first.fork_stream().map(Arc::new).map_err(unusable))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(OpenedDevice {
                        ordinal: device,
                        streams,
                    })
                })
                .collect()
        });
        opened.as_deref().map_err(Clone::clone)
    }

    #[cfg(not(feature = "cuda"))]
    fn open(&self, _devices: &[usize], _streams: usize) -> Result<(), BackendUnavailable> {
        Err(BackendUnavailable::CudaNotCompiled)
    }

    /// Whether the opened CUDA devices run on the stand-in driver (`slotproof-cuda-standin`:
    /// the kernels on the CPU); false for the CPU backend or before the devices are opened.
    pub(crate) fn runs_on_standin(&self) -> bool {
        #[cfg(feature = "cuda")]
        if let Some(Ok(devices)) = self.opened.get() {
            return devices
                .iter()
                .flat_map(|d| d.streams.iter())
                .any(|s| s.driver_info().is_standin());
        }
        false
    }

    /// The device memory one shard may plan for: the least, over the devices, of the free
    /// memory less [`DEVICE_HEADROOM_BYTES`] shared by the shards in flight on it. `None` for
    /// the CPU.
    pub(crate) fn shard_budget(
        &self,
        backend: &ProverBackend,
        streams: usize,
    ) -> Result<Option<u64>, BackendUnavailable> {
        match backend {
            ProverBackend::Cpu => Ok(None),
            #[cfg(feature = "cuda")]
            ProverBackend::Cuda { devices } => {
                let mut budget = u64::MAX;
                for d in self.open(devices, streams)? {
                    let (free, _) =
                        d.streams[0]
                            .mem_info()
                            .map_err(|e| BackendUnavailable::CudaDevice {
                                device: d.ordinal,
                                reason: e.to_string(),
                            })?;
                    let per_shard = (free as u64).saturating_sub(DEVICE_HEADROOM_BYTES)
                        / d.streams.len() as u64;
                    budget = budget.min(per_shard);
                }
                Ok(Some(budget))
            }
            #[cfg(not(feature = "cuda"))]
            ProverBackend::Cuda { devices } => {
                self.open(devices, streams)?;
                Err(BackendUnavailable::CudaNotCompiled)
            }
        }
    }
}

/// A shard prover of field `F`, whichever backend it runs on.
pub(crate) trait ShardProving<F>: Sync {
    /// The proof bytes of one shard (`slotproof_prover::proof_to_bytes`) and the wall time of
    /// each phase of its proof.
    fn prove_shard(&self, shard: &Shard<F>) -> Result<(Vec<u8>, PhaseTimings), String>;
}

/// One prover that takes one shard at a time: the CPU prover (which proves shards in
/// parallel on the host), or one stream of one CUDA device.
pub(crate) struct Lane<F> {
    /// The CUDA device ordinal (`None` for the CPU).
    pub(crate) device: Option<usize>,
    pub(crate) prover: Box<dyn ShardProving<F>>,
    /// The lane's resident device memory (CUDA lanes, which prove one shard at a time).
    pub(crate) meter: Option<Arc<dyn ResidentBytes>>,
    /// The recursion provers of the aggregation tree on the lane's backend (KoalaBear, when
    /// aggregating).
    pub(crate) nodes: Option<Box<dyn NodeProving>>,
}

/// Bytes of a lane's resident device buffers: alive now, and the most alive at once since the
/// last reset.
pub(crate) trait ResidentBytes: Send + Sync {
    fn live(&self) -> u64;
    fn reset_peak(&self);
    fn peak(&self) -> u64;
}

#[cfg(feature = "cuda")]
impl ResidentBytes for slotproof_cuda::prover_backend::ResidentMeter {
    fn live(&self) -> u64 {
        slotproof_cuda::prover_backend::ResidentMeter::live(self)
    }
    fn reset_peak(&self) {
        slotproof_cuda::prover_backend::ResidentMeter::reset_peak(self)
    }
    fn peak(&self) -> u64 {
        slotproof_cuda::prover_backend::ResidentMeter::peak(self)
    }
}

/// The fields block proofs use, with their prover on each backend.
pub(crate) trait BackendField: Sized {
    /// Whether the aggregation tree verifies shard proofs of this field (its recursion
    /// circuits are KoalaBear's).
    const AGGREGATES: bool;

    /// The CPU: one lane shared by all shards; CUDA: a lane per stream of every device. With
    /// `aggregate` (a field that [`Self::AGGREGATES`]) every lane also gets the recursion
    /// provers of the aggregation tree on its backend.
    fn lanes(
        backend: &ProverBackend,
        pool: &DevicePool,
        streams: usize,
        settings: FriSettings,
        aggregate: bool,
    ) -> Result<Vec<Lane<Self>>, BackendUnavailable>;
}

/// The recursion provers of a lane on the CPU, for a field whose proofs the tree verifies.
fn cpu_nodes(aggregates: bool, aggregate: bool) -> Option<Box<dyn NodeProving>> {
    (aggregates && aggregate).then(|| {
        Box::new(NodeProvers::new(|s| {
            slotproof_prover::CpuBackend::<KoalaBear>::new(s)
        })) as Box<dyn NodeProving>
    })
}

/// The recursion provers of a CUDA lane (one stream, shared with its shard prover: the lane
/// runs one proof at a time).
#[cfg(feature = "cuda")]
fn cuda_nodes(
    aggregates: bool,
    aggregate: bool,
    engine: &Arc<slotproof_cuda::prover_backend::MeteredEngine<Arc<slotproof_cuda::CudaBackend>>>,
) -> Option<Box<dyn NodeProving>> {
    (aggregates && aggregate).then(|| {
        Box::new(NodeProvers::new(|s| {
            slotproof_cuda::CudaProverBackend::<KoalaBear, _>::with_engine(engine.clone(), s)
        })) as Box<dyn NodeProving>
    })
}

/// Per field, as the prover's `Backend` implementations are.
macro_rules! backend_field {
    ($F:ty, $aggregates:expr) => {
        impl<B: Backend<ProverConfig<$F>>> ShardProving<$F> for ShardProver<ProverConfig<$F>, B> {
            fn prove_shard(&self, s: &Shard<$F>) -> Result<(Vec<u8>, PhaseTimings), String> {
                // The chips' programs, compiled once per process (by the planner, usually).
                let programs = <$F as crate::memory::PlanField>::shard_programs(
                    &s.airs,
                    &crate::memory::log_heights(s),
                    *self.settings(),
                )
                .map_err(|e| e.to_string())?;
                let (proof, phases) = self
                    .prove_timed_with_programs(&programs, &s.airs, &s.traces, &s.public_values)
                    .map_err(|e| e.to_string())?;
                Ok((proof_to_bytes(&proof).map_err(|e| e.to_string())?, phases))
            }
        }

        impl BackendField for $F {
            const AGGREGATES: bool = $aggregates;

            fn lanes(
                backend: &ProverBackend,
                pool: &DevicePool,
                streams: usize,
                settings: FriSettings,
                aggregate: bool,
            ) -> Result<Vec<Lane<Self>>, BackendUnavailable> {
                match backend {
                    ProverBackend::Cpu => Ok(vec![Lane {
                        device: None,
                        prover: Box::new(CpuShardProver::<$F>::cpu(settings)),
                        meter: None,
                        nodes: cpu_nodes($aggregates, aggregate),
                    }]),
                    ProverBackend::Cuda { devices } => {
                        check_devices(devices, streams)?;
                        #[cfg(feature = "cuda")]
                        {
                            let mut lanes = Vec::new();
                            for d in pool.open(devices, streams)? {
                                for gpu in &d.streams {
                                    use slotproof_cuda::prover_backend::MeteredEngine;
                                    // Every buffer the proof keeps is counted: the shard's
                                    // measured resident device memory.
                                    let engine = Arc::new(MeteredEngine::new(gpu.clone()));
                                    let meter = engine.meter().clone();
                                    let prover: ShardProver<
                                        ProverConfig<$F>,
                                        slotproof_cuda::CudaProverBackend<
                                            $F,
                                            MeteredEngine<Arc<slotproof_cuda::CudaBackend>>,
                                        >,
                                    > = ShardProver::with_backend(settings, |_, s| {
                                        slotproof_cuda::CudaProverBackend::with_engine(
                                            engine.clone(),
                                            s,
                                        )
                                    });
                                    lanes.push(Lane {
                                        device: Some(d.ordinal),
                                        prover: Box::new(prover),
                                        meter: Some(meter),
                                        nodes: cuda_nodes($aggregates, aggregate, &engine),
                                    });
                                }
                            }
                            Ok(lanes)
                        }
                        #[cfg(not(feature = "cuda"))]
                        {
                            let _ = aggregate;
                            pool.open(devices, streams)?;
                            Err(BackendUnavailable::CudaNotCompiled)
                        }
                    }
                }
            }
        }
    };
}

backend_field!(KoalaBear, true);
backend_field!(BabyBear, false);

impl crate::BlockProverBuilder {
    /// Prove on the CPU (the default).
    pub fn cpu(self) -> Self {
        self.backend(ProverBackend::Cpu)
    }

    /// Prove on CUDA device `device` (needs the `cuda` feature, a CUDA 13 driver and a build
    /// with kernels; otherwise proving returns [`crate::ProveError::Backend`]).
    pub fn cuda(self, device: usize) -> Self {
        self.cuda_devices(&[device])
    }

    /// Prove on these CUDA devices (each listed once): every device opens
    /// [`crate::BlockProverBuilder::cuda_streams`] streams and takes the next shard whenever
    /// one of them is free.
    pub fn cuda_devices(self, devices: &[usize]) -> Self {
        self.backend(ProverBackend::Cuda {
            devices: devices.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in [
            ProverBackend::Cpu,
            ProverBackend::Cuda {
                devices: vec![3, 1],
            },
        ] {
            assert_eq!(ProverBackend::from_name(b.name(), &[3, 1]), Some(b));
        }
        assert_eq!(ProverBackend::from_name("metal", &[0]), None);
        assert_eq!(
            ProverBackend::Cuda { devices: vec![1] }.to_string(),
            "cuda:1"
        );
        assert_eq!(
            ProverBackend::Cuda {
                devices: vec![0, 2]
            }
            .to_string(),
            "cuda:0,2"
        );
    }

    #[test]
    fn stand_in_runs_are_labelled() {
        let cuda = ProverBackend::Cuda { devices: vec![0] };
        assert_eq!(describe_backend(&cuda, true), "cuda:0 (stand-in)");
        assert_eq!(describe_backend(&cuda, false), "cuda:0");
        assert_eq!(describe_backend(&ProverBackend::Cpu, true), "cpu");
    }

    #[test]
    fn device_lists_are_checked() {
        assert_eq!(
            check_devices(&[], 2),
            Err(BackendUnavailable::NoCudaDevices)
        );
        assert_eq!(
            check_devices(&[0, 1, 0], 2),
            Err(BackendUnavailable::DuplicateCudaDevice(0))
        );
        assert_eq!(
            check_devices(&[0], 0),
            Err(BackendUnavailable::NoStreams(0))
        );
        assert_eq!(check_devices(&[1, 0], 1), Ok(()));
    }
}
