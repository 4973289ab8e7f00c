// SPDX-License-Identifier: GPL-2.0

//! Per-file handle table: small integers naming imports, with the per-file limits.
//!
//! Handles start at 1 and grow monotonically (wrapping around, skipping live
//! ones), so a stale handle from a released import does not silently name a new
//! one until 2^32 imports later. Lookup, insertion and removal are O(log n).

use kernel::{
    prelude::*,
    rbtree::{
        Entry,
        RBTree,
        RBTreeNodeReservation, //
    },
};

/// Limits of one table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Maximum number of live entries (`ENOSPC` beyond).
    pub(crate) max_entries: u32,
    /// Maximum sum of the entries' sizes in bytes (`EDQUOT` beyond).
    pub(crate) max_bytes: u64,
}

/// A table of `V`s, each accounted with a size in bytes.
pub(crate) struct HandleTable<V> {
    entries: RBTree<u32, (u64, V)>,
    count: u32,
    bytes: u64,
    next: u32,
    limits: Limits,
}

impl<V> HandleTable<V> {
    /// An empty table with `limits`.
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            entries: RBTree::new(),
            count: 0,
            bytes: 0,
            next: 1,
            limits,
        }
    }

    /// Whether one more entry of `size` bytes would fit (`ENOSPC`, `EDQUOT`).
    pub(crate) fn check_room(&self, size: u64) -> Result {
        if self.count >= self.limits.max_entries {
            return Err(ENOSPC);
        }
        match self.bytes.checked_add(size) {
            Some(total) if total <= self.limits.max_bytes => Ok(()),
            _ => Err(EDQUOT),
        }
    }

    /// Inserts `value` of `size` bytes and returns its handle. `node` is the
    /// preallocated tree node, so that insertion under a spinlock or after other
    /// fallible work cannot fail for lack of memory.
    pub(crate) fn insert(&mut self, node: HandleNode<V>, size: u64, value: V) -> Result<u32> {
        self.check_room(size)?;
        // At most `max_entries` < 2^32 handles are live, so a free one exists.
        // One tree walk per candidate: finds the slot and links the node there.
        let mut handle = self.next;
        loop {
            if handle != 0 {
                if let Entry::Vacant(slot) = self.entries.entry(handle) {
                    slot.insert((size, value), node.0);
                    break;
                }
            }
            handle = handle.wrapping_add(1);
        }
        self.next = handle.wrapping_add(1);
        self.count += 1;
        self.bytes += size;
        Ok(handle)
    }

    /// The entry named `handle`.
    pub(crate) fn get(&self, handle: u32) -> Option<&V> {
        self.entries.get(&handle).map(|(_, v)| v)
    }

    /// Removes and returns the entry named `handle`.
    pub(crate) fn remove(&mut self, handle: u32) -> Option<V> {
        let (size, value) = self.entries.remove(&handle)?;
        self.count -= 1;
        self.bytes -= size;
        Some(value)
    }

    /// Whether the table has no entries.
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Removes and returns the entry with the lowest handle (teardown without
    /// allocating).
    pub(crate) fn pop_first(&mut self) -> Option<V> {
        let handle = *self.entries.cursor_front()?.current().0;
        self.remove(handle)
    }

    /// The handle of the first entry, in handle order, with a handle `>= start`
    /// for which `pred` holds.
    pub(crate) fn find_from(&self, start: u32, mut pred: impl FnMut(&V) -> bool) -> Option<u32> {
        let mut from = start;
        loop {
            let cursor = self.entries.cursor_lower_bound(&from)?;
            let (&handle, (_, value)) = cursor.current();
            if pred(value) {
                return Some(handle);
            }
            from = handle.checked_add(1)?;
        }
    }

    /// Number of live entries.
    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    /// Sum of the live entries' sizes.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// A tree node allocated ahead of [`HandleTable::insert`].
pub(crate) struct HandleNode<V>(RBTreeNodeReservation<u32, (u64, V)>);

impl<V> HandleNode<V> {
    /// Allocates a node.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self(RBTreeNodeReservation::new(GFP_KERNEL)?))
    }
}

