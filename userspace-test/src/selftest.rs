// SPDX-License-Identifier: MIT OR Apache-2.0

//! End-to-end DMA into imported dma-bufs by a device's copy engine: fill a
//! source buffer, import it and a zeroed destination, and for every piece of
//! every DMA segment let the engine copy source to destination, waiting for each
//! completion by interrupt through `/dev/uioN`. Then compare byte for byte.
//! Engines: QEMU's edu (RAM -> its internal buffer -> RAM) and a ZynqMP ZDMA
//! channel (RAM -> RAM in simple mode).

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;

use dma_buf::DmaBuf;

use crate::buffers;
use crate::edu::{self, Edu};
use crate::error::{Error, Result};
use crate::import::{locate, Direction, ImportDevice, ImportFlags, Segment};
use crate::mmap::Mapping;
use crate::uio::Uio;
use crate::zdma::{self, Zdma};

/// A device that copies between two device addresses and waits for the
/// completion interrupt through `/dev/uioN`.
pub trait CopyEngine {
    /// The most bytes one [`CopyEngine::transfer`] moves.
    fn max_transfer(&self) -> usize;
    /// Copies `len` bytes (1 to [`CopyEngine::max_transfer`]) from device
    /// address `src` to `dst`; returns once the device reported completion.
    fn transfer(&self, src: u64, dst: u64, len: usize) -> Result<()>;
}

/// edu copies through its 4 KiB internal buffer: RAM to the buffer, then the
/// buffer to RAM, each waited for by interrupt.
impl CopyEngine for Edu<'_> {
    fn max_transfer(&self) -> usize {
        edu::MAX_TRANSFER
    }

    fn transfer(&self, src: u64, dst: u64, len: usize) -> Result<()> {
        self.dma(src, 0, len, false)?;
        self.dma(dst, 0, len, true)
    }
}

/// A ZDMA channel copies memory to memory in one simple-mode transfer.
impl CopyEngine for Zdma<'_> {
    fn max_transfer(&self) -> usize {
        zdma::MAX_TRANSFER
    }

    fn transfer(&self, src: u64, dst: u64, len: usize) -> Result<()> {
        self.copy(src, dst, len)
    }
}

/// Where a test buffer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exporter {
    /// `/dev/dma_heap/system`.
    SystemHeap,
    /// udmabuf over scattered memfd pages.
    Udmabuf,
}

impl Exporter {
    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Exporter::SystemHeap => "system-heap",
            Exporter::Udmabuf => "udmabuf",
        }
    }

    /// Allocates `size` bytes from this exporter.
    pub fn allocate(self, size: usize) -> Result<TestBuffer> {
        Ok(match self {
            Exporter::SystemHeap => TestBuffer {
                dmabuf: buffers::system_heap(size)?,
                memfd: None,
            },
            Exporter::Udmabuf => {
                let (dmabuf, memfd) = buffers::udmabuf_with_memfd(size, true)?;
                TestBuffer {
                    dmabuf,
                    memfd: Some(memfd),
                }
            }
        })
    }
}

/// A dma-buf and how the CPU reaches its bytes.
pub struct TestBuffer {
    dmabuf: OwnedFd,
    /// udmabuf: the memfd behind it (see [`buffers::udmabuf_with_memfd`]);
    /// otherwise the dma-buf is mmapped, with `DMA_BUF_IOCTL_SYNC` around the
    /// access (the `dma-buf` crate) unless told otherwise.
    memfd: Option<File>,
}

impl TestBuffer {
    /// Writes `f(i)` to every byte `i`.
    fn fill(&self, size: usize, f: fn(usize) -> u8) -> Result<()> {
        if let Some(memfd) = &self.memfd {
            let bytes: Vec<u8> = (0..size).map(f).collect();
            return memfd
                .write_all_at(&bytes, 0)
                .map_err(|e| Error::from_io("write memfd", &e));
        }
        mmap_fill(&self.dmabuf, move |b| {
            b.iter_mut().enumerate().for_each(|(i, x)| *x = f(i))
        })
    }

