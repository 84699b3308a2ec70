//! An alloy-evm [`Evm`] over revm whose system calls run through the inspector.
//!
//! alloy-evm's `EthEvm` executes the EIP-2935/4788 pre-block calls and the EIP-7002/7251
//! post-block calls with `transact_system_call`, which bypasses the inspector; a prover that
//! proves only what it traced would silently lose them. This type is `EthEvm` with that one
//! difference.

use alloy_evm::{Database, Evm, EvmEnv, eth::EthEvmContext, precompiles::PrecompilesMap};
use alloy_primitives::{Address, Bytes};
use revm::context::{BlockEnv, CfgEnv, Evm as RevmEvm, TxEnv};
use revm::context_interface::result::{EVMError, HaltReason, ResultAndState};
use revm::handler::{EthFrame, instructions::EthInstructions};
use revm::interpreter::interpreter::EthInterpreter;
use revm::precompile::{PrecompileSpecId, Precompiles};
use revm::primitives::hardfork::SpecId;
use revm::{
    Context, ExecuteEvm, InspectEvm, InspectSystemCallEvm, Inspector, MainBuilder, MainContext,
    SystemCallEvm,
};

type Inner<DB, I> = RevmEvm<
    EthEvmContext<DB>,
    I,
    EthInstructions<EthInterpreter, EthEvmContext<DB>>,
    PrecompilesMap,
    EthFrame,
>;

/// Mainnet EVM whose transactions and system calls are all inspected when `inspect` is on.
pub struct TracedEvm<DB: Database, I> {
    inner: Inner<DB, I>,
    inspect: bool,
}

impl<DB: Database, I: Inspector<EthEvmContext<DB>>> TracedEvm<DB, I> {
    pub fn new(db: DB, env: EvmEnv, inspector: I, inspect: bool) -> Self {
        let precompiles = PrecompilesMap::from_static(Precompiles::new(
            PrecompileSpecId::from_spec_id(env.cfg_env.spec),
        ));
        let inner = Context::mainnet()
            .with_block(env.block_env)
            .with_cfg(env.cfg_env)
            .with_db(db)
            .build_mainnet_with_inspector(inspector)
            .with_precompiles(precompiles);
        Self { inner, inspect }
    }
}

impl<DB, I> Evm for TracedEvm<DB, I>
where
    DB: Database,
    I: Inspector<EthEvmContext<DB>>,
{
    type DB = DB;
    type Tx = TxEnv;
    type Error = EVMError<DB::Error>;
    type HaltReason = HaltReason;
    type Spec = SpecId;
    type BlockEnv = BlockEnv;
    type Precompiles = PrecompilesMap;
    type Inspector = I;

    fn block(&self) -> &BlockEnv {
        &self.inner.ctx.block
    }

    fn cfg_env(&self) -> &CfgEnv<SpecId> {
        &self.inner.ctx.cfg
    }

    fn chain_id(&self) -> u64 {
        self.inner.ctx.cfg.chain_id
    }

    fn transact_raw(&mut self, tx: TxEnv) -> Result<ResultAndState<HaltReason>, Self::Error> {
        if self.inspect {
            self.inner.inspect_tx(tx)
        } else {
            self.inner.transact(tx)
        }
    }

    fn transact_system_call(
        &mut self,
        caller: Address,
        contract: Address,
        data: Bytes,
    ) -> Result<ResultAndState<HaltReason>, Self::Error> {
        if self.inspect {
            self.inner
                .inspect_system_call_with_caller(caller, contract, data)
        } else {
            self.inner.system_call_with_caller(caller, contract, data)
        }
    }

    fn finish(self) -> (DB, EvmEnv<SpecId>) {
        let Context {
            block: block_env,
            cfg: cfg_env,
            journaled_state,
            ..
        } = self.inner.ctx;
        (journaled_state.database, EvmEnv { block_env, cfg_env })
    }

    fn set_inspector_enabled(&mut self, enabled: bool) {
        self.inspect = enabled;
    }

    fn components(&self) -> (&DB, &I, &PrecompilesMap) {
        (
            &self.inner.ctx.journaled_state.database,
            &self.inner.inspector,
            &self.inner.precompiles,
        )
    }

    fn components_mut(&mut self) -> (&mut DB, &mut I, &mut PrecompilesMap) {
        (
            &mut self.inner.ctx.journaled_state.database,
            &mut self.inner.inspector,
            &mut self.inner.precompiles,
        )
    }
}
