//! `slotproof generate-fixtures`: writes (or checks) the project's generated block fixtures.

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;
use slotproof_executor::generate::{
    FixtureKind, GiantKind, fixture_text, generate_checked, generate_giant, generate_scaled,
};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Clone)]
pub struct GenerateArgs {
    /// Directory that receives `<kind>.json` for each kind.
    #[arg(long, default_value = "fixtures")]
    pub out: PathBuf,
    /// Only this kind (transfers, token, keccak, calls, mixed); all of them by default.
    #[arg(long)]
    pub kind: Option<String>,
    /// Compare with the files in `--out` instead of writing them; exit 1 if any differs.
    #[arg(long)]
    pub check: bool,
    /// Instead of the kinds: write `<generate-kind>-<GAS>.json`, a block of this much gas (e.g.
    /// 30M, 60M, 120M) with genesis and block gas limits raised.
    #[arg(long, value_parser = parse_gas, conflicts_with_all = ["kind", "check"])]
    pub gas_target: Option<u64>,
    /// With --gas-target: what the block is made of. `mixed` (the `mixed` pattern repeated, at
    /// least the target; written as `scaled-<GAS>.json`) or one transaction looping one opcode
    /// family until the target: mulmod, sar, shifts, div, exp, keccak256, mcopy,
    /// memexpand, calldatacopy.
    #[arg(long, default_value = "mixed", value_parser = parse_generate_kind, requires = "gas_target")]
    pub generate_kind: GenerateKind,
}

/// What a generated block of a gas target is made of (generate-fixtures --gas-target, bench
/// --generate-gas).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenerateKind {
    /// The `mixed` pattern repeated: many transactions, many subblocks.
    Mixed,
    /// One transaction looping one opcode family: shards cut inside it.
    Giant(GiantKind),
}

impl GenerateKind {
    pub fn name(self) -> &'static str {
        match self {
            GenerateKind::Mixed => "mixed",
            GenerateKind::Giant(k) => k.name(),
        }
    }

    /// The file stem (and bench workload name) of a block of `gas`.
    pub fn block_name(self, gas: u64) -> String {
        match self {
            GenerateKind::Mixed => format!("scaled-{}", format_gas(gas)),
            GenerateKind::Giant(k) => format!("{}-{}", k.name(), format_gas(gas)),
        }
    }
}

pub fn parse_generate_kind(text: &str) -> Result<GenerateKind, String> {
    if text == "mixed" {
        return Ok(GenerateKind::Mixed);
    }
    GiantKind::from_name(text)
        .map(GenerateKind::Giant)
        .ok_or_else(|| {
            format!(
                "unknown generated block kind `{text}`; one of: mixed, {}",
                GiantKind::all().map(|k| k.name()).join(", ")
            )
        })
}

/// A generated block of a gas target, as its fixture JSON, with a line describing it.
pub struct GeneratedBlock {
    pub json: Value,
    pub summary: String,
    pub execution: slotproof_executor::BlockExecution,
}

pub fn generate_block(kind: GenerateKind, gas: u64) -> anyhow::Result<GeneratedBlock> {
    let context = || format!("generating a {} gas {} block", format_gas(gas), kind.name());
    Ok(match kind {
        GenerateKind::Mixed => {
            let scaled = generate_scaled(gas).with_context(context)?;
            GeneratedBlock {
                summary: format!(
                    "generated: mixed pattern x {} rounds, gas limit {}",
                    scaled.rounds, scaled.gas_limit
                ),
                json: scaled.json,
                execution: scaled.execution,
            }
        }
        GenerateKind::Giant(k) => {
            let giant = generate_giant(k, gas).with_context(context)?;
            GeneratedBlock {
                summary: format!(
                    "generated: {}, gas limit {}",
                    k.description(),
                    giant.gas_limit
                ),
                json: giant.json,
                execution: giant.execution,
            }
        }
    })
}

/// Gas as a plain number or with a `k` / `M` / `G` suffix (`30M`, `1.5M`, `500k`).
pub fn parse_gas(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (number, scale) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1e3),
        Some((i, 'm' | 'M')) => (&t[..i], 1e6),
        Some((i, 'g' | 'G')) => (&t[..i], 1e9),
        _ => (t, 1.0),
    };
    let value: f64 = number.parse().map_err(|_| {
        format!("`{text}` is not an amount of gas (e.g. 30M, 1.5M, 500k, 30000000)")
    })?;
    let gas = value * scale;
    if !gas.is_finite() || gas < 1.0 || gas > u64::MAX as f64 {
        return Err(format!("`{text}` is not a positive amount of gas"));
    }
    Ok(gas.round() as u64)
}

