//! The multiplication chip: one row per MUL, DIV, SDIV, MOD, SMOD, ADDMOD, SHL, SHR, SAR, BYTE
//! or SIGNEXTEND step, three per MULMOD step and, per EXP step, a head row plus one row per
//! squaring and per multiplication of square-and-multiply, received from the CPU on
//! [`crate::buses::ALU`] as `(opcode, a, b, n, c)` like the ALU chip (a = top of stack, n = the
//! third item, ADDMOD's modulus, zero for the others; c = result; 16-bit limbs). Every row is one instance of
//!
//! `x y + z = h 2^256 + l`   (x, y: 32 bytes each; z, h, l: 16 limbs of 16 bits)
//!
//! checked limb by limb: the byte products of output limb `m` (byte columns `2m`, `2m + 1`)
//! plus `z_m` and the carry in equal `out_m + 2^16 carry_m`, where `out` is `l` then `h` and each
//! carry is below 2^14.02 (`lo + 64 hi`, two bytes in one byte-pair lookup), so no equation wraps the field. The opcodes map onto it:
//!
//! | opcode | x | y | z | h | l | result c |
//! |---|---|---|---|---|---|---|
//! | MUL a b | a | b | 0 | free | c | l |
//! | DIV a b | q | b | r | 0 | a | q (0 if b = 0) |
//! | MOD a b | q | b | r | 0 | a | r (0 if b = 0) |
//! | SHL a b | b | 2^a | 0 | free | l | l (0 if a >= 256) |
//! | SHR a b | q | 2^a | r | 0 | b | q (0 if a >= 256) |
//! | SDIV a b | q | \|b\| | r | 0 | \|a\| | ±q (sign of a XOR sign of b; 0 if b = 0) |
//! | SMOD a b | q | \|b\| | r | 0 | \|a\| | ±r (sign of a; 0 if b = 0) |
//! | ADDMOD a b n | q | n | r | carry of a + b | a + b | r (0 if n = 0 or 1) |
//! | MULMOD a b n, row 1 | a | b | 0 | H | L | (received on the bus) |
//! | MULMOD row 2 | q1 | n' | r1 | 0 | H | |
//! | MULMOD row 3 | q2 | n' | r | r1 | L | r |
//! | SAR a b | q | 2^a | r | 0 | b XOR sign | q XOR sign (sign extended: all ones or 0 if a >= 256) |
//! | BYTE i b | q | 2^(248 - 8i) | r | 0 | b | lowest byte of q (0 if i >= 32) |
//! | SIGNEXTEND i b | q | 2^(8i + 7) | r | 0 | b | r - sign 2^(8i+7), sign = lowest bit of q (b if i >= 32) |
//! | EXP a b, head | q = [b != 0] | 2^j | r | 0 | b | (received on the bus: the chain's end) |
//! | EXP squaring row at i | acc | acc | 0 | free | acc^2 | |
//! | EXP multiplying row at i | acc | a | 0 | free | acc a | |
//!
//! MULMOD's rows are tied by the `mulmod-link` bus (row 1 hands on H, L, n' and the claimed
//! result; row 2 hands on r1, L, n' and the result), n' is n or 1 for n = 0 (result 0), and
//! `r1 < n'` makes q2 fit a word. Only row 1 receives on the ALU bus.
//!
//! EXP is left-to-right square-and-multiply on the `exp-link` bus: the head splits the exponent
//! at its top bit j (`b = 2^j + r`, `r < 2^j`; q = 0 for b = 0), so its gas `10 + 50 bytes(b)`
//! follows from `j = 16 k + e` (2k + 1 + [e >= 8] bytes) and is checked against the CPU's gas
//! step (sent as the bus's third operand), and starts the chain with `acc = a^q`. Each squaring
//! row at position i (`16 k + e` again) takes bit i off the rest of the exponent (the rest's
//! limb k minus `bit 2^e` must be below `2^e`), and hands acc^2 on to a multiplying row (bit 1)
//! or to position i - 1. Position -1 is only received by the head, as `acc = c`. A b-bit
//! exponent takes `b - 1 + (ones - 1)` chain rows (at most 510): the same relation rows as the
//! other opcodes, so no new table; products need only their low word (h is free).
//!
//! Signed operands and results are two's-complement negations where the sign is set
//! (`(v XOR s) + s` limb by limb, boolean carries; the sign bits split off the top limbs). The
//! most negative value divided by -1 needs nothing special: |a| = 2^255, q = 2^255, and -q is
//! again 2^255. XOR with a sign (SAR) is linear: `v + s (2^16 - 1 - 2 v)` per limb.
//!
//! DIV/MOD with `b != 0` and SHR check `r < y` (one flag `top_diff` at the highest limb where
//! they differ: equal above it, `y_k - r_k - 1` a u16 value at it); `b = 0` is a flag with an
//! inverse witness of the byte sum of `y`, and then
//! `q = 0`. For shifts, `a = s + 256 t` (t a byte; `big = [a >= 256]` by an inverse witness of
//! `t` plus the higher limbs) and `s = 16 k + e` with `k` one-hot over the 16 limbs of `y` and
//! `e` in bits, so `y = 2^s` (limb `k` is `2^e`, the others zero). BYTE and SIGNEXTEND take
//! the index as `a = i + 32 t` (`t` below 2^11) and the exponent from `i`; `big` is then
//! `[a >= 32]`.
//!
//! Range checks: x and y bytes on the byte-pair bus (they are multiplied, so both bytes of
//! every limb are checked; one lookup per limb); `z`, the remainder gap and the carries on the
//! u16 bus. `l` is the CPU's range-checked result or operand wherever it matters, else looked
//! up (SDIV/SMOD, ADDMOD); `h` is only ever zero or unused. ADDMOD's modulus `n` (the bus's
//! third operand) is `y` itself.

pub mod air;
pub mod columns;
pub mod trace;

pub use air::MulDivAir;
