//! Shared helpers of the integration tests (the executor's, and slotproof's through `#[path]`).
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/fixtures` beside the repository, or `SLOTPROOF_FIXTURES`; `None` (and a message)
/// where absent, so that tests on the shared data skip cleanly.
pub fn shared_fixtures() -> Option<PathBuf> {
    let dir = match std::env::var_os("SLOTPROOF_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
    };
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: shared fixtures not found at {} (set SLOTPROOF_FIXTURES)",
            dir.display()
        );
        None
    }
}

/// A file under the shared fixtures, or `None` with a skip message.
pub fn shared_fixture(rel: &str) -> Option<PathBuf> {
    let p = shared_fixtures()?.join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIP: {} not found", p.display());
        None
    }
}