    /// Counts the bytes of the first `size` that differ from the pattern. A
    /// mapped dma-buf is read inside `DMA_BUF_IOCTL_SYNC` with `exporter_sync`,
    /// through a bare mmap without (the memfd behind a udmabuf never syncs).
    fn mismatches(&self, size: usize, exporter_sync: bool) -> Result<usize> {
        if let Some(memfd) = &self.memfd {
            let mut bytes = vec![0u8; size];
            memfd
                .read_exact_at(&mut bytes, 0)
                .map_err(|e| Error::from_io("read memfd", &e))?;
            return Ok(count_mismatches(&bytes));
        }
        if exporter_sync {
            mmap_count_mismatches(&self.dmabuf, size)
        } else {
            mmap_count_mismatches_unsynced(&self.dmabuf, size)
        }
    }
}

/// Which cache syncs the run performs around the transfers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Syncs {
    /// `sync_for_device` before the device reads; before the CPU reads the
    /// destination, `sync_for_cpu` and (a mapped dma-buf) the exporter's
    /// `DMA_BUF_IOCTL_SYNC`: the documented protocol.
    #[default]
    All,
    /// Every CPU-side sync of the destination is skipped, ours and the
    /// exporter's: with bounce buffers the CPU then reads stale memory (the
    /// negative check).
    SkipCpu,
    /// Only our `sync_for_cpu` before the CPU reads the destination; a mapped
    /// dma-buf is read without `DMA_BUF_IOCTL_SYNC`, so the data can only
    /// arrive through this library's sync.
    ImporterOnly,
}

/// How to run the self-test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// The syncs around the transfers.
    pub syncs: Syncs,
    /// Leave out the transfers of this segment of the destination, so that its
    /// bytes stay zero (a run that must fail).
    pub skip_segment: Option<usize>,
}

/// The outcome of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub exporter: Exporter,
    pub size: usize,
    pub src_segments: usize,
    pub dst_segments: usize,
    /// Bytes copied from the source to the destination, each counted once
    /// (edu moves every byte twice: RAM to its buffer, then back to RAM).
    pub bytes_moved: usize,
    /// Transfers programmed: one per piece (see [`pieces`]).
    pub transfers: usize,
    /// Bytes of the destination that differ from the source afterwards.
    pub mismatches: usize,
    /// Bytes left out on purpose ([`Options::skip_segment`]).
    pub bytes_skipped: usize,
}

/// The byte at `offset` of the test pattern (never all-zero, differs between
/// neighbouring pages).
pub fn pattern_byte(offset: usize) -> u8 {
    (offset.wrapping_mul(31) ^ (offset >> 12).wrapping_mul(7) ^ 0x5a) as u8
}

// CPU access to a mapped dma-buf, bracketed by DMA_BUF_IOCTL_SYNC in the
// direction of the access: write before the device reads, read after it wrote.
// (The system heap syncs every attachment with the ioctl's direction; a
// read-write sync of a buffer imported FROM_DEVICE is a direction mismatch that
// DMA-API debug reports.)
fn mmap_fill(fd: &OwnedFd, f: impl Fn(&mut [u8]) + 'static) -> Result<()> {
    let buf = DmaBuf::from(
        fd.try_clone()
            .map_err(|e| Error::from_io("dup dma-buf", &e))?,
    );
    let mut map = buf
        .memory_map()
        .map_err(|e| Error::from_io("mmap dma-buf", &e))?;
    map.write(
        move |bytes, _: Option<()>| {
            f(bytes);
            Ok(())
        },
        None,
    )
    .map_err(|_| Error::new("DMA_BUF_IOCTL_SYNC write", libc::EIO))
}

fn count_mismatches(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .enumerate()
        .filter(|(i, b)| **b != pattern_byte(*i))
        .count()
}

