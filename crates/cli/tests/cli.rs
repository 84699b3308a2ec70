//! The `slotproof` binary: the default run, JSON output and exit codes.

use std::process::Command;

fn slotproof() -> Command {
    Command::new(env!("CARGO_BIN_EXE_slotproof"))
}

/// The command exited 0; its stderr otherwise.
#[track_caller]
fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn default_run_proves_the_embedded_block() {
    let out = slotproof()
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert_success(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("fixtures/mixed.json (embedded)"));
    // Aggregated by default: one proof, block proof v3, verified.
    assert!(text.contains("format       v3"), "{text}");
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

/// Per shard: the proof's phases, in the prover's order, fit inside its proof time; the trace
/// area of every table adds up to the shard's, and the shards' to the block's.
fn check_phase_and_area_figures(v: &serde_json::Value) {
    let shards = v["shards"].as_u64().unwrap() as usize;
    let phases = v["shard_phases_ms"].as_array().expect("shard_phases_ms");
    let per_shard_ms = v["phases_ms"]["prove_per_shard"].as_array().unwrap();
    assert_eq!(phases.len(), shards);
    for (p, total) in phases.iter().zip(per_shard_ms) {
        let names: Vec<&str> = p
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["phase"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"setup"), "{names:?}");
        assert!(names.iter().any(|n| n.starts_with("FRI")), "{names:?}");
        let sum: f64 = p
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["ms"].as_f64().unwrap())
            .sum();
        assert!(sum <= total.as_f64().unwrap() + 0.5, "{sum} > {total}");
    }
    let area = &v["trace_area"];
    let per_shard = area["per_shard"].as_array().unwrap();
    assert_eq!(per_shard.len(), shards);
    let mut total = 0;
    for s in per_shard {
        let tables = s["tables"].as_array().unwrap();
        assert!(!tables.is_empty());
        let mut sum = 0;
        for t in tables {
            let (h, main) = (
                t["height"].as_u64().unwrap(),
                t["main_cells"].as_u64().unwrap(),
            );
            assert!(h.is_power_of_two());
            assert_eq!(main, h * t["main_width"].as_u64().unwrap());
            assert!(t["committed_cells"].as_u64().unwrap() > main);
            sum += t["committed_cells"].as_u64().unwrap();
        }
        assert_eq!(s["committed_cells"].as_u64().unwrap(), sum);
        total += sum;
    }
    assert_eq!(area["committed_cells"].as_u64().unwrap(), total);
    assert!(area["cells_per_step"].as_f64().unwrap() > 0.0);
}