#[kunit_tests(uio_dmabuf_handles)]
mod tests {
    use super::*;

    fn table(max_entries: u32, max_bytes: u64) -> HandleTable<u32> {
        HandleTable::new(Limits {
            max_entries,
            max_bytes,
        })
    }

    fn add(t: &mut HandleTable<u32>, size: u64, v: u32) -> Result<u32> {
        t.insert(HandleNode::new()?, size, v)
    }

    #[test]
    fn handles_start_at_one_and_are_not_reused_at_once() -> Result {
        let mut t = table(16, 1 << 20);
        assert_eq!(add(&mut t, 10, 100)?, 1);
        assert_eq!(add(&mut t, 10, 200)?, 2);
        assert_eq!(t.remove(1), Some(100));
        assert_eq!(add(&mut t, 10, 300)?, 3);
        assert_eq!(t.get(1), None);
        assert_eq!(t.get(3), Some(&300));
        assert_eq!((t.count(), t.bytes()), (2, 20));
        Ok(())
    }

    #[test]
    fn entry_limit_gives_enospc_and_recovers() -> Result {
        let mut t = table(2, u64::MAX);
        add(&mut t, 1, 1)?;
        let h = add(&mut t, 1, 2)?;
        assert_eq!(add(&mut t, 1, 3), Err(ENOSPC));
        assert_eq!(t.count(), 2);
        t.remove(h);
        add(&mut t, 1, 3)?;
        Ok(())
    }

    #[test]
    fn byte_limit_gives_edquot() -> Result {
        let mut t = table(16, 100);
        add(&mut t, 60, 1)?;
        assert_eq!(add(&mut t, 41, 2), Err(EDQUOT));
        add(&mut t, 40, 2)?;
        assert_eq!(t.check_room(1), Err(EDQUOT));
        assert_eq!(t.check_room(u64::MAX), Err(EDQUOT));
        Ok(())
    }

    #[test]
    fn wraparound_skips_zero_and_live_handles() -> Result {
        let mut t = table(16, u64::MAX);
        t.next = u32::MAX;
        assert_eq!(add(&mut t, 1, 1)?, u32::MAX);
        assert_eq!(add(&mut t, 1, 2)?, 1);
        t.next = u32::MAX;
        assert_eq!(add(&mut t, 1, 3)?, 2);
        Ok(())
    }

    #[test]
    fn pop_first_drains_in_handle_order() -> Result {
        let mut t = table(16, u64::MAX);
        for v in 0..5 {
            add(&mut t, 7, v)?;
        }
        t.remove(3);
        let mut seen = KVec::new();
        while let Some(v) = t.pop_first() {
            seen.push(v, GFP_KERNEL)?;
        }
        assert_eq!(seen.as_slice(), &[0, 1, 3, 4]);
        assert_eq!((t.count(), t.bytes()), (0, 0));
        Ok(())
    }

    #[test]
    fn find_from_starts_at_handle_and_matches() -> Result {
        let mut t = table(16, u64::MAX);
        for v in 10..15 {
            add(&mut t, 1, v)?;
        }
        assert_eq!(t.find_from(3, |_| true), Some(3));
        assert_eq!(t.find_from(1, |v| *v % 2 == 1), Some(2));
        assert_eq!(t.find_from(3, |v| *v % 2 == 1), Some(4));
        assert_eq!(t.find_from(5, |v| *v == 10), None);
        assert_eq!(t.find_from(u32::MAX, |_| true), None);
        Ok(())
    }

    #[test]
    fn unknown_handle_is_absent() {
        let mut t = table(16, u64::MAX);
        assert_eq!(t.get(0), None);
        assert_eq!(t.remove(42), None);
    }
}