fn mmap_count_mismatches(fd: &OwnedFd, len: usize) -> Result<usize> {
    let buf = DmaBuf::from(
        fd.try_clone()
            .map_err(|e| Error::from_io("dup dma-buf", &e))?,
    );
    let map = buf
        .memory_map()
        .map_err(|e| Error::from_io("mmap dma-buf", &e))?;
    map.read(
        move |bytes, _: Option<()>| match bytes.get(..len) {
            Some(bytes) => Ok(count_mismatches(bytes)),
            None => Err("dma-buf shorter than the test size".into()),
        },
        None,
    )
    .map_err(|_| Error::new("DMA_BUF_IOCTL_SYNC read", libc::EIO))
}

/// Like [`mmap_count_mismatches`] but without `DMA_BUF_IOCTL_SYNC`: the bytes
/// as the CPU sees them through the exporter's mmap, nothing synced for it.
fn mmap_count_mismatches_unsynced(fd: &OwnedFd, len: usize) -> Result<usize> {
    if len == 0 {
        return Ok(0);
    }
    let map = Mapping::file_read_only(fd, len)?;
    // SAFETY: The device is done writing (its completion interrupt came), and
    // nothing else writes the buffer.
    Ok(count_mismatches(unsafe { map.bytes() }))
}

/// The pieces `(offset, len)` an engine transfers for a `size`-byte buffer
/// whose two mappings have segment lists `a` and `b`: at most `max` bytes (a
/// `max` of 0 counts as 1), never crossing a segment boundary of either. `EIO`
/// if a list covers less than `size` bytes.
pub fn pieces(
    a: &[Segment],
    b: &[Segment],
    size: usize,
    max: usize,
) -> Result<Vec<(usize, usize)>> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < size {
        let (_, _, run_a) = locate_or_eio(a, off)?;
        let (_, _, run_b) = locate_or_eio(b, off)?;
        // `locate` never returns an empty run, so every piece moves forward.
        let len = usize::try_from(run_a.min(run_b))
            .unwrap_or(usize::MAX)
            .min(max.max(1))
            .min(size - off);
        out.push((off, len));
        off += len;
    }
    Ok(out)
}

/// [`locate`], with `EIO` when the segment list ends before `offset`.
fn locate_or_eio(segments: &[Segment], offset: usize) -> Result<(usize, u64, u64)> {
    locate(segments, offset as u64).ok_or(Error::new(
        "segment list shorter than the buffer",
        libc::EIO,
    ))
}

