//! `slotproof bench --eest DIR [--out METRICS_DIR]`: every EEST blockchain test under DIR
//! proven and verified once (its last valid block, the benchmark block; earlier blocks only set
//! up state), with the results written as zkevm-benchmark-workload lays them out:
//!
//! ```text
//! METRICS_DIR/hardware.json                                   {cpu_model, total_ram_gib, gpus: [{model}]}
//! METRICS_DIR/<execution client>-<version>/<prover>-<version>/<fixture>.json   one BenchmarkRun each
//! ```

use crate::bench::{BenchArgs, Run, Workload, print_table, run_json, run_once};
use crate::eest::blockchain_tests;
use anyhow::Context;
use serde_json::{Value, json};
use slotproof::{BlockProver, Field};
use slotproof_executor::blocktest::block_input;
use slotproof_executor::statetest::collect_test_files;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The execution client being proven: revm, at the version the workspace pins.
const EXECUTION_CLIENT: &str = "revm-43.0.3";
/// The prover, in the `<zkvm>-<sdk version>` slot.
const PROVER: &str = concat!("slotproof-", env!("CARGO_PKG_VERSION"));

/// A test's metadata for its BenchmarkRun.
struct FixtureMeta {
    test: String,
    source: PathBuf,
    network: String,
    chain_id: u64,
    block_index: Option<usize>,
    opcode_count: Value,
}

/// A file name for a test id (ids hold `/`, `::` and spaces).
fn file_stem(id: &str) -> String {
    id.chars()
        .map(|c| match c {
            '/' | '\\' | ':' | ' ' | '\0' => '_',
            c => c,
        })
        .collect()
}

/// The machine, as zkevm-benchmark-workload's `hardware.json` has it.
fn hardware_json() -> Value {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|m| m.trim().to_string())
    });
    let total_ram_gib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<u64>().ok())
            .map(|kib| kib / (1 << 20))
    });
    // GPUs as nvidia-smi names them; none where it is absent.
    let gpus: Vec<Value> = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=name", "--format=csv,noheader"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| json!({"model": l.trim()}))
                .collect()
        })
        .unwrap_or_default();
    json!({"cpu_model": cpu_model, "total_ram_gib": total_ram_gib, "gpus": gpus})
}

/// The run as a BenchmarkRun: our run JSON with the EEST metadata and the fields that tool's
/// readers expect (`total_num_cycles` holds EVM steps, the rows our traces prove).
fn benchmark_run(
    run: &Run,
    w: &Workload,
    meta: &FixtureMeta,
    prover: &BlockProver,
    field: Field,
) -> Value {
    let mut out = run_json(run, w, prover, field);
    out["name"] = json!(meta.test);
    let steps = out["metadata"]["steps"].clone();
    let gas = out["metadata"]["block_gas_used"].clone();
    let m = out["metadata"]
        .as_object_mut()
        .expect("metadata is an object");
    m.insert("fixture_format".into(), json!("eest"));
    m.insert("original_test_name".into(), json!(meta.test));
    m.insert(
        "source_path".into(),
        json!(meta.source.display().to_string()),
    );
    m.insert("block_index".into(), json!(meta.block_index));
    m.insert("network".into(), json!(meta.network));
    m.insert("chain_id".into(), json!(meta.chain_id));
    m.insert("block_used_gas".into(), gas);
    m.insert("opcode_count".into(), meta.opcode_count.clone());
    m.insert("cycles".into(), json!("EVM steps (trace rows proven)"));
    if let Some(success) = out
        .get_mut("execution")
        .and_then(|e| e.get_mut("success"))
        .and_then(Value::as_object_mut)
    {
        success.insert("total_num_cycles".into(), steps);
        success.insert("region_cycles".into(), json!({}));
    }
    out
}

/// The table row of a test whose block could not be prepared: a failed run is reported under
/// its name; the input slot holds the embedded block, which this run never proves.
fn unprepared(id: &str, file: &Path) -> anyhow::Result<Workload> {
    Ok(Workload {
        name: file_stem(id),
        source: file.display().to_string(),
        input: crate::execute::load_block(None)?.1,
    })
}

