//! 256-bit words as sixteen 16-bit limbs, least significant first.

use slotproof_executor::trace::Word;

/// Limbs per word.
pub const LIMBS: usize = 16;

/// The 16-bit limbs of a word, least significant first.
pub fn limbs(w: &Word) -> [u16; LIMBS] {
    let mut out = [0u16; LIMBS];
    for (i, l) in w.0.iter().enumerate() {
        out[2 * i] = *l as u16;
        out[2 * i + 1] = (*l >> 16) as u16;
    }
    out
}

/// The word with the given limbs.
pub fn from_limbs(l: &[u16; LIMBS]) -> Word {
    let mut w = [0u32; 8];
    for (i, x) in w.iter_mut().enumerate() {
        *x = l[2 * i] as u32 | (l[2 * i + 1] as u32) << 16;
    }
    Word(w)
}

/// A small value as a word.
pub fn small(v: u64) -> Word {
    let mut w = [0u32; 8];
    w[0] = v as u32;
    w[1] = (v >> 32) as u32;
    Word(w)
}

/// Implement `Borrow`/`BorrowMut` from a row slice to a `#[repr(C)]` column struct of `T`s.
macro_rules! impl_columns {
    ($cols:ident, $width:ident) => {
        /// Number of columns.
        pub const $width: usize = core::mem::size_of::<$cols<u8>>();

        impl<T> core::borrow::Borrow<$cols<T>> for [T] {
            fn borrow(&self) -> &$cols<T> {
                assert_eq!(self.len(), $width, "row width");
                // SAFETY: `$cols<T>` is `#[repr(C)]` and made only of `T`s (fields and arrays),
                // so it has the size and alignment of `[T; $width]`.
                unsafe { &*(self.as_ptr() as *const $cols<T>) }
            }
        }

        impl<T> core::borrow::BorrowMut<$cols<T>> for [T] {
            fn borrow_mut(&mut self) -> &mut $cols<T> {
                assert_eq!(self.len(), $width, "row width");
                // SAFETY: as above.
                unsafe { &mut *(self.as_mut_ptr() as *mut $cols<T>) }
            }
        }
    };
}
pub(crate) use impl_columns;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limbs_round_trip() {
        let w = Word([0x1234_5678, 0x9abc_def0, 1, 2, 3, 4, 5, 0xffff_ffff]);
        let l = limbs(&w);
        assert_eq!(l[0], 0x5678);
        assert_eq!(l[1], 0x1234);
        assert_eq!(l[15], 0xffff);
        assert_eq!(from_limbs(&l), w);
    }
}
