//! The few SSZ decoding rules a stateless input needs: containers of fixed-size fields and
//! 4-byte offsets to variable-size ones, lists of fixed-size items, and lists of variable-size
//! items (a table of offsets, then the items). A progressive list serialises as a list does.

use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("SSZ `{what}`: {reason}")]
pub struct SszError {
    pub what: String,
    pub reason: String,
}

fn err(what: &str, reason: impl Into<String>) -> SszError {
    SszError {
        what: what.to_string(),
        reason: reason.into(),
    }
}

/// A container field: fixed-size with its byte length, or variable-size (an offset).
#[derive(Debug, Clone, Copy)]
pub enum Field {
    Fixed(usize),
    Var,
}

fn offset_at(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize
}

/// Splits a container into its fields' bytes, checking that the offsets start right after the
/// fixed part, never go back and stay inside it.
pub fn container<'a>(
    bytes: &'a [u8],
    fields: &[Field],
    what: &str,
) -> Result<Vec<&'a [u8]>, SszError> {
    let fixed_len: usize = fields
        .iter()
        .map(|f| match f {
            Field::Fixed(n) => *n,
            Field::Var => 4,
        })
        .sum();
    if bytes.len() < fixed_len {
        return Err(err(
            what,
            format!(
                "{} bytes, shorter than its fixed part of {fixed_len}",
                bytes.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(fields.len());
    let mut offsets = Vec::new();
    let mut pos = 0;
    for f in fields {
        match f {
            Field::Fixed(n) => {
                out.push(&bytes[pos..pos + n]);
                pos += n;
            }
            Field::Var => {
                offsets.push((out.len(), offset_at(bytes, pos)));
                out.push(&bytes[..0]);
                pos += 4;
            }
        }
    }
    match offsets.first() {
        None if bytes.len() != fixed_len => {
            return Err(err(
                what,
                format!("{} trailing bytes", bytes.len() - fixed_len),
            ));
        }
        Some(&(_, first)) if first != fixed_len => {
            return Err(err(
                what,
                format!("first offset {first} is not the fixed part's end {fixed_len}"),
            ));
        }
        _ => {}
    }
    for (i, &(field, start)) in offsets.iter().enumerate() {
        let end = offsets.get(i + 1).map_or(bytes.len(), |&(_, o)| o);
        if start > end || end > bytes.len() {
            return Err(err(
                what,
                format!("offsets {start}..{end} out of order or bounds"),
            ));
        }
        out[field] = &bytes[start..end];
    }
    Ok(out)
}

/// The items of a list of variable-size items.
pub fn var_list<'a>(bytes: &'a [u8], what: &str) -> Result<Vec<&'a [u8]>, SszError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    if bytes.len() < 4 {
        return Err(err(what, "shorter than one offset"));
    }
    let first = offset_at(bytes, 0);
    if first == 0 || !first.is_multiple_of(4) || first > bytes.len() {
        return Err(err(
            what,
            format!("first offset {first} is not a whole offset table"),
        ));
    }
    let n = first / 4;
    let offsets: Vec<usize> = (0..n).map(|i| offset_at(bytes, 4 * i)).collect();
    let mut items = Vec::with_capacity(n);
    for i in 0..n {
        let (start, end) = (
            offsets[i],
            offsets.get(i + 1).copied().unwrap_or(bytes.len()),
        );
        if start > end || end > bytes.len() {
            return Err(err(
                what,
                format!("item {i}: offsets {start}..{end} out of order or bounds"),
            ));
        }
        items.push(&bytes[start..end]);
    }
    Ok(items)
}

/// The items of a list of `size`-byte items.
pub fn fixed_list<'a>(bytes: &'a [u8], size: usize, what: &str) -> Result<Vec<&'a [u8]>, SszError> {
    if !bytes.len().is_multiple_of(size) {
        return Err(err(
            what,
            format!(
                "{} bytes is not a whole number of {size}-byte items",
                bytes.len()
            ),
        ));
    }
    Ok(bytes.chunks(size).collect())
}

pub fn u64_le(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().expect("8 bytes"))
}
