// SPDX-License-Identifier: GPL-2.0

//! The segment list userspace receives: DMA-mapped scatter-gather entries with
//! runs that are contiguous in DMA address space merged, and no segment longer
//! than the device's maximum segment size.

use kernel::prelude::*;

/// One DMA segment: `len` bytes starting at device address `addr`. Same layout
/// as `struct uio_dmabuf_segment` in the uapi header.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Segment {
    /// Device (DMA) address.
    pub(crate) addr: u64,
    /// Length in bytes.
    pub(crate) len: u64,
}

// SAFETY: `Segment` is two `u64`s without padding; every bit pattern is valid.
unsafe impl kernel::transmute::FromBytes for Segment {}
// SAFETY: `Segment` is two `u64`s without padding, so it has no uninitialized bytes.
unsafe impl kernel::transmute::AsBytes for Segment {}

/// Merges `entries` (`(dma address, length)` in table order) into segments no
/// longer than `max_len` and calls `emit` for each, in order.
///
/// An entry that starts where the open segment ends extends it, up to `max_len`;
/// the rest of the entry starts the next segment. An entry longer than `max_len`
/// is split. Zero-length entries are skipped. The result is the shortest list of
/// segments of at most `max_len` bytes that covers the entries in order.
pub(crate) fn merge(
    entries: impl IntoIterator<Item = (u64, u64)>,
    max_len: u64,
    mut emit: impl FnMut(Segment) -> Result,
) -> Result {
    let max_len = max_len.max(1);
    let mut open: Option<Segment> = None;
    for (mut addr, mut len) in entries {
        if let Some(seg) = open.as_mut() {
            if seg.addr.checked_add(seg.len) == Some(addr) && seg.len < max_len {
                let take = len.min(max_len - seg.len);
                seg.len += take;
                addr = addr.wrapping_add(take);
                len -= take;
            }
        }
        while len > 0 {
            if let Some(full) = open.take() {
                emit(full)?;
            }
            let take = len.min(max_len);
            open = Some(Segment { addr, len: take });
            addr = addr.wrapping_add(take);
            len -= take;
        }
    }
    if let Some(last) = open {
        emit(last)?;
    }
    Ok(())
}

/// A merged segment list. A single segment, the common case (every buffer
/// behind an IOMMU, every physically contiguous one), is stored inline; longer
/// lists in an exactly sized vector.
pub(crate) enum SegmentList {
    /// Exactly one segment.
    One(Segment),
    /// Any other number of segments.
    Many(KVec<Segment>),
}

impl SegmentList {
    /// The segments, in order.
    pub(crate) fn as_slice(&self) -> &[Segment] {
        match self {
            Self::One(seg) => core::slice::from_ref(seg),
            Self::Many(segs) => segs.as_slice(),
        }
    }
}

/// Collects the merged segments of `entries`, walking them once (each step
/// of a scatterlist walk is a function call): the first segment is kept
/// aside, so a one-segment list allocates nothing, and a longer one ends in an
/// exactly sized vector.
pub(crate) fn collect(
    entries: impl IntoIterator<Item = (u64, u64)>,
    max_len: u64,
) -> Result<SegmentList> {
    let mut first = None;
    // Created for a second segment only: even an empty vector is a call to
    // the allocator when dropped.
    let mut rest: Option<KVec<Segment>> = None;
    merge(entries, max_len, |seg| {
        if first.is_none() {
            first = Some(seg);
            Ok(())
        } else {
            rest.get_or_insert_with(KVec::new)
                .push(seg, GFP_KERNEL)
                .map_err(Error::from)
        }
    })?;
    let Some(first) = first else {
        return Ok(SegmentList::Many(KVec::new()));
    };
    let Some(rest) = rest else {
        return Ok(SegmentList::One(first));
    };
    let mut all = KVec::with_capacity(rest.len() + 1, GFP_KERNEL)?;
    all.push(first, GFP_KERNEL)?;
    all.extend_from_slice(&rest, GFP_KERNEL)?;
    Ok(SegmentList::Many(all))
}

#[kunit_tests(uio_dmabuf_segments)]
mod tests {
    use super::*;

    const PAGE: u64 = 4096;

    fn merged(entries: &[(u64, u64)], max_len: u64) -> Result<SegmentList> {
        collect(entries.iter().copied(), max_len)
    }

