//! Shared test helpers.
#![allow(dead_code)]

pub mod evm;
pub mod mutations;
