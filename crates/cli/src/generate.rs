//! `slotproof generate-fixtures`: writes (or checks) the project's generated block fixtures.

use anyhow::{Context, bail};
use clap::Args;
use slotproof_executor::generate::{FixtureKind, fixture_text, generate_checked};
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
}

pub fn run(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
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
