//! A subblock's step records, indexed by subblock step, with a front that can be released.
//!
//! Shard generation over a trace being recorded (issue 18) reads a window of steps: those of the
//! shard it generates, the one before and the one after. Releasing the steps before the window
//! keeps a giant subblock's memory bounded by its shards in flight instead of its length; the
//! steps kept are still indexed as the subblock numbers them, so readers need not know.

use std::ops::{Index, IndexMut, Range};

use super::records::StepRecord;

/// Step records `first_held()..len()` of a subblock (all of them unless some were released).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Steps {
    /// The subblock step `held[0]` is.
    first: usize,
    held: Vec<StepRecord>,
}

impl Steps {
    /// The steps recorded, released ones included: the index the next step gets.
    pub fn len(&self) -> usize {
        self.first + self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first step still held (0 unless earlier ones were released).
    pub fn first_held(&self) -> usize {
        self.first
    }

    /// The steps still held, from [`Self::first_held`] on.
    pub fn held(&self) -> &[StepRecord] {
        &self.held
    }

    /// Step `i`, if it is held.
    pub fn get(&self, i: usize) -> Option<&StepRecord> {
        self.held.get(i.checked_sub(self.first)?)
    }

    /// The held steps with their subblock indices.
    pub fn indexed(&self) -> impl Iterator<Item = (usize, &StepRecord)> + '_ {
        (self.first..).zip(&self.held)
    }

    /// The held steps, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, StepRecord> {
        self.held.iter()
    }

    pub fn push(&mut self, step: StepRecord) {
        self.held.push(step);
    }

    pub fn reserve(&mut self, additional: usize) {
        self.held.reserve(additional);
    }

    /// Drops the steps before `step` (those already held past it stay; nothing is renumbered).
    pub fn release_before(&mut self, step: usize) {
        let n = step.saturating_sub(self.first).min(self.held.len());
        self.held.drain(..n);
        self.first += n;
    }

    /// The held steps, for a recorder handing them on (an empty one with room for `capacity`
    /// steps is left, numbered from 0: the recorder numbers its chunks itself).
    pub fn take_held(&mut self, capacity: usize) -> Vec<StepRecord> {
        self.first = 0;
        std::mem::replace(&mut self.held, Vec::with_capacity(capacity))
    }
}

impl From<Vec<StepRecord>> for Steps {
    fn from(held: Vec<StepRecord>) -> Self {
        Self { first: 0, held }
    }
}

impl FromIterator<StepRecord> for Steps {
    fn from_iter<I: IntoIterator<Item = StepRecord>>(steps: I) -> Self {
        Vec::from_iter(steps).into()
    }
}

impl Extend<StepRecord> for Steps {
    fn extend<I: IntoIterator<Item = StepRecord>>(&mut self, steps: I) {
        self.held.extend(steps);
    }
}

impl<'a> IntoIterator for &'a Steps {
    type Item = &'a StepRecord;
    type IntoIter = std::slice::Iter<'a, StepRecord>;

    fn into_iter(self) -> Self::IntoIter {
        self.held.iter()
    }
}

/// Step `i` of the subblock. A released step is a caller's bug (the window is too short), not
/// bad input: it panics, naming the step and the window.
impl Index<usize> for Steps {
    type Output = StepRecord;

    fn index(&self, i: usize) -> &StepRecord {
        match self.get(i) {
            Some(s) => s,
            None => panic!(
                "step {i} read outside the steps held ({}..{})",
                self.first,
                self.len()
            ),
        }
    }
}

impl IndexMut<usize> for Steps {
    fn index_mut(&mut self, i: usize) -> &mut StepRecord {
        let (first, len) = (self.first, self.len());
        match i.checked_sub(first).and_then(|j| self.held.get_mut(j)) {
            Some(s) => s,
            None => panic!("step {i} written outside the steps held ({first}..{len})"),
        }
    }
}

/// Steps `range` of the subblock (all of them held).
impl Index<Range<usize>> for Steps {
    type Output = [StepRecord];

    fn index(&self, range: Range<usize>) -> &[StepRecord] {
        let (first, len) = (self.first, self.len());
        range
            .start
            .checked_sub(first)
            .zip(range.end.checked_sub(first))
            .and_then(|(a, b)| self.held.get(a..b))
            .unwrap_or_else(|| {
                panic!("steps {range:?} read outside the steps held ({first}..{len})")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(pc: u32) -> StepRecord {
        StepRecord {
            pc,
            ..StepRecord::default()
        }
    }

    #[test]
    fn released_steps_keep_their_numbers() {
        let mut steps = Steps::from((0..6).map(step).collect::<Vec<_>>());
        steps.release_before(4);
        assert_eq!((steps.first_held(), steps.len()), (4, 6));
        assert_eq!(steps[5].pc, 5);
        assert_eq!(steps.get(3), None);
        assert_eq!(
            steps.indexed().map(|(i, s)| (i, s.pc)).collect::<Vec<_>>(),
            [(4, 4), (5, 5)]
        );
        steps.push(step(6));
        assert_eq!(steps[6].pc, 6);
        assert_eq!(steps[4..7].len(), 3);
        // Releasing less than what is released already, or past the end, is harmless.
        steps.release_before(2);
        assert_eq!(steps.first_held(), 4);
        steps.release_before(100);
        assert_eq!(
            (steps.first_held(), steps.len(), steps.held().len()),
            (7, 7, 0)
        );
    }

    #[test]
    #[should_panic(expected = "step 1 read outside the steps held (2..3)")]
    fn a_released_step_is_not_read() {
        let mut steps = Steps::from((0..3).map(step).collect::<Vec<_>>());
        steps.release_before(2);
        let _ = steps[1];
    }
}