fn write_json(path: &Path, value: &Value) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, serde_json::to_string_pretty(value)? + "\n")
        .with_context(|| format!("writing {}", path.display()))
}

pub fn run(args: &BenchArgs, prover: &BlockProver, field: Field) -> anyhow::Result<ExitCode> {
    let dir = args.eest.as_ref().expect("called with --eest");
    anyhow::ensure!(
        args.fixtures.is_empty() && args.generate_gas.is_empty(),
        "--eest benches the blockchain tests under its path: give no other fixtures"
    );
    anyhow::ensure!(
        args.repeat == 1,
        "--eest writes one result per fixture: --repeat must be 1"
    );
    anyhow::ensure!(
        args.select.block_index.is_none(),
        "--eest takes each test's last valid block; --block-index does not apply"
    );
    anyhow::ensure!(dir.exists(), "{} does not exist", dir.display());
    let files = collect_test_files(std::slice::from_ref(dir));
    let run_dir = args
        .out
        .as_ref()
        .map(|out| out.join(EXECUTION_CLIENT).join(PROVER));

    let mut workloads = Vec::new();
    let mut runs = Vec::new();
    for file in &files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let Some(tests) = blockchain_tests(&text)? else {
            eprintln!("skipping {}: not a blockchain-test file", file.display());
            continue;
        };
        for (id, test) in tests {
            if args.select.test.as_ref().is_some_and(|t| *t != id) {
                continue;
            }
            let index = workloads.len();
            eprint!("[{}] {} ... ", index + 1, file_stem(&id));
            let (meta, workload, run) = match test {
                Err(e) => {
                    let meta = FixtureMeta {
                        test: id.clone(),
                        source: file.clone(),
                        network: String::new(),
                        chain_id: 0,
                        block_index: None,
                        opcode_count: json!({}),
                    };
                    let w = unprepared(&id, file)?;
                    (meta, w, Run::preparation_failed(index, e.to_string()))
                }
                Ok(test) => {
                    let opcode_count = test
                        .info
                        .as_ref()
                        .and_then(|i| i.pointer("/metadata/opcode_count"))
                        .cloned()
                        .unwrap_or_else(|| json!({}));
                    let mut meta = FixtureMeta {
                        test: id.clone(),
                        source: file.clone(),
                        network: test.network.clone(),
                        chain_id: test.chain.chain_id(),
                        block_index: None,
                        opcode_count,
                    };
                    match block_input(&test, None) {
                        Ok((block, input)) => {
                            meta.block_index = Some(block);
                            let w = Workload {
                                name: file_stem(&id),
                                source: file.display().to_string(),
                                input,
                            };
                            let run = run_once(
                                prover,
                                &w.input,
                                index,
                                0,
                                !args.no_aggregate && field == Field::KoalaBear,
                            );
                            (meta, w, run)
                        }
                        Err(e) => {
                            let w = unprepared(&id, file)?;
                            (meta, w, Run::preparation_failed(index, e.to_string()))
                        }
                    }
                }
            };
            eprintln!(
                "{}",
                if run.succeeded() {
                    format!("{:.1} s", run.end_to_end.as_secs_f64())
                } else {
                    "FAILED".into()
                }
            );
            if let Some(run_dir) = &run_dir {
                let doc = benchmark_run(&run, &workload, &meta, prover, field);
                write_json(&run_dir.join(format!("{}.json", file_stem(&id))), &doc)?;
            }
            workloads.push(workload);
            runs.push(run);
        }
    }
    anyhow::ensure!(
        !runs.is_empty(),
        "no blockchain tests{} under {}",
        args.select
            .test
            .as_ref()
            .map(|t| format!(" named `{t}`"))
            .unwrap_or_default(),
        dir.display()
    );
    if let Some(out) = &args.out {
        write_json(&out.join("hardware.json"), &hardware_json())?;
    }
    print_table(&runs, &workloads, prover, field, args);
    Ok(if runs.iter().all(Run::succeeded) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
