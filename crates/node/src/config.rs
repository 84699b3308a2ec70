//! The node's TOML configuration file. Every key is optional and also a CLI flag of
//! `slotproof node`; a flag given on the command line wins over the file.
//!
//! ```toml
//! listen = "127.0.0.1:3000"
//! fixtures = "/data/fixtures"          # or:
//! el_endpoint = "http://127.0.0.1:8545" # an execution client's JSON-RPC (plain HTTP)
//! witness_timeout_secs = 12.0
//! store_dir = "/var/lib/slotproof-node"
//! store_capacity = 128
//! lanes = 1
//! queue_size = 8
//! deadline_secs = 12.0
//! aggregate = true
//! max_shard_rows = 32768
//! subblock_gas = 30000000
//! max_body_bytes = 33554432
//! redis = "redis://127.0.0.1:6379"      # prove on workers (`slotproof worker`)
//! local_workers = 1                     # with redis: workers in this node too
//! reclaim_after_secs = 5.0              # their visibility timeout
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::node::NodeConfig;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("reading the config file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("config file {path}: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("config: {0}")]
    Invalid(String),
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub fixtures: Option<PathBuf>,
    pub el_endpoint: Option<String>,
    pub witness_timeout_secs: Option<f64>,
    pub store_dir: Option<PathBuf>,
    pub store_capacity: Option<usize>,
    pub lanes: Option<usize>,
    pub queue_size: Option<usize>,
    pub deadline_secs: Option<f64>,
    pub aggregate: Option<bool>,
    pub max_shard_rows: Option<usize>,
    pub subblock_gas: Option<u64>,
    pub max_body_bytes: Option<usize>,
    pub redis: Option<String>,
    pub local_workers: Option<usize>,
    pub reclaim_after_secs: Option<f64>,
}

impl FileConfig {
    pub fn from_path(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.into(),
            reason: e.to_string(),
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            reason: e.to_string(),
        })
    }

    /// Sets the node settings the file gives; checks them.
    pub fn apply(&self, config: &mut NodeConfig) -> Result<(), ConfigError> {
        if let Some(v) = &self.store_dir {
            config.store_dir = v.clone();
        }
        let set = |dst: &mut usize, v: Option<usize>| {
            if let Some(v) = v {
                *dst = v;
            }
        };
        set(&mut config.store_capacity, self.store_capacity);
        set(&mut config.lanes, self.lanes);
        set(&mut config.queue_size, self.queue_size);
        set(&mut config.max_shard_rows, self.max_shard_rows);
        set(&mut config.max_body_bytes, self.max_body_bytes);
        if let Some(v) = self.subblock_gas {
            config.subblock_gas = v;
        }
        if let Some(v) = &self.redis {
            config.redis = Some(v.clone());
        }
        set(&mut config.local_workers, self.local_workers);
        if let Some(s) = self.reclaim_after_secs {
            config.reclaim_after = positive_secs("reclaim_after_secs", s)?;
        }
        if let Some(v) = self.aggregate {
            config.aggregate = v;
        }
        if let Some(s) = self.deadline_secs {
            config.deadline = positive_secs("deadline_secs", s)?;
        }
        check(config)
    }
}

fn positive_secs(name: &str, secs: f64) -> Result<Duration, ConfigError> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            ConfigError::Invalid(format!(
                "{name} = {secs} is not a positive number of seconds"
            ))
        })
}

/// Settings a node cannot run with.
pub fn check(config: &NodeConfig) -> Result<(), ConfigError> {
    for (name, v) in [
        ("lanes", config.lanes),
        ("queue_size", config.queue_size),
        ("store_capacity", config.store_capacity),
        ("max_body_bytes", config.max_body_bytes),
    ] {
        if v == 0 {
            return Err(ConfigError::Invalid(format!("{name} must be at least 1")));
        }
    }
    if config.local_workers > 0 && config.redis.is_none() {
        return Err(ConfigError::Invalid(
            "local_workers take jobs from Redis: set redis too (without it the lanes prove locally)"
                .into(),
        ));
    }
    if config.max_shard_rows < 4 {
        return Err(ConfigError::Invalid(
            "max_shard_rows must be at least 4".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_sets_what_it_names_and_refuses_unknown_keys() {
        let file: FileConfig =
            toml::from_str("lanes = 2\ndeadline_secs = 3.5\naggregate = false").unwrap();
        let mut config = NodeConfig::default();
        file.apply(&mut config).unwrap();
        assert_eq!(config.lanes, 2);
        assert_eq!(config.deadline, Duration::from_millis(3500));
        assert!(!config.aggregate);
        assert_eq!(config.queue_size, NodeConfig::default().queue_size);
        assert!(
            toml::from_str::<FileConfig>("lane = 2").is_err(),
            "a misspelt key is an error"
        );
        let zero: FileConfig = toml::from_str("queue_size = 0").unwrap();
        assert!(matches!(
            zero.apply(&mut NodeConfig::default()),
            Err(ConfigError::Invalid(_))
        ));
        let negative: FileConfig = toml::from_str("deadline_secs = -1.0").unwrap();
        assert!(negative.apply(&mut NodeConfig::default()).is_err());
        let no_redis: FileConfig = toml::from_str("local_workers = 1").unwrap();
        assert!(matches!(
            no_redis.apply(&mut NodeConfig::default()),
            Err(ConfigError::Invalid(m)) if m.contains("redis")
        ));
        let workers: FileConfig = toml::from_str(
            "redis = \"redis://127.0.0.1:1/\"\nlocal_workers = 2\nreclaim_after_secs = 0.5",
        )
        .unwrap();
        let mut config = NodeConfig::default();
        workers.apply(&mut config).unwrap();
        assert_eq!(config.local_workers, 2);
        assert_eq!(config.reclaim_after, Duration::from_millis(500));
        let zero: FileConfig = toml::from_str("reclaim_after_secs = 0.0").unwrap();
        assert!(zero.apply(&mut NodeConfig::default()).is_err());
    }
}
