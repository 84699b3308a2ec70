//! Scaled blocks (`generate::generate_scaled`): a generated block above mainnet's 30M gas limit
//! executes from its written fixture with every check passing, and bad targets are typed errors.

use slotproof_executor::generate::{GAS_LIMIT, SCALED_GAS_RANGE, generate_scaled};
use slotproof_executor::{BlockInput, ExecError, ExecuteOptions, execute_block};

#[test]
fn scaled_block_reaches_its_target_and_passes_every_check_from_its_json() {
    // Above 30M: the raised genesis and block gas limits are what make it valid.
    let target = 32_000_000;
    let scaled = generate_scaled(target).unwrap();
    assert!(scaled.execution.gas_used >= target);
    // At most a round (~0.2 Mgas with a heavy call) above the target.
    assert!(scaled.execution.gas_used < target + 5_000_000);
    assert!(scaled.gas_limit > GAS_LIMIT);
    assert_eq!(
        scaled.json["extra"]["generator"]["rounds"].as_u64(),
        Some(scaled.rounds as u64)
    );

    // The written fixture is what runs: parse it back and execute it with default options.
    let input = BlockInput::from_json_str(&scaled.json.to_string()).unwrap();
    let exec = execute_block(&input, &ExecuteOptions::default()).unwrap();
    exec.ensure_checks_pass().unwrap();
    assert_eq!(exec.gas_used, scaled.execution.gas_used);
    assert!(exec.subblocks.len() >= 8, "32 Mgas in 4 Mgas subblocks");

    // The gas limit is part of the header the block hash commits to: lowering it is caught.
    let mut tampered = scaled.json.clone();
    tampered["blocks"][0]["header"]["gasLimit"] = serde_json::json!("0x1c9c380"); // 30M
    let outcome = BlockInput::from_json_str(&tampered.to_string())
        .and_then(|input| execute_block(&input, &ExecuteOptions::default()));
    match outcome {
        Err(_) => {}
        Ok(exec) => assert!(exec.ensure_checks_pass().is_err()),
    }
}

#[test]
fn out_of_range_gas_targets_are_errors() {
    for target in [0, SCALED_GAS_RANGE.end() + 1] {
        assert!(matches!(
            generate_scaled(target),
            Err(ExecError::Generator(msg)) if msg.contains("outside")
        ));
    }
}
