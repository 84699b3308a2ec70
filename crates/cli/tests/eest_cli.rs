//! The `slotproof` binary on EEST blockchain tests: `blocktest`, test selection in `execute` and
//! `prove`, and `bench --eest --out` in zkevm-benchmark-workload's layout. Skipped with a message
//! where the shared samples are absent.

use std::path::PathBuf;
use std::process::Command;

/// The storage sample's test id: its benchmark block is the smallest of the samples.
const STORAGE_TEST: &str = "tests/benchmark/test_worst_stateful_opcodes.py::test_worst_storage_access_cold[fork_Prague-blockchain_test-absent_slots_False-SSTORE new value]";

fn slotproof() -> Command {
    Command::new(env!("CARGO_BIN_EXE_slotproof"))
}

fn eest_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("SLOTPROOF_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
    }
    .join("eest");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP: EEST samples not found at {}", dir.display());
        None
    }
}

fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("slotproof-{label}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn blocktest_passes_every_sample() {
    let Some(dir) = eest_dir() else { return };
    let out = slotproof().arg("blocktest").arg(&dir).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("4 passed, 0 failed, 0 skipped"), "{text}");
}

#[test]
fn blocktest_reports_a_tampered_test_as_failed_naming_the_block() {
    let Some(dir) = eest_dir() else { return };
    let text = std::fs::read_to_string(dir.join("worst_jumps.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    for test in json.as_object_mut().unwrap().values_mut() {
        test["lastblockhash"] = serde_json::json!(format!("0x{}", "ab".repeat(32)));
    }
    let tmp = temp_dir("eest-tampered");
    let path = tmp.join("tampered.json");
    std::fs::write(&path, json.to_string()).unwrap();
    let out = slotproof().arg("blocktest").arg(&path).output().unwrap();
    std::fs::remove_dir_all(&tmp).ok();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("0 passed, 1 failed, 0 skipped"), "{text}");
    assert!(
        text.contains("FAIL")
            && text.contains("blocks[0] (number 1)")
            && text.contains("lastblockhash"),
        "{text}"
    );
}

#[test]
fn unknown_test_name_lists_the_tests() {
    let Some(dir) = eest_dir() else { return };
    let out = slotproof()
        .args(["execute", "--test", "nope"])
        .arg(dir.join("worst_jumps.json"))
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no test `nope`") && err.contains("test_worst_jumps"),
        "{err}"
    );
    // --test on a file of another format is refused, not ignored.
    let mixed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/mixed.json");
    let out = slotproof()
        .args(["execute", "--test", "x"])
        .arg(mixed)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn execute_takes_the_chosen_block_of_a_test() {
    let Some(dir) = eest_dir() else { return };
    let file = dir.join("worst_storage_access_cold.json");
    for (index, number) in [(None, 2), (Some("0"), 1)] {
        let mut cmd = slotproof();
        cmd.args(["execute", "--json", "--test", STORAGE_TEST])
            .arg(&file);
        if let Some(i) = index {
            cmd.args(["--block-index", i]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["block_number"], number);
        assert_eq!(v["format"], "eest-blockchain-test");
        assert_eq!(v["checks"]["state_root"], true);
    }
}

#[test]
fn bench_eest_writes_benchmark_runs_and_hardware() {
    let Some(dir) = eest_dir() else { return };
    let out_dir = temp_dir("eest-metrics");
    let out = slotproof()
        .args(["bench", "--eest"])
        .arg(&dir)
        .args(["--test", STORAGE_TEST, "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hardware: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("hardware.json")).unwrap())
            .unwrap();
    assert!(hardware["cpu_model"].is_string() || hardware["cpu_model"].is_null());
    assert!(hardware["total_ram_gib"].is_u64());
    assert!(hardware["gpus"].is_array());
    let runs: Vec<_> = walk(&out_dir)
        .into_iter()
        .filter(|p| p.file_name().unwrap() != "hardware.json")
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let rel = runs[0].strip_prefix(&out_dir).unwrap();
    let parts: Vec<_> = rel.components().collect();
    assert_eq!(parts.len(), 3, "<client>/<prover>/<fixture>.json: {rel:?}");
    assert!(rel.starts_with("revm-43.0.3"), "{rel:?}");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&runs[0]).unwrap()).unwrap();
    assert_eq!(run["name"], STORAGE_TEST);
    assert!(run["timestamp_completed"].is_string());
    let m = &run["metadata"];
    assert_eq!(m["fixture_format"], "eest");
    assert_eq!(m["original_test_name"], STORAGE_TEST);
    assert_eq!(m["block_index"], 1);
    assert_eq!(m["block_number"], 2);
    assert_eq!(m["block_used_gas"], 2_000_000);
    assert_eq!(m["network"], "Prague");
    assert_eq!(m["chain_id"], 1);
    let exec = &run["execution"]["success"];
    assert!(exec["total_num_cycles"].as_u64().unwrap() > 0);
    assert!(exec["execution_duration"]["secs"].is_u64());
    let proving = &run["proving"]["success"];
    assert_eq!(proving["output_matched"], true);
    assert!(proving["proof_size"].as_u64().unwrap() > 0);
    assert!(proving["proving_time_ms"].is_u64());
    assert!(run["verification"]["success"]["verification_time_ms"].is_u64());
    std::fs::remove_dir_all(&out_dir).ok();
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
