//! The `slotproof` binary: the default run, JSON output and exit codes.

use std::process::Command;

fn slotproof() -> Command {
    Command::new(env!("CARGO_BIN_EXE_slotproof"))
}

#[test]
fn default_run_executes_the_embedded_block() {
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
    assert!(text.contains("ok   state_root"));
    assert!(!text.contains("FAIL"));
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