/// Copies a `size`-byte buffer from `exporter` into another one with `engine`,
/// the device behind `uio`.
pub fn run(
    dev: &ImportDevice,
    uio: &Uio,
    engine: &dyn CopyEngine,
    exporter: Exporter,
    size: usize,
    opts: Options,
) -> Result<Report> {
    let src_buf = exporter.allocate(size)?;
    let dst_buf = exporter.allocate(size)?;
    src_buf.fill(size, pattern_byte)?;
    dst_buf.fill(size, |_| 0)?;
    let src = dev.import(
        uio.as_fd(),
        &src_buf.dmabuf,
        Direction::ToDevice,
        ImportFlags::default(),
    )?;
    let dst = dev.import(
        uio.as_fd(),
        &dst_buf.dmabuf,
        Direction::FromDevice,
        ImportFlags::default(),
    )?;
    if let Some(n) = opts.skip_segment {
        if n >= dst.segments().len() {
            return Err(Error::new("segment to skip is past the end", libc::EINVAL));
        }
    }

    src.sync_for_device()?;
    dst.sync_for_device()?;
    let (mut moved, mut skipped, mut transfers) = (0, 0, 0);
    let max = engine.max_transfer();
    for (off, len) in pieces(src.segments(), dst.segments(), size, max)? {
        let (_, from, _) = locate_or_eio(src.segments(), off)?;
        let (dst_segment, to, _) = locate_or_eio(dst.segments(), off)?;
        if opts.skip_segment == Some(dst_segment) {
            skipped += len;
            continue;
        }
        engine.transfer(from, to, len)?;
        moved += len;
        transfers += 1;
    }
    if opts.syncs != Syncs::SkipCpu {
        dst.sync_for_cpu()?;
    }
    // Counted before the imports are released: unmapping a bounced mapping
    // copies the device's data back whatever the syncs were.
    let mismatches = dst_buf.mismatches(size, opts.syncs == Syncs::All)?;
    Ok(Report {
        exporter,
        size,
        src_segments: src.segments().len(),
        dst_segments: dst.segments().len(),
        bytes_moved: moved,
        transfers,
        mismatches,
        bytes_skipped: skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::import::segments_of as segs;

    #[test]
    fn pieces_split_at_every_segment_boundary_and_at_4095_bytes() {
        // a: 8 KiB + 4 KiB; b: 4 KiB + 100 bytes + the rest.
        let a = segs(&[(0x10000, 0x2000), (0x40000, 0x1000)]);
        let b = segs(&[(0x80000, 0x1000), (0x90000, 100), (0xa0000, 0x2000 - 100)]);
        let p = pieces(&a, &b, 0x3000, edu::MAX_TRANSFER).unwrap();
        assert_eq!(
            p,
            vec![
                (0, 4095),
                (4095, 1),
                (0x1000, 100),
                // a's first segment ends at 0x2000, inside b's third.
                (0x1000 + 100, 0x1000 - 100),
                (0x2000, 4095),
                (0x2000 + 4095, 1),
            ]
        );
        // Contiguous, no gaps, no piece crossing a boundary of either list.
        let mut next = 0;
        for &(off, len) in &p {
            assert_eq!(off, next);
            assert!(len > 0 && len <= edu::MAX_TRANSFER);
            for list in [&a, &b] {
                let (first, _, _) = locate(list, off as u64).unwrap();
                let (last, _, _) = locate(list, (off + len - 1) as u64).unwrap();
                assert_eq!(first, last, "piece {off:#x}+{len:#x} crosses a segment");
            }
            next = off + len;
        }
        assert_eq!(next, 0x3000);
    }

    #[test]
    fn pieces_stop_at_the_buffer_size_and_fail_on_short_lists() {
        let one = segs(&[(0, 1 << 20)]);
        let max = edu::MAX_TRANSFER;
        assert_eq!(pieces(&one, &one, 10, max).unwrap(), vec![(0, 10)]);
        assert_eq!(pieces(&one, &one, 0, max).unwrap(), vec![]);
        let short = segs(&[(0, 4096)]);
        assert_eq!(
            pieces(&one, &short, 8192, max).unwrap_err().errno,
            libc::EIO,
            "a list shorter than the buffer"
        );
        assert_eq!(pieces(&[], &one, 1, max).unwrap_err().errno, libc::EIO);
    }

    #[test]
    fn a_large_engine_moves_whole_segments() {
        // ZDMA's limit is far above any segment here: one piece per run of
        // both lists, none split inside.
        let a = segs(&[(0x10000, 0x3000), (0x40000, 0x1000)]);
        let b = segs(&[(0x80000, 0x1000), (0x90000, 0x3000)]);
        assert_eq!(
            pieces(&a, &b, 0x4000, zdma::MAX_TRANSFER).unwrap(),
            vec![(0, 0x1000), (0x1000, 0x2000), (0x3000, 0x1000)]
        );
        // A limit of 0 still moves forward, a byte at a time.
        assert_eq!(pieces(&a, &b, 2, 0).unwrap(), vec![(0, 1), (1, 1)]);
    }

    #[test]
    fn pattern_differs_between_pages_and_is_not_zero_everywhere() {
        let page0: Vec<u8> = (0..4096).map(pattern_byte).collect();
        let page1: Vec<u8> = (4096..8192).map(pattern_byte).collect();
        assert_ne!(page0, page1);
        assert!(page0.iter().any(|&b| b != 0));
    }
}