    fn seg(addr: u64, len: u64) -> Segment {
        Segment { addr, len }
    }

    #[test]
    fn empty_table_has_no_segments() -> Result {
        assert!(merged(&[], u64::MAX)?.as_slice().is_empty());
        Ok(())
    }

    #[test]
    fn one_segment_is_stored_inline() -> Result {
        let pages = [(0x10000, PAGE), (0x11000, PAGE)];
        assert!(matches!(
            merged(&pages, u64::MAX)?,
            SegmentList::One(Segment {
                addr: 0x10000,
                len: 0x2000
            })
        ));
        assert!(matches!(
            merged(&pages, PAGE)?,
            SegmentList::Many(ref v) if v.len() == 2
        ));
        Ok(())
    }

    #[test]
    fn contiguous_pages_merge_into_one() -> Result {
        let pages = [(0x10000, PAGE), (0x11000, PAGE), (0x12000, PAGE)];
        assert_eq!(
            merged(&pages, u64::MAX)?.as_slice(),
            &[seg(0x10000, 3 * PAGE)]
        );
        Ok(())
    }

    #[test]
    fn gaps_and_reverse_order_stay_apart() -> Result {
        let pages = [
            (0x20000, PAGE),
            (0x10000, PAGE),
            (0x11000, PAGE),
            (0x13000, PAGE),
        ];
        assert_eq!(
            merged(&pages, u64::MAX)?.as_slice(),
            &[
                seg(0x20000, PAGE),
                seg(0x10000, 2 * PAGE),
                seg(0x13000, PAGE)
            ]
        );
        Ok(())
    }

    #[test]
    fn merging_stops_at_max_segment_size() -> Result {
        let pages = [
            (0, PAGE),
            (PAGE, PAGE),
            (2 * PAGE, PAGE),
            (3 * PAGE, PAGE),
            (4 * PAGE, PAGE),
        ];
        assert_eq!(
            merged(&pages, 2 * PAGE)?.as_slice(),
            &[
                seg(0, 2 * PAGE),
                seg(2 * PAGE, 2 * PAGE),
                seg(4 * PAGE, PAGE)
            ]
        );
        Ok(())
    }

    #[test]
    fn entry_longer_than_max_is_split() -> Result {
        assert_eq!(
            merged(&[(0x100000, 5 * PAGE)], 2 * PAGE)?.as_slice(),
            &[
                seg(0x100000, 2 * PAGE),
                seg(0x102000, 2 * PAGE),
                seg(0x104000, PAGE)
            ]
        );
        Ok(())
    }

    #[test]
    fn partial_merge_fills_open_segment_first() -> Result {
        // 1.5 pages open, max 2 pages: the next contiguous 2 pages give half a
        // page to the open segment and start a new one with the rest.
        let entries = [(0, PAGE + PAGE / 2), (PAGE + PAGE / 2, 2 * PAGE)];
        assert_eq!(
            merged(&entries, 2 * PAGE)?.as_slice(),
            &[seg(0, 2 * PAGE), seg(2 * PAGE, PAGE + PAGE / 2)]
        );
        Ok(())
    }

    #[test]
    fn zero_length_entries_are_skipped() -> Result {
        let entries = [(0, 0), (PAGE, PAGE), (2 * PAGE, 0), (2 * PAGE, PAGE)];
        assert_eq!(
            merged(&entries, u64::MAX)?.as_slice(),
            &[seg(PAGE, 2 * PAGE)]
        );
        Ok(())
    }

    #[test]
    fn no_merge_across_address_wraparound() -> Result {
        let entries = [(u64::MAX - PAGE + 1, PAGE), (0, PAGE)];
        assert_eq!(
            merged(&entries, u64::MAX)?.as_slice(),
            &[seg(u64::MAX - PAGE + 1, PAGE), seg(0, PAGE)]
        );
        Ok(())
    }

    #[test]
    fn emit_error_stops_the_walk() {
        let mut seen = 0;
        let r = merge(
            [(0, PAGE), (0x10000, PAGE), (0x20000, PAGE)],
            u64::MAX,
            |_| {
                seen += 1;
                if seen == 2 {
                    Err(EFAULT)
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!(r, Err(EFAULT));
        assert_eq!(seen, 2);
    }
}
