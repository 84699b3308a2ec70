use thiserror::Error;

/// Why a subblock's trace could not be turned into chip traces.
#[derive(Debug, Error)]
pub enum TraceError {
    /// A shard whose tables fit no shape of the menu (`crate::shape`): it must be cut further.
    #[error(
        "shard of steps {}..{}: table {table} needs 2^{log_height} rows, the largest shape has 2^{largest}",
        steps.start,
        steps.end
    )]
    NoShapeFits {
        steps: core::ops::Range<usize>,
        table: &'static str,
        log_height: usize,
        largest: usize,
        /// Every table's natural log height, in instance order (boxed: the error stays small).
        natural: Box<[usize; crate::shard::NUM_INSTANCES]>,
    },
    #[error("table {table}: padding to 2^{log_height} rows asked, it needs 2^{natural}")]
    BelowNatural {
        table: &'static str,
        log_height: usize,
        natural: usize,
    },
    #[error("table {table} has a fixed height; 2^{log_height} rows asked")]
    FixedHeight {
        table: &'static str,
        log_height: usize,
    },
    #[error("step {step}: gas does not fit the AIR's 30-bit range")]
    GasTooLarge { step: usize },
    #[error("step {step}: trace records are inconsistent: {what}")]
    Inconsistent { step: usize, what: &'static str },
    #[error("{contexts} call contexts in one subblock; the AIR's context ids are 16-bit")]
    TooManyContexts { contexts: usize },
    #[error(
        "step {step}: opcode {opcode:#04x} halted exceptionally with no condition the AIR can \
         prove (stack bounds, gas below the static cost, bad jump target, INVALID) and it cannot \
         halt otherwise"
    )]
    UnexplainedHalt { step: usize, opcode: u8 },
    #[error(
        "step {step}: memory offset or area beyond 2^29 bytes (a successful step cannot pay for it)"
    )]
    MemoryTooLarge { step: usize },
    #[error("max_rows must be at least 1")]
    ZeroMaxRows,
    #[error("the subblock has no steps")]
    Empty,
    #[error(
        "the block reads {reads} distinct BLOCKHASH numbers; the opcode table has {slots} entries"
    )]
    TooManyBlockHashReads { reads: usize, slots: usize },
    #[error(
        "step {step}: BLOCKHASH of an argument the block context has no entry for (2^64 or \
         more, or not among the block's reads)"
    )]
    BlockContextRead { step: usize },
    #[error(
        "step {step}: BLOBHASH of an index of 2^16 or more pushed a non-zero value (no \
         transaction has that many blobs)"
    )]
    BlobHashPastBound { step: usize },
    #[error("shard ranges must be non-empty, contiguous and cover steps 0..{steps}")]
    BadShardRanges { steps: usize },
    #[error("hash at timestamp {ts}: {len} bytes, the Keccak sponge takes fewer than 2^29")]
    HashTooLong { ts: u32, len: usize },
}