/// `30M`, `1.5M`, `500k` or the plain number: the shortest exact form.
pub fn format_gas(gas: u64) -> String {
    if gas >= 1_000_000 && gas.is_multiple_of(100_000) {
        let m = gas as f64 / 1e6;
        format!("{m}M")
    } else if gas >= 1_000 && gas.is_multiple_of(1_000) {
        format!("{}k", gas / 1_000)
    } else {
        gas.to_string()
    }
}

fn run_scaled(args: &GenerateArgs, gas: u64) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let block = generate_block(args.generate_kind, gas)?;
    let text = fixture_text(&block.json)?;
    let name = args.generate_kind.block_name(gas);
    let path = args.out.join(format!("{name}.json"));
    std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    let e = &block.execution;
    println!(
        "{name}: {} bytes, {} txs, {} gas, {} steps, {} subblocks ({}) -> {}",
        text.len(),
        e.transactions,
        e.gas_used,
        e.steps(),
        e.subblocks.len(),
        block.summary,
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    if let Some(gas) = args.gas_target {
        return run_scaled(args, gas);
    }
    let kinds: Vec<FixtureKind> = match &args.kind {
        None => FixtureKind::all().to_vec(),
        Some(name) => match FixtureKind::from_name(name) {
            Some(k) => vec![k],
            None => bail!(
                "unknown fixture kind `{name}`; one of: {}",
                FixtureKind::all().map(|k| k.name()).join(", ")
            ),
        },
    };
    if !args.check {
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("creating {}", args.out.display()))?;
    }
    println!(
        "{:<10} {:>9} {:>4} {:>10} {:>8} {:>9}  file",
        "fixture", "bytes", "txs", "gas", "steps", "subblocks"
    );
    let mut stale = 0;
    for kind in kinds {
        let generated =
            generate_checked(kind).with_context(|| format!("generating {}", kind.name()))?;
        let text = fixture_text(&generated.json)?;
        let path = args.out.join(format!("{}.json", kind.name()));
        let status = if args.check {
            let current = std::fs::read_to_string(&path).unwrap_or_default();
            if current == text {
                "up to date"
            } else {
                stale += 1;
                "DIFFERS"
            }
        } else {
            std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
            "written"
        };
        let e = &generated.execution;
        println!(
            "{:<10} {:>9} {:>4} {:>10} {:>8} {:>9}  {} ({status})",
            kind.name(),
            text.len(),
            e.transactions,
            e.gas_used,
            e.steps(),
            e.subblocks.len(),
            path.display()
        );
    }
    Ok(if stale == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gas_amounts_parse_and_print() {
        assert_eq!(parse_gas("30M"), Ok(30_000_000));
        assert_eq!(parse_gas("1.5M"), Ok(1_500_000));
        assert_eq!(parse_gas("500k"), Ok(500_000));
        assert_eq!(parse_gas("12345"), Ok(12_345));
        for bad in ["", "M", "x30M", "-3M", "0"] {
            assert!(parse_gas(bad).is_err(), "{bad}");
        }
        assert_eq!(format_gas(30_000_000), "30M");
        assert_eq!(format_gas(1_500_000), "1.5M");
        assert_eq!(format_gas(500_000), "500k");
        assert_eq!(format_gas(12_345), "12345");
    }

    #[test]
    fn generate_kinds_parse_and_name_their_blocks() {
        assert_eq!(parse_generate_kind("mixed"), Ok(GenerateKind::Mixed));
        assert_eq!(
            parse_generate_kind("mulmod"),
            Ok(GenerateKind::Giant(GiantKind::Mulmod))
        );
        for kind in GiantKind::all() {
            assert_eq!(
                parse_generate_kind(kind.name()),
                Ok(GenerateKind::Giant(kind))
            );
        }
        assert!(parse_generate_kind("MULMOD").is_err());
        assert_eq!(GenerateKind::Mixed.block_name(30_000_000), "scaled-30M");
        assert_eq!(
            GenerateKind::Giant(GiantKind::Exp).block_name(1_500_000),
            "exp-1.5M"
        );
    }
}
