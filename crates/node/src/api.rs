//! The HTTP API: EIP-8025's proof node endpoints as zkboost serves them, `/health`, `/metrics`,
//! and JSON-RPC on `POST /` ([`crate::rpc`]).
//!
//! Every refused request gets a 4xx (or 5xx) with a JSON body `{"code": <HTTP status>,
//! "message": "..."}` naming what was wrong; no input makes a handler panic.

use std::convert::Infallible;
use std::time::Duration;

use alloy_primitives::B256;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::{Stream, StreamExt, stream};
use serde::Deserialize;
use serde_json::json;
use tokio_stream::wrappers::BroadcastStream;

use crate::node::{NodeError, PROOF_TYPE, ProofEvent, ProofNode, Verdict};

/// A refused request: its status and what was wrong.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.status.as_u16(), "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        let status = match &e {
            NodeError::Request(_)
            | NodeError::NoProofTypes
            | NodeError::MalformedProof(_)
            | NodeError::UnknownProofType(_) => StatusCode::BAD_REQUEST,
            NodeError::UnknownRequest(_) | NodeError::ProofNotFound { .. } => StatusCode::NOT_FOUND,
            NodeError::QueueFull(_) => StatusCode::TOO_MANY_REQUESTS,
            NodeError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            NodeError::Store(_) | NodeError::Redis(_) | NodeError::LocalWorker(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        Self::new(status, e.to_string())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, format!("query: {}", e.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, format!("path: {}", e.body_text()))
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        Self::new(e.status(), format!("body: {}", e.body_text()))
    }
}

/// Parses a 0x-prefixed 32-byte hex root.
pub fn parse_root(what: &str, s: &str) -> Result<B256, ApiError> {
    let hex = s.strip_prefix("0x").ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{what} {s:?} is not 0x-prefixed hex"),
        )
    })?;
    if hex.len() != 64 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{what} {s:?} is not 32 bytes of hex"),
        ));
    }
    hex.parse::<B256>().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{what} {s:?} is not hex: {e}"),
        )
    })
}

pub fn router(node: ProofNode) -> Router {
    let limit = node.config().max_body_bytes;
    Router::new()
        .route(
            "/v1/execution_proof_requests",
            post(request_proofs).get(proof_events),
        )
        .route("/v1/execution_proofs/{root}/{proof_type}", get(get_proof))
        .route("/v1/execution_proof_verifications", post(verify_proof))
        .route("/v1/proof_types", get(proof_types))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/", post(crate::rpc::handle))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(node)
}

#[derive(Deserialize)]
struct ProofRequestQuery {
    proof_types: Option<String>,
}

async fn request_proofs(
    State(node): State<ProofNode>,
    query: Result<Query<ProofRequestQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(query) = query?;
    let body = body?;
    let proof_types: Vec<String> = query
        .proof_types
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect();
    let root = node.request_proofs(&body, &proof_types)?;
    Ok(Json(
        json!({ "new_payload_request_root": root.to_string() }),
    ))
}

#[derive(Deserialize)]
struct ProofEventQuery {
    new_payload_request_root: Option<String>,
}

fn sse_event(event: ProofEvent) -> Event {
    let (name, data) = match event {
        ProofEvent::Complete { root, proof_type } => (
            "proof_complete",
            json!({ "new_payload_request_root": root.to_string(), "proof_type": proof_type }),
        ),
        ProofEvent::Failure {
            root,
            proof_type,
            reason,
            error,
        } => (
            "proof_failure",
            json!({
                "new_payload_request_root": root.to_string(),
                "proof_type": proof_type,
                "reason": reason,
                "error": error,
            }),
        ),
    };
    Event::default().event(name).data(data.to_string())
}

async fn proof_events(
    State(node): State<ProofNode>,
    query: Result<Query<ProofEventQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(query) = query?;
    let filter = query
        .new_payload_request_root
        .as_deref()
        .map(|r| parse_root("new_payload_request_root", r))
        .transpose()?;
    // Subscribe before the replay, so that nothing finishing in between is missed.
    let live = BroadcastStream::new(node.subscribe()).filter_map(move |e| {
        // A subscriber that lagged behind loses events; its client can fetch the proofs.
        let keep = e.ok().filter(|e| filter.is_none_or(|r| e.root() == r));
        std::future::ready(keep)
    });
    let replay = filter.map(|r| node.finished_events(r)).unwrap_or_default();
    // The live stream ends when the node shuts down, after the events sent before.
    let events = stream::iter(replay).chain(live).map(|e| Ok(sse_event(e)));
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

async fn get_proof(
    State(node): State<ProofNode>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((root, proof_type)) = path?;
    let root = parse_root("new_payload_request_root", &root)?;
    let bytes = node.proof(root, &proof_type).map_err(|e| match e {
        // zkboost: 404 for a proof type this node does not serve.
        NodeError::UnknownProofType(_) => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
        e => e.into(),
    })?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

#[derive(Deserialize)]
struct VerificationQuery {
    new_payload_request_root: String,
    proof_type: String,
}

async fn verify_proof(
    State(node): State<ProofNode>,
    query: Result<Query<VerificationQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(query) = query?;
    let body = body?;
    let root = parse_root("new_payload_request_root", &query.new_payload_request_root)?;
    let verdict = node
        .verify_for_request(root, &query.proof_type, body.to_vec())
        .await
        .map_err(|e| match e {
            NodeError::UnknownProofType(_) => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
            e => e.into(),
        })?;
    Ok(Json(match verdict {
        Verdict::Valid => json!({ "status": "VALID" }),
        Verdict::Invalid(reason) => json!({ "status": "INVALID", "reason": reason }),
    }))
}

async fn proof_types() -> Json<serde_json::Value> {
    Json(json!({
        "proof_types": [{
            "proof_type": PROOF_TYPE,
            "kind": "slotproof",
            "can_prove": true,
            "can_verify": true,
        }]
    }))
}

async fn health(State(node): State<ProofNode>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "witness_source": node.source().describe(),
        "jobs_in_flight": node.jobs_in_flight(),
        "lanes": node.config().lanes,
        "queue_size": node.config().queue_size,
        "deadline_ms": node.config().deadline.as_millis() as u64,
    }))
}

async fn metrics(State(node): State<ProofNode>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        node.metrics().render(),
    )
}
