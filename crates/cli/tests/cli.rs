//! The `slotproof` binary: the default run, JSON output and exit codes.

use std::process::Command;

fn slotproof() -> Command {
    Command::new(env!("CARGO_BIN_EXE_slotproof"))
}

#[test]
fn default_run_proves_the_embedded_block() {
    let out = slotproof()
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("fixtures/mixed.json (embedded)"));
    assert!(text.contains("verified     true"), "{text}");
}

#[test]
fn execute_embedded_block_passes_every_check() {
    let out = slotproof().arg("execute").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("ok   state_root"));
    assert!(!text.contains("FAIL"));
}

#[test]
fn prove_writes_a_proof_that_verify_accepts_and_a_tampered_one_it_rejects() {
    let dir = std::env::temp_dir().join(format!("slotproof-prove-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let proof = dir.join("transfers.proof");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/transfers.json");
    let out = slotproof()
        .args(["prove", fixture, "--max-rows", "128", "--json", "-o"])
        .arg(&proof)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "block_number",
        "gas_used",
        "shards",
        "proof_bytes",
        "phases_ms",
        "total_ms",
        "verified",
        "coverage",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["verified"], true);
    assert!(v["shards"].as_u64().unwrap() >= 2);

    let ok = slotproof().arg("verify").arg(&proof).output().unwrap();
    assert_eq!(ok.status.code(), Some(0));
    let mut bytes = std::fs::read(&proof).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 1;
    let bad = dir.join("tampered.proof");
    std::fs::write(&bad, &bytes).unwrap();
    let rejected = slotproof().arg("verify").arg(&bad).output().unwrap();
    assert_eq!(rejected.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&rejected.stdout).contains("INVALID"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn execute_json_has_the_documented_keys() {
    let out = slotproof()
        .args(["execute", "--json", "--subblock-gas", "1000000"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "block_number",
        "gas_used",
        "transactions",
        "steps",
        "subblocks",
        "checks",
        "elapsed_ms",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert!(v["subblocks"].as_u64().unwrap() >= 4);
    assert!(v["checks"].as_object().unwrap().values().all(|c| c == true));
}

#[test]
fn failing_check_gives_nonzero_exit_and_bad_file_a_clear_error() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/transfers.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    json["blocks"][0]["header"]["receiptsRoot"] =
        serde_json::json!("0x0000000000000000000000000000000000000000000000000000000000000000");
    let dir = std::env::temp_dir().join(format!("slotproof-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("tampered.json");
    std::fs::write(&bad, json.to_string()).unwrap();
    let out = slotproof().arg("execute").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL receipts_root"));

    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, "{\"blocks\": 3, \"witness\": {}}").unwrap();
    let out = slotproof().arg("execute").arg(&garbage).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("malformed fixture") && err.contains("blocks"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
