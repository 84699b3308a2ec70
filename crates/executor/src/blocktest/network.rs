//! A blockchain test's `network` (e.g. `Prague`, `PragueToOsakaAtTime15k`) as a chain
//! configuration: forks by the test's own schedule, never mainnet's.

use crate::fixture::ChainConfig;
use crate::fixture::{BlobSchedule, BlobScheduleEntry};

/// The forks slotproof executes, oldest first (earlier forks are merged in at genesis).
const FORKS: [&str; 4] = ["Shanghai", "Cancun", "Prague", "Osaka"];

/// Why a network name cannot be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedNetwork(pub String);

fn fork_index(name: &str) -> Result<usize, UnsupportedNetwork> {
    FORKS.iter().position(|f| *f == name).ok_or_else(|| {
        UnsupportedNetwork(format!(
            "fork `{name}` is not one of {} (pre-Shanghai, and BPO forks, are not supported)",
            FORKS.join(", ")
        ))
    })
}

/// `15k` -> 15000, `0` -> 0.
fn parse_time(s: &str) -> Option<u64> {
    match s.strip_suffix('k') {
        Some(k) => k.parse::<u64>().ok()?.checked_mul(1000),
        None => s.parse().ok(),
    }
}

/// Sets the activation time of fork `index` and clears later ones.
fn set_fork(config: &mut ChainConfig, index: usize, time: Option<u64>) {
    let slot = match index {
        0 => &mut config.shanghai_time,
        1 => &mut config.cancun_time,
        2 => &mut config.prague_time,
        _ => &mut config.osaka_time,
    };
    *slot = time;
}

/// The chain configuration of `network` with chain id `chain_id` and the test's blob schedule
/// (`None`: the forks' default blob parameters).
pub fn chain_config(
    network: &str,
    chain_id: u64,
    blob_schedule: Option<BlobSchedule>,
) -> Result<ChainConfig, UnsupportedNetwork> {
    // Every pre-Shanghai fork at genesis (the proof-of-stake chain EEST fills from genesis).
    let mut config = ChainConfig::prague_from_genesis(chain_id);
    let (first, next) = match network.split_once("To") {
        None => (fork_index(network)?, None),
        Some((from, rest)) => {
            let (to, time) = rest.split_once("AtTime").ok_or_else(|| {
                UnsupportedNetwork(format!(
                    "transition network `{network}` has no `AtTime<T>` suffix"
                ))
            })?;
            let time = parse_time(time).ok_or_else(|| {
                UnsupportedNetwork(format!("transition time in `{network}` is not a number"))
            })?;
            let (from, to) = (fork_index(from)?, fork_index(to)?);
            if to != from + 1 {
                return Err(UnsupportedNetwork(format!(
                    "transition network `{network}` does not go to the next fork"
                )));
            }
            (from, Some((to, time)))
        }
    };
    for i in 0..FORKS.len() {
        let time = if i <= first {
            Some(0)
        } else {
            match next {
                Some((to, t)) if to == i => Some(t),
                _ => None,
            }
        };
        set_fork(&mut config, i, time);
    }
    let defaults = config.blob_schedule.clone().unwrap_or_default();
    let sched = blob_schedule.unwrap_or_default();
    config.blob_schedule = Some(BlobSchedule {
        cancun: sched.cancun.or(defaults.cancun),
        prague: sched.prague.or(defaults.prague),
        osaka: sched.osaka.or(defaults.osaka),
    });
    Ok(config)
}

/// One blob schedule entry from the test's `config.blobSchedule`.
pub fn blob_entry(target: u64, max: u64, base_fee_update_fraction: u128) -> BlobScheduleEntry {
    BlobScheduleEntry {
        target,
        max,
        base_fee_update_fraction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_fork_networks_activate_at_genesis() {
        let c = chain_config("Prague", 1, None).unwrap();
        assert_eq!(
            (c.shanghai_time, c.cancun_time, c.prague_time, c.osaka_time),
            (Some(0), Some(0), Some(0), None)
        );
        let c = chain_config("Cancun", 7, None).unwrap();
        assert_eq!(
            (c.cancun_time, c.prague_time, c.chain_id),
            (Some(0), None, 7)
        );
    }

    #[test]
    fn transition_networks_activate_at_their_time() {
        let c = chain_config("PragueToOsakaAtTime15k", 1, None).unwrap();
        assert_eq!((c.prague_time, c.osaka_time), (Some(0), Some(15_000)));
        let c = chain_config("CancunToPragueAtTime15k", 1, None).unwrap();
        assert_eq!(
            (c.cancun_time, c.prague_time, c.osaka_time),
            (Some(0), Some(15_000), None)
        );
    }

    #[test]
    fn unknown_networks_are_refused() {
        assert!(chain_config("Frontier", 1, None).is_err());
        assert!(chain_config("OsakaToBPO1AtTime15k", 1, None).is_err());
        assert!(chain_config("CancunToOsakaAtTime15k", 1, None).is_err());
        assert!(chain_config("PragueToOsaka", 1, None).is_err());
    }
}
