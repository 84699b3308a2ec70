//! # slotproof-node
//!
//! The proof node: consensus clients (EIP-8025's proof engine) and zk-boost relays ask it for
//! proofs over HTTP.
//!
//! - [`api`]: EIP-8025's proof node endpoints as zkboost serves them (`/v1/execution_proof_requests`,
//!   server-sent events, `/v1/execution_proofs/{root}/{type}`, verification, `/health`,
//!   `/metrics`).
//! - [`rpc`]: zk-boost's JSON-RPC methods on `POST /`.
//! - [`node`]: the engine: a bounded job queue, proving lanes, one job per block, deadlines.
//! - [`request`]: the SSZ `NewPayloadRequest` and its `hash_tree_root`.
//! - [`witness`]: where blocks and witnesses come from (a fixture directory);
//!   [`el_witness`]: an execution client's `debug_executionWitness`.
//! - [`store`]: finished proofs and accepted requests on disk.
//! - [`redis_jobs`]: distributed proving on Redis Streams: with [`NodeConfig::redis`] the node
//!   publishes one job per shard and remote workers (`slotproof worker --redis URL`,
//!   [`redis_jobs::Worker`]) prove them; the node assembles (and aggregates) the same bytes a
//!   local proof has and serves them the same way.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use slotproof_node::{FixtureDir, NodeConfig, ProofNode, serve};
//!
//! let source = Arc::new(FixtureDir::open("fixtures")?);
//! let node = ProofNode::start(NodeConfig::default(), source)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! serve(listener, node).await?;
//! # Ok(()) }
//! ```

pub mod api;
pub mod config;
pub mod el_witness;
pub mod metrics;
pub mod node;
pub mod redis_jobs;
pub mod request;
pub mod rpc;
pub mod store;
pub mod witness;

pub use config::{ConfigError, FileConfig};
pub use el_witness::ElWitness;
pub use node::{
    FailureReason, NodeConfig, NodeError, Outcome, PROOF_TYPE, ProofEvent, ProofNode, Verdict,
};
pub use request::{NewPayloadRequest, RequestError};
pub use witness::{BlockId, FixtureDir, WitnessError, WitnessSource};

/// Serves the node's HTTP API on `listener` until the node starts shutting down
/// ([`ProofNode::shutdown`]); open event streams end then too.
pub async fn serve(listener: tokio::net::TcpListener, node: ProofNode) -> std::io::Result<()> {
    let app = api::router(node.clone());
    axum::serve(listener, app)
        .with_graceful_shutdown(node.shutdown_signal())
        .await
}
