//! Where shard proofs are computed: the CPU (default) or a CUDA device (cargo feature `cuda`).
//!
//! Both backends run the same pipeline (`slotproof_prover::ShardProver`) and produce the same
//! proof bytes for the same shard and settings, so a block proof does not record which one made
//! it and `verify_block_proof` is the same for both. Choosing CUDA where it cannot run (feature
//! off, no driver, no device, no kernels in the build) is a [`BackendUnavailable`] error when
//! proving starts, never a panic.

use slotproof_air::shard::Shard;
use slotproof_prover::{
    BabyBear, Backend, CpuShardProver, FriSettings, KoalaBear, ProverConfig, ShardProver,
    proof_to_bytes,
};
use thiserror::Error;

#[cfg(feature = "cuda")]
use std::sync::{Arc, OnceLock};

/// The backend a [`crate::BlockProver`] proves shards on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProverBackend {
    /// Plonky3's DFT, Merkle tree and FRI on the host (rayon).
    #[default]
    Cpu,
    /// `slotproof_cuda::CudaProverBackend` on CUDA device `device`: coset LDE and Merkle
    /// commitments on the GPU, the other steps on the host.
    Cuda { device: usize },
}

impl ProverBackend {
    /// `cpu` or `cuda`.
    pub fn name(self) -> &'static str {
        match self {
            ProverBackend::Cpu => "cpu",
            ProverBackend::Cuda { .. } => "cuda",
        }
    }

    /// `cpu`, or `cuda` on device `device`.
    pub fn from_name(name: &str, device: usize) -> Option<Self> {
        match name {
            "cpu" => Some(ProverBackend::Cpu),
            "cuda" => Some(ProverBackend::Cuda { device }),
            _ => None,
        }
    }
}

impl std::fmt::Display for ProverBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProverBackend::Cpu => f.write_str("cpu"),
            ProverBackend::Cuda { device } => write!(f, "cuda:{device}"),
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
    /// The driver probe, context creation or kernel loading failed (`slotproof_cuda::Error`).
    #[error("CUDA device {device} is not usable: {reason}")]
    CudaDevice { device: usize, reason: String },
}

/// The CUDA device a prover opened, kept for the prover's lifetime (one context and one set of
/// loaded kernels for every block it proves); empty for the CPU or before the first proof.
#[derive(Clone, Default)]
pub(crate) struct DeviceSlot {
    #[cfg(feature = "cuda")]
    device: Arc<OnceLock<Result<Arc<slotproof_cuda::CudaBackend>, BackendUnavailable>>>,
}

impl std::fmt::Debug for DeviceSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        #[cfg(feature = "cuda")]
        let opened = self.device.get().map(|r| r.is_ok());
        #[cfg(not(feature = "cuda"))]
        let opened: Option<bool> = None;
        f.debug_struct("DeviceSlot")
            .field("opened", &opened)
            .finish()
    }
}

impl DeviceSlot {
    /// Checks that `backend` can prove here, opening the CUDA device on first use.
    pub(crate) fn ensure(&self, backend: ProverBackend) -> Result<(), BackendUnavailable> {
        match backend {
            ProverBackend::Cpu => Ok(()),
            ProverBackend::Cuda { device } => self.cuda(device).map(|_| ()),
        }
    }

    #[cfg(feature = "cuda")]
    fn cuda(&self, device: usize) -> Result<Arc<slotproof_cuda::CudaBackend>, BackendUnavailable> {
        self.device
            .get_or_init(|| {
                slotproof_cuda::CudaBackend::with_options(device, Default::default())
                    .map(Arc::new)
                    .map_err(|e| BackendUnavailable::CudaDevice {
                        device,
                        reason: e.to_string(),
                    })
            })
            .clone()
    }

    #[cfg(not(feature = "cuda"))]
    fn cuda(&self, _device: usize) -> Result<(), BackendUnavailable> {
        Err(BackendUnavailable::CudaNotCompiled)
    }
}

/// A shard prover of field `F`, whichever backend it runs on.
pub(crate) trait ShardProving<F>: Sync {
    /// The proof bytes of one shard (`slotproof_prover::proof_to_bytes`).
    fn prove_shard(&self, shard: &Shard<F>) -> Result<Vec<u8>, String>;
}

/// The fields block proofs use, with their prover on each backend.
pub(crate) trait BackendField: Sized {
    fn shard_prover(
        backend: ProverBackend,
        slot: &DeviceSlot,
        settings: FriSettings,
    ) -> Result<Box<dyn ShardProving<Self>>, BackendUnavailable>;
}

/// Per field, as the prover's `Backend` implementations are.
macro_rules! backend_field {
    ($F:ty) => {
        impl<B: Backend<ProverConfig<$F>>> ShardProving<$F> for ShardProver<ProverConfig<$F>, B> {
            fn prove_shard(&self, s: &Shard<$F>) -> Result<Vec<u8>, String> {
                let proof = self
                    .prove(&s.airs, &s.traces, &s.public_values)
                    .map_err(|e| e.to_string())?;
                proof_to_bytes(&proof).map_err(|e| e.to_string())
            }
        }

        impl BackendField for $F {
            fn shard_prover(
                backend: ProverBackend,
                slot: &DeviceSlot,
                settings: FriSettings,
            ) -> Result<Box<dyn ShardProving<Self>>, BackendUnavailable> {
                match backend {
                    ProverBackend::Cpu => Ok(Box::new(CpuShardProver::<$F>::cpu(settings))),
                    ProverBackend::Cuda { device } => {
                        #[cfg(feature = "cuda")]
                        {
                            let gpu = slot.cuda(device)?;
                            let prover: ShardProver<
                                ProverConfig<$F>,
                                slotproof_cuda::CudaProverBackend<$F>,
                            > = ShardProver::with_backend(settings, |_, s| {
                                slotproof_cuda::CudaProverBackend::with_engine(gpu, s)
                            });
                            Ok(Box::new(prover))
                        }
                        #[cfg(not(feature = "cuda"))]
                        {
                            slot.cuda(device)?;
                            Err(BackendUnavailable::CudaNotCompiled)
                        }
                    }
                }
            }
        }
    };
}

backend_field!(KoalaBear);
backend_field!(BabyBear);

impl crate::BlockProverBuilder {
    /// Prove on the CPU (the default).
    pub fn cpu(self) -> Self {
        self.backend(ProverBackend::Cpu)
    }

    /// Prove on CUDA device `device` (needs the `cuda` feature, a CUDA 13 driver and a build
    /// with kernels; otherwise proving returns [`crate::ProveError::Backend`]).
    pub fn cuda(self, device: usize) -> Self {
        self.backend(ProverBackend::Cuda { device })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in [ProverBackend::Cpu, ProverBackend::Cuda { device: 3 }] {
            assert_eq!(ProverBackend::from_name(b.name(), 3), Some(b));
        }
        assert_eq!(ProverBackend::from_name("metal", 0), None);
        assert_eq!(ProverBackend::Cuda { device: 1 }.to_string(), "cuda:1");
    }
}
