//! The CPU backend.
//!
//! Groups of steps are delegated to Plonky3's own CPU pieces, which fixes the bit-exact
//! behaviour the proofs must have: `TwoAdicFriPcs` (coset LDE with `Radix2DitParallel`,
//! bit reversal, `MerkleTreeMmcs` over Poseidon2, openings, FRI) and `LogUpGadget` for the
//! LogUp trace. The quotient is this crate's own evaluator ([`crate::quotient`]).

use std::borrow::Cow;

use p3_batch_stark::{Commitment, Domain, PcsProof, StarkGenericConfig, Val};
use p3_commit::{OpenedValues, Pcs, PolynomialSpace, UnivariateStarkPcs};
use p3_lookup::{LogUpGadget, Lookup, LookupProtocol, LookupTerminal};
use p3_matrix::dense::RowMajorMatrix;

use crate::backend::{Backend, BackendError, QuotientJob};
use crate::quotient::quotient_values;

/// Runs every heavy step on the host, with rayon.
#[derive(Clone, Debug)]
pub struct CpuBackend<SC> {
    config: SC,
}

impl<SC: StarkGenericConfig> CpuBackend<SC> {
    /// A backend committing with `config`'s PCS. It must be the configuration the proof is
    /// made and verified under.
    pub fn new(config: &SC) -> Self {
        Self {
            config: config.clone(),
        }
    }
}

fn failed<E: core::fmt::Debug>(phase: &'static str) -> impl FnOnce(E) -> BackendError {
    move |e| BackendError {
        phase,
        message: format!("{e:?}"),
    }
}

impl<SC> Backend<SC> for CpuBackend<SC>
where
    SC: StarkGenericConfig + Sync + 'static,
    SC::Pcs: Sync,
    <SC::Pcs as Pcs<SC::Challenge, SC::Challenger>>::ProverData: Send + Sync,
    Domain<SC>: Send + Sync,
{
    type Trace<'a> = Cow<'a, RowMajorMatrix<Val<SC>>>;
    type Committed = <SC::Pcs as Pcs<SC::Challenge, SC::Challenger>>::ProverData;
    type Quotient = Vec<SC::Challenge>;

    fn load_trace<'a>(&self, trace: &'a RowMajorMatrix<Val<SC>>) -> Self::Trace<'a> {
        Cow::Borrowed(trace)
    }

    fn commit(
        &self,
        traces: Vec<(Domain<SC>, Self::Trace<'_>)>,
    ) -> Result<(Commitment<SC>, Self::Committed), BackendError> {
        let inputs = traces
            .into_iter()
            .map(|(domain, trace)| (domain, trace.into_owned()));
        self.config.pcs().commit(inputs).map_err(failed("commit"))
    }

    fn logup_trace(
        &self,
        main: &Self::Trace<'_>,
        public_values: &[Val<SC>],
        lookups: &[Lookup<Val<SC>>],
        challenges: &[SC::Challenge],
    ) -> Result<(Self::Trace<'static>, Option<LookupTerminal<SC::Challenge>>), BackendError> {
        let (trace, terminal) = LogUpGadget::new().generate_permutation::<Val<SC>, SC::Challenge>(
            main,
            &None,
            public_values,
            lookups,
            challenges,
        );
        Ok((Cow::Owned(trace.flatten_to_base()), terminal))
    }

    fn quotient(
        &self,
        job: QuotientJob<'_, SC, Self::Committed>,
    ) -> Result<Self::Quotient, BackendError> {
        let pcs = self.config.pcs();
        let (main_data, main_idx) = job.main;
        let main = pcs.get_evaluations_on_domain(main_data, main_idx, job.quotient_domain);
        let permutation = job
            .permutation
            .map(|(data, idx)| pcs.get_evaluations_on_domain(data, idx, job.quotient_domain));
        Ok(quotient_values(
            job.program,
            &job.env,
            job.alpha,
            job.trace_domain,
            job.quotient_domain,
            &main,
            permutation.as_ref(),
        ))
    }

    fn commit_quotients(
        &self,
        quotients: Vec<(Domain<SC>, usize, Self::Quotient)>,
    ) -> Result<(Commitment<SC>, Self::Committed), BackendError> {
        let pcs = self.config.pcs();
        let mut ldes = Vec::new();
        for (quotient_domain, num_chunks, values) in quotients {
            let flat = RowMajorMatrix::new_col(values).flatten_to_base();
            let chunks = quotient_domain.split_evals(num_chunks, flat);
            let domains = quotient_domain.split_domains(num_chunks);
            ldes.extend(
                pcs.get_quotient_ldes(domains.into_iter().zip(chunks), num_chunks)
                    .map_err(failed("quotient LDE"))?,
            );
        }
        pcs.commit_ldes(ldes).map_err(failed("quotient commitment"))
    }

    fn open(
        &self,
        rounds: Vec<(&Self::Committed, Vec<Vec<SC::Challenge>>)>,
        challenger: &mut SC::Challenger,
    ) -> Result<(OpenedValues<SC::Challenge>, PcsProof<SC>), BackendError> {
        self.config
            .pcs()
            .open_with_preprocessing(
                rounds.into_iter().map(Into::into).collect(),
                challenger,
                None,
            )
            .map_err(failed("opening"))
    }
}
