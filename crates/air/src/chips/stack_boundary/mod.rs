//! Boundary tokens of a shard's stack and call memories.
//!
//! `init` rows put tokens on the buses that were created before the shard (stack items alive at
//! its start, resume tokens of contexts suspended at its start); `fin` rows take off what is
//! left at its end (stack items of finished contexts and items alive at the end, resume tokens
//! of contexts still suspended). Init rows are only allowed when the public value `allow_init`
//! is 1 (a shard that does not start its subblock), resume-token `fin` rows only when
//! `allow_suspended` is 1 (a shard that does not end its subblock); the verifier sets both from
//! the shard's position. Carried state goes to the carry table's commitments: `init` and
//! `r_init` rows as what comes in, `r_fin` rows and `fin` rows flagged `carry_out` (items alive
//! at the end) as what goes on, each at its position (`pos`, `r_pos`); the verifiers require
//! one shard's out commitment to be the next one's in commitment. Memory words carried in with
//! non-zero content are committed by the memory chip's bound rows (after this chip's tokens on
//! the `carry` bus) and also need a permission this chip provides only where `allow_init` is 1
//! (`mem_carry`).

pub mod air;
pub mod columns;
pub mod trace;

pub use air::{BoundaryAir, NUM_BOUNDARY_PUBLIC};
