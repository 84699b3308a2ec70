//! The multiplication chip: one row per MUL, DIV, MOD, SHL, SHR step, received from the CPU on
//! [`crate::buses::ALU`] as `(opcode, a, b, c)` like the ALU chip (a = top of stack, c = result,
//! 16-bit limbs). Every row is one instance of
//!
//! `x y + z = h 2^256 + l`   (x, y: 32 bytes each; z, h, l: 16 limbs of 16 bits)
//!
//! checked limb by limb: the byte products of output limb `m` (byte columns `2m`, `2m + 1`)
//! plus `z_m` and the carry in equal `out_m + 2^16 carry_m`, where `out` is `l` then `h` and each
//! carry is below 2^14 (two u16 lookups), so no equation wraps the field. The opcodes map onto it:
//!
//! | opcode | x | y | z | h | l | result c |
//! |---|---|---|---|---|---|---|
//! | MUL a b | a | b | 0 | free | c | l |
//! | DIV a b | q | b | r | 0 | a | q (0 if b = 0) |
//! | MOD a b | q | b | r | 0 | a | r (0 if b = 0) |
//! | SHL a b | b | 2^a | 0 | free | l | l (0 if a >= 256) |
//! | SHR a b | q | 2^a | r | 0 | b | q (0 if a >= 256) |
//!
//! DIV/MOD with `b != 0` and SHR check `r < y` (`r + 1 + diff = y` without overflow, `diff`
//! range-checked); `b = 0` is a flag with an inverse witness of the byte sum of `y`, and then
//! `q = 0`. For shifts, `a = s + 256 t` (t a byte; `big = [a >= 256]` by an inverse witness of
//! `t` plus the higher limbs) and `s = 16 k + e` with `k` one-hot over the 16 limbs of `y` and
//! `e` in bits, so `y = 2^s` (limb `k` is `2^e`, the others zero).
//!
//! Range checks: x and y bytes on the byte bus (they are multiplied, so both bytes of every
//! limb are checked); `z`, `diff` and the carries on the u16 bus. `l` is the CPU's range-checked
//! result or operand wherever it matters; `h` is only ever zero or unused.

pub mod air;
pub mod columns;
pub mod trace;

pub use air::MulDivAir;
