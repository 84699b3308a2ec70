//! A tiny EVM assembler: opcodes, PUSHes of a chosen width, and named labels resolved to
//! `PUSH2 <offset>` at assembly time. It exists so that the generator's contracts are written
//! as readable instruction lists in this repository rather than as opaque hex.

use crate::error::ExecError;
use alloy_primitives::{Address, Bytes, U256};
use revm::bytecode::opcode::{JUMP, JUMPDEST, JUMPI, PUSH0, PUSH1, PUSH2};
use std::collections::BTreeMap;

/// An assembler for one contract's runtime code.
#[derive(Debug, Default)]
pub struct Asm {
    code: Vec<u8>,
    labels: BTreeMap<&'static str, usize>,
    /// (offset of the PUSH2 immediate, label it must hold).
    fixups: Vec<(usize, &'static str)>,
    /// Problems found while building (duplicate labels, bad PUSH widths), reported by `assemble`.
    errors: Vec<String>,
}

impl Asm {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one opcode without immediates.
    pub fn op(&mut self, op: u8) -> &mut Self {
        self.code.push(op);
        self
    }

    /// Appends opcodes without immediates.
    pub fn ops(&mut self, ops: &[u8]) -> &mut Self {
        self.code.extend_from_slice(ops);
        self
    }

    /// Pushes `value` with the narrowest PUSHn (PUSH1 for zero, so PUSH0 stays explicit).
    pub fn push(&mut self, value: u64) -> &mut Self {
        self.push_word(U256::from(value))
    }

    /// Pushes a 256-bit `value` with the narrowest PUSHn.
    pub fn push_word(&mut self, value: U256) -> &mut Self {
        let bytes = value.to_be_bytes::<32>();
        let width = (32 - bytes.iter().take_while(|b| **b == 0).count()).max(1);
        self.push_n(width, &bytes[32 - width..])
    }

    /// Pushes `bytes` (big-endian, at most `width` of them, left-padded) with exactly PUSH`width`.
    pub fn push_n(&mut self, width: usize, bytes: &[u8]) -> &mut Self {
        if !(1..=32).contains(&width) || bytes.len() > width {
            self.errors
                .push(format!("PUSH{width} cannot hold {} bytes", bytes.len()));
            return self;
        }
        self.code.push(PUSH1 + (width as u8 - 1));
        self.code
            .extend(std::iter::repeat_n(0u8, width - bytes.len()));
        self.code.extend_from_slice(bytes);
        self
    }

    /// Pushes zero with PUSH0 (EIP-3855).
    pub fn push0(&mut self) -> &mut Self {
        self.op(PUSH0)
    }

    /// Pushes an address with PUSH20.
    pub fn push_addr(&mut self, address: Address) -> &mut Self {
        self.push_n(20, address.as_slice())
    }

    /// Defines `name` here and emits its JUMPDEST.
    pub fn label(&mut self, name: &'static str) -> &mut Self {
        if self.labels.insert(name, self.code.len()).is_some() {
            self.errors.push(format!("label `{name}` defined twice"));
        }
        self.op(JUMPDEST)
    }

    /// Pushes the offset of `name` (PUSH2, patched by `assemble`).
    pub fn push_label(&mut self, name: &'static str) -> &mut Self {
        self.code.push(PUSH2);
        self.fixups.push((self.code.len(), name));
        self.code.extend_from_slice(&[0, 0]);
        self
    }

    /// `JUMP` to `name`.
    pub fn jump(&mut self, name: &'static str) -> &mut Self {
        self.push_label(name).op(JUMP)
    }

    /// `JUMPI` to `name` if the top of the stack is non-zero.
    pub fn jumpi(&mut self, name: &'static str) -> &mut Self {
        self.push_label(name).op(JUMPI)
    }

    /// Resolves labels and returns the runtime code; fails on an undefined or duplicate label, a
    /// bad PUSH width, or code too long for PUSH2 label offsets.
    pub fn assemble(&self, contract: &str) -> Result<Bytes, ExecError> {
        let fail =
            |reason: String| ExecError::Generator(format!("assembling {contract}: {reason}"));
        if let Some(e) = self.errors.first() {
            return Err(fail(e.clone()));
        }
        if self.code.len() > usize::from(u16::MAX) {
            return Err(fail(format!(
                "{} bytes of code exceed PUSH2 label range",
                self.code.len()
            )));
        }
        let mut code = self.code.clone();
        for (at, name) in &self.fixups {
            let target = *self
                .labels
                .get(name)
                .ok_or_else(|| fail(format!("undefined label `{name}`")))?;
            code[*at..*at + 2].copy_from_slice(&(target as u16).to_be_bytes());
        }
        Ok(code.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use revm::bytecode::opcode::{ADD, PUSH20, PUSH32, STOP};

    #[test]
    fn labels_resolve_forward_and_backward() {
        let mut a = Asm::new();
        a.label("top")
            .jump("end")
            .jumpi("top")
            .label("end")
            .op(STOP);
        let code = a.assemble("t").unwrap();
        // top@0: JUMPDEST; PUSH2 0x0009 JUMP; PUSH2 0x0000 JUMPI; end@9: JUMPDEST STOP
        assert_eq!(
            code.as_ref(),
            &[
                JUMPDEST, PUSH2, 0, 9, JUMP, PUSH2, 0, 0, JUMPI, JUMPDEST, STOP
            ]
        );
    }

    #[test]
    fn push_widths() {
        let mut a = Asm::new();
        a.push(0u64)
            .push(0x1234u64)
            .push_addr(Address::repeat_byte(0xab));
        a.push_n(32, &[1]).op(ADD);
        let code = a.assemble("t").unwrap();
        assert_eq!(&code[..5], &[PUSH1, 0, PUSH2, 0x12, 0x34]);
        assert_eq!(code[5], PUSH20);
        assert_eq!(code[26], PUSH32);
        assert_eq!(code[26 + 32], 1);
        assert_eq!(code.len(), 26 + 33 + 1);
    }

    #[test]
    fn bad_programs_are_errors() {
        let mut a = Asm::new();
        a.jump("nowhere");
        assert!(matches!(a.assemble("t"), Err(ExecError::Generator(_))));
        let mut b = Asm::new();
        b.label("x").label("x");
        assert!(b.assemble("t").is_err());
        let mut c = Asm::new();
        c.push_n(2, &[1, 2, 3]);
        assert!(c.assemble("t").is_err());
    }
}
