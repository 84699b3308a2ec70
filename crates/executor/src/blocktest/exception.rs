//! The kind of rejection a blockchain test expects (`expectException`) and the kind slotproof
//! gives, so that an invalid block counts as rejected for the right reason, not any reason.
//!
//! EEST names exceptions `TransactionException.<NAME>` or `BlockException.<NAME>`, several
//! joined by `|` where clients may differ. slotproof's errors are coarser; they fall into the
//! kinds below, and a rejection matches when its kind is one that an expected name allows.

use crate::error::ExecError;

/// Why slotproof rejected a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// The block's RLP does not decode (header, or the body's list structure).
    BlockRlp,
    /// A transaction in the body does not decode.
    TransactionRlp,
    /// The header breaks a rule against its parent (number, time, gas limit, fees, blob gas).
    Header,
    /// A transaction is invalid where it stands (signature, nonce, balance, gas, fork rules).
    Transaction,
    /// Executing the block gives a different result from its header (gas used, roots, bloom,
    /// requests).
    ExecutionResult,
}

impl RejectionKind {
    pub fn name(self) -> &'static str {
        match self {
            RejectionKind::BlockRlp => "block RLP",
            RejectionKind::TransactionRlp => "transaction RLP",
            RejectionKind::Header => "header",
            RejectionKind::Transaction => "transaction",
            RejectionKind::ExecutionResult => "execution result",
        }
    }

    /// The kind of an execution error, or `None` where the error is not a rejection of the block
    /// (a witness that cannot answer, an unsupported fork, bad options).
    pub fn of_exec_error(e: &ExecError) -> Option<Self> {
        match e {
            ExecError::InvalidTransaction { .. } | ExecError::Signature { .. } => {
                Some(RejectionKind::Transaction)
            }
            ExecError::HeaderMismatch { .. } => Some(RejectionKind::ExecutionResult),
            // revm/alloy-evm report block-level rule breaks (e.g. blob gas) as execution errors.
            ExecError::Execution(_) => Some(RejectionKind::ExecutionResult),
            _ => None,
        }
    }

    /// Whether one expected exception name admits this kind.
    fn admitted_by(self, name: &str) -> bool {
        let name = name.trim();
        if let Some(tx) = name.strip_prefix("TransactionException.") {
            return match self {
                RejectionKind::Transaction | RejectionKind::TransactionRlp => true,
                // Fork rules on transaction types are partly rules of their encoding
                // (e.g. a type-4 transaction without `to` has no encoding).
                RejectionKind::BlockRlp => tx.starts_with("TYPE_"),
                _ => false,
            };
        }
        if let Some(block) = name.strip_prefix("BlockException.") {
            if block.starts_with("RLP_") {
                return matches!(
                    self,
                    RejectionKind::BlockRlp | RejectionKind::TransactionRlp
                );
            }
            // Block exceptions are decided from the header against the parent or from the
            // execution result; a few are found while the transactions run.
            return match self {
                RejectionKind::Header | RejectionKind::ExecutionResult => true,
                RejectionKind::Transaction => block_exception_from_transactions(block),
                _ => false,
            };
        }
        false
    }

    /// Whether `expected` (one or more names joined by `|`) admits this kind.
    pub fn matches(self, expected: &str) -> bool {
        expected.split('|').any(|n| self.admitted_by(n))
    }
}

/// Block exceptions that a client detects while executing the transactions (the block's gas or
/// blob allowance runs out), which slotproof reports from the transaction that overruns it.
fn block_exception_from_transactions(name: &str) -> bool {
    matches!(
        name,
        "BLOB_GAS_USED_ABOVE_LIMIT" | "GAS_USED_OVERFLOW" | "INCORRECT_BLOB_GAS_USED"
    )
}

#[cfg(test)]
mod tests {
    use super::RejectionKind as K;

    #[test]
    fn kinds_match_their_exception_families() {
        assert!(K::Transaction.matches("TransactionException.INSUFFICIENT_ACCOUNT_FUNDS"));
        assert!(K::Transaction.matches(
            "BlockException.INCORRECT_BLOCK_FORMAT|TransactionException.NONCE_MISMATCH_TOO_LOW"
        ));
        assert!(!K::Transaction.matches("BlockException.INVALID_STATE_ROOT"));
        assert!(K::ExecutionResult.matches("BlockException.INVALID_STATE_ROOT"));
        assert!(K::Header.matches("BlockException.INVALID_GASLIMIT"));
        assert!(!K::Header.matches("TransactionException.INTRINSIC_GAS_TOO_LOW"));
        assert!(K::BlockRlp.matches("BlockException.RLP_STRUCTURES_ENCODING"));
        assert!(!K::Header.matches("BlockException.RLP_STRUCTURES_ENCODING"));
        assert!(K::Transaction.matches("BlockException.GAS_USED_OVERFLOW"));
        assert!(!K::ExecutionResult.matches("SomethingElse.X"));
    }
}
