//! Element-wise field and Poseidon2 kernels, exposed for bit-exact tests of the device headers.

use crate::abi::{ElementwiseOp, ElementwiseParams, PermuteParams};
use crate::backend::{CudaBackend, DeviceBuffer};
use crate::error::{Error, Result};
use crate::field::DeviceField;

impl CudaBackend {
    /// `out[i] = op(a[i], b[i])` on Montgomery words (base ops: one word per element; extension
    /// ops: 4 words per element, so `a.len()` must be a multiple of 4).
    pub fn elementwise<F: DeviceField>(
        &self,
        op: ElementwiseOp,
        a: &DeviceBuffer,
        b: &DeviceBuffer,
    ) -> Result<DeviceBuffer> {
        if a.len() != b.len() {
            return Err(Error::InvalidShape(format!(
                "operand lengths {} and {}",
                a.len(),
                b.len()
            )));
        }
        let n = if op.is_extension() {
            if !a.len().is_multiple_of(4) {
                return Err(Error::InvalidShape(
                    "extension operands need 4 words each".into(),
                ));
            }
            a.len() / 4
        } else {
            a.len()
        };
        let out = self.alloc(a.len())?;
        let stream = self.stream();
        let p = ElementwiseParams {
            a: a.ptr(stream),
            b: b.ptr(stream),
            out: out.ptr(stream),
            n: n as u32,
            op: op as u32,
        };
        let kernel = crate::kernels::entry("elementwise", F::KIND)?;
        self.launch_stride(kernel, n, &[&p])?;
        Ok(out)
    }

    /// Apply the Poseidon2-16 permutation to each 16-word state of `states`.
    pub fn poseidon2_permute_batch<F: DeviceField>(
        &self,
        states: &DeviceBuffer,
    ) -> Result<DeviceBuffer> {
        if !states.len().is_multiple_of(16) {
            return Err(Error::InvalidShape("states must be 16 words each".into()));
        }
        let n = states.len() / 16;
        let out = self.alloc(states.len())?;
        let stream = self.stream();
        let p = PermuteParams {
            input: states.ptr(stream),
            out: out.ptr(stream),
            num_states: n as u32,
            _pad: 0,
        };
        let c = F::poseidon2_constants();
        let kernel = crate::kernels::entry("poseidon2_permute", F::KIND)?;
        self.launch_per_thread(kernel, n, &[&p, &c])?;
        Ok(out)
    }
}