#[test]
fn prove_writes_a_proof_that_verify_accepts_and_a_tampered_one_it_rejects() {
    let dir = std::env::temp_dir().join(format!("slotproof-prove-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let proof = dir.join("transfers.proof");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/transfers.json");
    let out = slotproof()
        .args([
            "prove",
            fixture,
            "--max-rows",
            "128",
            "--no-aggregate",
            "--json",
            "-o",
        ])
        .arg(&proof)
        .output()
        .unwrap();
    assert_success(&out);
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
    check_phase_and_area_figures(&v);

    let ok = slotproof().arg("verify").arg(&proof).output().unwrap();
    assert_eq!(ok.status.code(), Some(0));
    let ok_json = slotproof()
        .args(["verify", "--json"])
        .arg(&proof)
        .output()
        .unwrap();
    let vj: serde_json::Value = serde_json::from_slice(&ok_json.stdout).unwrap();
    assert_eq!(vj["verified"], true);
    assert_eq!(vj["shards"], v["shards"]);
    assert_eq!(
        vj["shards_with_carried_state"],
        v["shards_with_carried_state"]
    );
    assert!(vj["subblocks"].as_u64().unwrap() >= 1);
    assert!(vj["transactions"].as_u64().unwrap() >= 1);
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

/// `execute --stream-chunk`: the same subblocks, steps and trace bytes as recording whole, the
/// trace handed over in full chunks (the last of each subblock shorter).
#[test]
fn execute_streamed_reports_the_recorded_runs_steps_and_trace() {
    let run = |extra: &[&str]| -> serde_json::Value {
        let out = slotproof()
            .args(["execute", "--json", "--subblock-gas", "1000000"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let whole = run(&[]);
    let streamed = run(&["--stream-chunk", "1000"]);
    for key in ["steps", "subblock_steps", "trace_bytes", "checks"] {
        assert_eq!(streamed[key], whole[key], "{key}");
    }
    assert!(whole["streamed"].is_null());
    let chunks = streamed["streamed"]["chunks"].as_u64().unwrap();
    let steps = whole["subblock_steps"].as_array().unwrap();
    let full: u64 = steps
        .iter()
        .map(|s| s.as_u64().unwrap().div_ceil(1000))
        .sum();
    // Every subblock ends with a chunk, empty where its steps fill whole chunks.
    assert!(
        chunks >= full && chunks <= full + steps.len() as u64,
        "{chunks} chunks"
    );
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

fn temp_dir(label: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("slotproof-{label}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// By default bench aggregates: the run's proof is the one aggregated proof, its per-layer
/// times and share of end to end are reported, and `--plot` draws the latency chart.
#[test]
fn bench_aggregates_and_plots() {
    let dir = temp_dir("bench-aggregate");
    let report = dir.join("bench.json");
    let plot = dir.join("latency.svg");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/transfers.json");
    let out = slotproof()
        .args(["bench", fixture, "--max-rows", "128", "--json"])
        .arg(&report)
        .arg("--plot")
        .arg(&plot)
        .output()
        .unwrap();
    assert_success(&out);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("aggregation share %"), "{table}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let run = &doc["runs"][0];
    assert_eq!(run["succeeded"], true);
    let shards = run["proving"]["success"]["shards"].as_u64().unwrap();
    assert!(shards >= 2);
    let agg = &run["aggregation"]["success"];
    assert_eq!(agg["leaf_ms"].as_array().unwrap().len() as u64, shards);
    assert_eq!(
        agg["internal_ms"].as_array().unwrap().len() as u64,
        shards - 1
    );
    assert!(agg["root_ms"].as_f64().unwrap() > 0.0);
    let share = agg["share_of_end_to_end"].as_f64().unwrap();
    assert!(share > 0.0 && share < 1.0, "{share}");
    // The run's proof is the aggregated one: smaller than the shard proofs it replaces, and
    // larger than its root proof (it carries the claims too).
    let proof_size = run["proving"]["success"]["proof_size"].as_u64().unwrap();
    assert!(proof_size < agg["shard_proofs_size"].as_u64().unwrap());
    assert!(proof_size > agg["root_proof_size"].as_u64().unwrap());
    assert_eq!(run["verification"]["success"]["proof_size"], proof_size);
    let layers: Vec<&str> = agg["security_bits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["layer"].as_str().unwrap())
        .collect();
    assert_eq!(layers, ["shard", "leaf and internal", "root"]);
    for l in agg["security_bits"].as_array().unwrap() {
        assert!(l["conjectured_bits"].as_u64().unwrap() >= 100);
    }
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
    for label in [
        "end to end",
        "shard proving",
        "aggregation",
        "transfers.json",
    ] {
        assert!(svg.contains(label), "the plot lacks {label}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bench_writes_runs_and_percentiles_as_json() {
    let dir = temp_dir("bench-json");
    let report = dir.join("bench.json");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/transfers.json");
    let out = slotproof()
        .args([
            "bench",
            fixture,
            "--repeat",
            "2",
            "--max-rows",
            "128",
            "--no-aggregate",
            "--json",
        ])
        .arg(&report)
        .output()
        .unwrap();
    assert_success(&out);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("end-to-end ms"), "{table}");
    assert!(table.contains("Mgas in 12s"), "{table}");
    // --json: no progress lines on stderr.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("repeat 1/2"));

    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for (i, run) in runs.iter().enumerate() {
        assert_eq!(run["name"], "transfers.json");
        assert!(run["timestamp_completed"].as_str().unwrap().ends_with('Z'));
        assert_eq!(run["metadata"]["repeat"], i);
        assert_eq!(run["metadata"]["block_number"], 1);
        assert_eq!(run["metadata"]["backend"], "cpu");
        let gas = run["metadata"]["block_gas_used"].as_u64().unwrap();
        assert!(gas > 1_000_000);
        let exec = &run["execution"]["success"];
        assert_eq!(exec["output_matched"], true);
        assert!(exec["execution_duration"]["secs"].is_u64());
        let proving = &run["proving"]["success"];
        assert_eq!(proving["output_matched"], true);
        assert!(proving["proof_size"].as_u64().unwrap() > 10_000);
        assert!(proving["proving_time_ms"].is_u64());
        assert!(proving["verification_time_ms"].is_u64());
        assert_eq!(proving["trace_generation_overlapped"], true);
        assert!(proving["measured_resident_device_memory_bytes"].is_null());
        assert!(proving["shards"].as_u64().unwrap() >= 2);
        assert_eq!(
            proving["shard_proving_time_ms"].as_array().unwrap().len() as u64,
            proving["shards"].as_u64().unwrap()
        );
        if cfg!(target_os = "linux") {
            assert!(proving["peak_memory_usage_bytes"].as_u64().unwrap() > 0);
        }
        // Planned (computed) on every backend: at least the 2^16-row range table's LDE.
        assert!(proving["peak_device_memory_bytes"].as_u64().unwrap() > 1 << 20);
        let verification = &run["verification"]["success"];
        assert_eq!(verification["proof_size"], proving["proof_size"]);
        assert!(verification["verification_time_ms"].is_u64());
        let e2e = run["end_to_end_ms"].as_f64().unwrap();
        assert!(e2e > 0.0);
        let mgas = run["mgas_per_s"].as_f64().unwrap();
        assert!((mgas - gas as f64 / 1e6 / (e2e / 1e3)).abs() < 1e-9 * mgas.max(1.0));
        assert_eq!(run["succeeded"], true);
        assert!(run.get("aggregation").is_none());
    }
    // Deterministic prover: both runs made the same proof.
    assert_eq!(
        runs[0]["proving"]["success"]["proof_size"],
        runs[1]["proving"]["success"]["proof_size"]
    );
    let summary = &doc["summary"];
    assert_eq!(summary["runs"], 2);
    assert_eq!(summary["succeeded"], 2);
    let e2e = &summary["all"]["end_to_end_ms"];
    assert_eq!(e2e["n"], 2);
    let (p50, p90, p99) = (
        e2e["p50"].as_f64().unwrap(),
        e2e["p90"].as_f64().unwrap(),
        e2e["p99"].as_f64().unwrap(),
    );
    assert!(p50 <= p90 && p90 <= p99);
    let times: Vec<f64> = runs
        .iter()
        .map(|r| r["end_to_end_ms"].as_f64().unwrap())
        .collect();
    assert_eq!(p50, times.iter().cloned().fold(f64::INFINITY, f64::min));
    assert_eq!(p99, times.iter().cloned().fold(0.0, f64::max));
    let per_fixture = summary["per_fixture"].as_array().unwrap();
    assert_eq!(per_fixture.len(), 1);
    assert!(per_fixture[0]["mgas_in_12s_at_p50"].as_f64().unwrap() > 0.0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bench_reports_a_block_that_fails_its_checks_as_an_execution_crash() {
    let dir = temp_dir("bench-crash");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/transfers.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    json["blocks"][0]["header"]["receiptsRoot"] =
        serde_json::json!("0x0000000000000000000000000000000000000000000000000000000000000000");
    let bad = dir.join("tampered.json");
    std::fs::write(&bad, json.to_string()).unwrap();
    let report = dir.join("bench.json");
    let out = slotproof()
        .arg("bench")
        .arg(&bad)
        .arg("--json")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAILED execution"));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let run = &doc["runs"][0];
    let reason = run["execution"]["crashed"]["reason"].as_str().unwrap();
    assert!(reason.contains("header check"), "{reason}");
    assert!(run.get("proving").is_none() && run.get("verification").is_none());
    assert_eq!(doc["summary"]["succeeded"], 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bench_with_a_missing_fixture_is_a_clear_error() {
    let out = slotproof()
        .args(["bench", "/nonexistent/block.json", "--repeat", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/block.json"), "{err}");
    assert!(out.stdout.is_empty());
}

/// Choosing CUDA where it cannot run: a clear error before any work. The test binary is built
/// with the CUDA backend (a dev-dependency turns slotproof's `cuda` feature on), so a device
/// that exists nowhere is the probe's or the driver's error (no driver library here: the
/// child process is not given the stand-in).
#[test]
fn cuda_backend_that_cannot_run_is_a_clear_error() {
    let (device, expected) = ("999", "CUDA device 999 is not usable");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/transfers.json");
    for command in ["prove", "bench"] {
        let out = slotproof()
            .args([command, fixture, "--backend", "cuda", "--device", device])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{command}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{command}: {err}");
        assert!(!err.contains("panicked"), "{command}: {err}");
    }
    let out = slotproof()
        .args(["bench", fixture, "--backend", "metal"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown backend `metal`"));
    // Kernel times are CUDA events: asking for them on the CPU is a clear error, not a no-op.
    let out = slotproof()
        .args(["bench", fixture, "--kernel-times"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--kernel-times times CUDA kernels"));
}

/// `prove` reports every shard's planned device memory and shape; a budget under the smallest
/// shape's plan, a budget nothing fits and a repeated device are clear errors.
#[test]
fn prove_reports_planned_device_memory_and_refuses_a_budget_under_the_shape() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/transfers.json");
    let prove = |extra: &[&str]| {
        slotproof()
            .args([
                "prove",
                fixture,
                "--max-rows",
                "1024",
                "--no-aggregate",
                "--json",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = prove(&[]);
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let planned = &v["planned_device_memory"];
    let per_shard = planned["per_shard"].as_array().unwrap();
    assert_eq!(per_shard.len() as u64, v["shards"].as_u64().unwrap());
    let max = planned["max_bytes"].as_u64().unwrap();
    assert_eq!(
        max,
        per_shard
            .iter()
            .map(|s| s["planned_bytes"].as_u64().unwrap())
            .max()
            .unwrap()
    );
    assert!(per_shard.iter().all(|s| s["device"].is_null()
        && s["cut_to_fit"] == false
        && s["measured_resident_bytes"].is_null()));
    // Measured only on a device; trace generation overlapped by default.
    assert!(v["measured_device_memory_max_bytes"].is_null());
    assert_eq!(v["phases_ms"]["tracegen_overlapped"], true);

    // --no-overlap generates every trace first: the same proof bytes.
    let dir = temp_dir("no-overlap");
    let (a, b) = (dir.join("overlapped.bin"), dir.join("sequential.bin"));
    for (path, extra) in [(&a, None), (&b, Some("--no-overlap"))] {
        let out = slotproof()
            .args([
                "prove",
                fixture,
                "--max-rows",
                "1024",
                "--no-aggregate",
                "--json",
                "-o",
            ])
            .arg(path)
            .args(extra)
            .output()
            .unwrap();
        assert_success(&out);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["phases_ms"]["tracegen_overlapped"], extra.is_none());
    }
    assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap());

    // Every shard of this block has the smallest shard shape, which its parts would be padded
    // to again: a budget under its plan is a clear error, not a cut (cutting a shard of a larger
    // shape to a budget: the slotproof crate's `memory.rs` tests).
    assert!(
        v["trace_area"]["per_shard"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["shape"] == slotproof::air::shape::SMALLEST_SHAPE)
    );
    let budget = (max - 1).to_string();
    let out = prove(&["--device-memory-budget", &budget]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot be cut to fit the {budget} bytes")),
        "{err}"
    );
    let out = prove(&["--device-memory-budget", &max.to_string()]);
    assert_success(&out);
    let fits: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(fits["verified"], true);
    assert_eq!(fits["shards"], v["shards"]);

    let out = prove(&["--device-memory-budget", "1M"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot be cut to fit the 1048576 bytes"),
        "{err}"
    );

    let out = prove(&["--backend", "cuda", "--device", "0,0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CUDA device 0 is listed twice"), "{err}");
}

/// `slotproof prove fixtures/transfers.json --backend cuda` writes the same proof bytes as
/// `--backend cpu`. Without a GPU the child runs the unchanged CUDA backend on the stand-in
/// driver (`SLOTPROOF_CUDA_DRIVER` = `slotproof_cuda_standin::LIBRARY_PATH`), and its report
/// says so: `backend: cuda:0 (stand-in)`, never a plain GPU figure.
#[test]
fn prove_with_the_cuda_backend_writes_the_cpu_proof_bytes() {
    // A real driver in this process's search means a GPU machine: the child uses it as is.
    let standin = match slotproof::cuda::probe_driver() {
        Ok(info) => info.is_standin(),
        Err(slotproof::cuda::Error::DriverNotFound { .. }) => true,
        Err(e) => {
            eprintln!("SKIP prove_with_the_cuda_backend_writes_the_cpu_proof_bytes: {e}");
            return;
        }
    };
    let dir = temp_dir("cuda-prove");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/transfers.json");
    let prove = |backend: &str| {
        let proof = dir.join(format!("{backend}.proof"));
        let mut cmd = slotproof();
        cmd.args([
            "prove",
            fixture,
            "--max-rows",
            "128",
            "--no-aggregate",
            "--json",
            "--backend",
            backend,
            "-o",
        ])
        .arg(&proof);
        if standin && std::env::var_os("SLOTPROOF_CUDA_DRIVER").is_none() {
            cmd.env(
                "SLOTPROOF_CUDA_DRIVER",
                slotproof_cuda_standin::LIBRARY_PATH,
            );
        }
        let report = run_to_report(cmd, backend);
        (std::fs::read(&proof).unwrap(), report)
    };
    let (cpu, cpu_report) = prove("cpu");
    let (cuda, cuda_report) = prove("cuda");
    assert_eq!(cpu_report["backend"], "cpu");
    assert_eq!(cpu_report["standin_driver"], false);
    let label = if standin {
        "cuda:0 (stand-in)"
    } else {
        "cuda:0"
    };
    assert_eq!(cuda_report["backend"], label);
    assert_eq!(cuda_report["standin_driver"], standin);
    assert_eq!(cuda_report["verified"], true);
    assert!(cpu.len() > 1000);
    assert!(
        cpu == cuda,
        "the CUDA proof's bytes differ from the CPU proof's"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Run `cmd` (a `--json` command) and return its report; the command must succeed.
fn run_to_report(mut cmd: Command, what: &str) -> serde_json::Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: not a JSON report ({e})"))
}

#[test]
fn leaf_proves_a_shard_and_its_leaf_and_reports_the_documented_keys() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/transfers.json");
    let out = slotproof()
        .args(["leaf", fixture, "--shard", "0", "--json"])
        .output()
        .unwrap();
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "verified",
        "shard",
        "rows",
        "leaf_prove_ms",
        "leaf_proof_bytes",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["verified"], true);
    assert_eq!(v["shard"], 0);
    let rows = v["rows"].as_object().unwrap();
    for table in [
        "Const",
        "Hint",
        "BaseHint",
        "Public",
        "Alu",
        "Poseidon2Bus",
        "Horner",
        "Decompose",
    ] {
        assert!(rows[table].as_u64().unwrap() > 0, "no {table} rows");
    }
    assert!(v["leaf_proof_bytes"].as_u64().unwrap() > 0);

    // A shard the block does not have is a clear error, not a panic.
    let out = slotproof()
        .args(["leaf", fixture, "--shard", "999"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("there is no shard 999"), "{err}");
}

#[test]
fn generate_fixtures_writes_a_giant_block_that_executes() {
    let dir = temp_dir("giant");
    let out = slotproof()
        .args([
            "generate-fixtures",
            "--gas-target",
            "150k",
            "--generate-kind",
            "sar",
        ])
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    assert_success(&out);
    let path = dir.join("sar-150k.json");
    let out = slotproof().arg("execute").arg(&path).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("ok   state_root") && !text.contains("FAIL"),
        "{text}"
    );

    // An unknown kind is a clear error naming the kinds there are.
    let out = slotproof()
        .args([
            "bench",
            "--generate-gas",
            "1M",
            "--generate-kind",
            "mulmodd",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("mulmodd") && err.contains("keccak256"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `slotproof node`: bad settings are clear errors; a node serves, answers `/health`, and stops
/// cleanly on Ctrl-C (SIGINT). `slotproof payload-request` writes a request and names its root.
#[test]
fn node_serves_and_stops_and_bad_settings_are_clear_errors() {
    use std::io::{BufRead, BufReader, Read, Write};
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
    let store = temp_dir("node-store");
    for (args, expected) in [
        (vec!["node"], "no witness source"),
        (
            vec!["node", "--fixtures", fixtures, "--queue-size", "0"],
            "queue_size must be at least 1",
        ),
        (
            vec![
                "node",
                "--fixtures",
                fixtures,
                "--config",
                "/nonexistent.toml",
            ],
            "/nonexistent.toml",
        ),
        (
            vec!["node", "--fixtures", fixtures, "--el-endpoint", "http://x"],
            "cannot be used with",
        ),
    ] {
        let out = slotproof().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }

    let request = store.join("request.ssz");
    let out = slotproof()
        .args([
            "payload-request",
            &format!("{fixtures}/transfers.json"),
            "-o",
        ])
        .arg(&request)
        .output()
        .unwrap();
    assert_success(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("new_payload_request_root 0x"), "{text}");
    assert!(std::fs::metadata(&request).unwrap().len() > 1000);

    let mut node = slotproof()
        .args([
            "node",
            "--listen",
            "127.0.0.1:0",
            "--fixtures",
            fixtures,
            "--store-dir",
        ])
        .arg(&store)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(node.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the node reports its address").unwrap();
        if let Some(rest) = line.strip_prefix("proof node on http://") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("fixture directory"), "{response}");
    let interrupted = Command::new("kill")
        .args(["-INT", &node.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let status = node.wait().unwrap();
    assert!(status.success(), "the node stops cleanly: {status}");
    let _ = std::fs::remove_dir_all(&store);
}
