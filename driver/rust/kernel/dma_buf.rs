// SPDX-License-Identifier: GPL-2.0

//! Importing dma-bufs (importer side).
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h)
//!
//! [`DmaBuf`] is a counted reference to a dma-buf taken from a file descriptor,
//! [`Attachment`] attaches it to a device, and [`Mapping`] maps the attachment for
//! DMA. Each owns the one before it, so dropping a [`Mapping`] unmaps, detaches and
//! drops the reference, in that order.
//!
//! Attachments are static (`dma_buf_attach`, no `importer_ops`): the exporter pins
//! the buffer for as long as it is mapped and never calls back into the importer,
//! so no importer lock is ever taken under the dma-buf's reservation lock.

use crate::{
    bindings,
    device::{
        Bound,
        Device, //
    },
    dma::DataDirection,
    error::from_err_ptr,
    page::PAGE_MASK,
    prelude::*,
    scatterlist::SGTable,
    sync::aref::ARef,
    task, //
};
use core::ptr::NonNull;

/// Which way a sync hands the buffer over.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum SyncTarget {
    /// To the CPU, after device DMA.
    Cpu,
    /// To the device, before DMA.
    Device,
}

/// The bits of an address below page granularity.
// CAST: `usize` is at most 64 bits wide.
const PAGE_MASK_LOW: u64 = !PAGE_MASK as u64;

/// A reference to a dma-buf.
///
/// # Invariants
///
/// `ptr` points to a `struct dma_buf` on which this object holds one reference
/// (taken by `dma_buf_get`), dropped by `dma_buf_put` in `drop`.
pub struct DmaBuf {
    ptr: NonNull<bindings::dma_buf>,
}

// SAFETY: A dma-buf reference may be used and dropped from any thread.
unsafe impl Send for DmaBuf {}
// SAFETY: `&DmaBuf` only reads immutable fields of the dma-buf.
unsafe impl Sync for DmaBuf {}

impl DmaBuf {
    /// Takes a reference to the dma-buf behind file descriptor `fd` of the
    /// calling process: `EBADF` if `fd` is not open, `EINVAL` if it is not a
    /// dma-buf.
    pub fn get(fd: i32) -> Result<Self> {
        // SAFETY: `dma_buf_get` accepts any integer and returns either a dma-buf
        // with a new reference or an `ERR_PTR`.
        let ptr = from_err_ptr(unsafe { bindings::dma_buf_get(fd) })?;
        // INVARIANT: `dma_buf_get` succeeded, so we own one reference.
        NonNull::new(ptr).map(|ptr| Self { ptr }).ok_or(EINVAL)
    }

    /// The number of the dma-buf's inode: the dma-buf core numbers each
    /// dma-buf it exports from one 64-bit counter, so no other dma-buf has had
    /// or will have it since boot (unlike its address, which a later dma-buf
    /// may get once this one is freed).
    pub fn inode_number(&self) -> u64 {
        // SAFETY: By the type invariant the dma-buf is alive; its `file` and the
        // file's inode are set at export and outlive it.
        unsafe { (*(*(*self.ptr.as_ptr()).file).f_inode).i_ino }
    }

    /// The size of the buffer in bytes.
    pub fn size(&self) -> usize {
        // SAFETY: By the type invariant the dma-buf is alive; `size` is set at
        // export and never changes.
        unsafe { (*self.ptr.as_ptr()).size }
    }
}

impl Drop for DmaBuf {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own one reference.
        unsafe { bindings::dma_buf_put(self.ptr.as_ptr()) };
    }
}

/// A dma-buf attached to a device.
///
/// # Invariants
///
/// `attach` is the attachment `dma_buf_attach` returned for `buf` and `dev`; it is
/// detached in `drop`, before `buf` (and with it the dma-buf reference) is dropped.
pub struct Attachment {
    attach: NonNull<bindings::dma_buf_attachment>,
    buf: DmaBuf,
    dev: ARef<Device>,
}

// SAFETY: Attachments may be used and detached from any thread.
unsafe impl Send for Attachment {}
// SAFETY: `&Attachment` exposes no mutation.
unsafe impl Sync for Attachment {}

impl Attachment {
    /// Attaches `buf` to `dev`, so that its mappings apply the device's IOMMU
    /// domain, DMA mask and swiotlb. The device must stay bound as long as the
    /// attachment lives; it is kept alive by a reference.
    pub fn new(buf: DmaBuf, dev: &Device<Bound>) -> Result<Self> {
        // SAFETY: `buf` holds a reference to a live dma-buf and `dev` is a bound
        // device.
        let ptr =
            from_err_ptr(unsafe { bindings::dma_buf_attach(buf.ptr.as_ptr(), dev.as_raw()) })?;
        let attach = NonNull::new(ptr).ok_or(EINVAL)?;
        // INVARIANT: `attach` was just returned for `buf` and `dev`.
        Ok(Self {
            attach,
            buf,
            dev: dev.into(),
        })
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `attach` is a live attachment of `buf`, not
        // mapped any more (a `Mapping` owns its `Attachment` and unmaps first).
        unsafe { bindings::dma_buf_detach(self.buf.ptr.as_ptr(), self.attach.as_ptr()) };
    }
}

/// An attachment mapped for DMA.
///
/// # Invariants
///
/// `sgt` is the table `dma_buf_map_attachment_unlocked` returned for `attach` and
/// `dir`; it is unmapped in `drop`, before `attach` is detached. While mapped, the
/// exporter keeps the table and its DMA addresses unchanged.
pub struct Mapping {
    sgt: NonNull<bindings::sg_table>,
    dir: DataDirection,
    /// Whether the DMA API wants syncs for some segment (`dma_need_sync`):
    /// not where the mapping is coherent and nothing is bounced.
    needs_sync: bool,
    attach: Attachment,
}

// SAFETY: A mapping may be used and unmapped from any thread.
unsafe impl Send for Mapping {}
// SAFETY: `&Mapping` only reads the table and issues cache syncs, which the DMA
// API allows concurrently.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `attach` for DMA in direction `dir`.
    pub fn new(attach: Attachment, dir: DataDirection) -> Result<Self> {
        // SAFETY: `attach` is a live, unmapped attachment; no reservation lock is
        // held by this thread (the `_unlocked` variant takes it).
        let ptr = from_err_ptr(unsafe {
            bindings::dma_buf_map_attachment_unlocked(attach.attach.as_ptr(), dir.into())
        })?;
        let sgt = NonNull::new(ptr).ok_or(EINVAL)?;
        // INVARIANT: `sgt` was just returned for `attach` and `dir`.
        let mut this = Self {
            sgt,
            dir,
            needs_sync: true,
            attach,
        };
        let dev = this.attach.dev.as_raw();
        // SAFETY: `dev` is a valid device (a reference is held).
        this.needs_sync = unsafe { bindings::dma_dev_need_sync(dev) }
            && this.sg_table().iter().any(|entry| {
                // SAFETY: `dev` is the device the table is mapped for, and the
                // address one of the mapping's.
                unsafe { bindings::dma_need_sync(dev, entry.dma_address()) }
            });
        Ok(this)
    }

    /// The DMA-mapped scatter-gather table.
    pub fn sg_table(&self) -> &SGTable {
        // SAFETY: By the type invariant `sgt` is a valid table that nobody modifies
        // while it is mapped, i.e. for the lifetime of `&self`.
        unsafe { SGTable::from_raw(self.sgt.as_ptr()) }
    }

    /// Syncs the mapping for `target`: for the CPU after device DMA
    /// (invalidate caches, copy swiotlb bounce buffers back), or for the device
    /// before DMA (write back caches, fill bounce buffers). Nothing to do where
    /// the DMA API needs no syncs for it.
    ///
    /// An importer sees only the DMA side of the table (with
    /// `CONFIG_DMABUF_DEBUG` it gets a copy without pages or CPU lengths), so
    /// the sync goes through DMA addresses: `dma_sync_single_*` per DMA
    /// segment, which dma-direct and swiotlb resolve from the address. Behind
    /// an IOMMU (`translated`) one DMA segment may span pages that are not
    /// contiguous in memory, while the sync resolves only its start: there each
    /// segment is synced per physically contiguous run of it, found through the
    /// IOMMU's page tables. Long walks give the CPU up between pieces, so this
    /// must be called in process context, holding no spinlock.
    pub fn sync(&self, target: SyncTarget, translated: bool) {
        if !self.needs_sync {
            return;
        }
        let dev = self.attach.dev.as_raw();
        let dir = self.dir.into();
        let sync = |addr: u64, len: u64| {
            // CAST: A piece of a DMA segment fits in `size_t` (a segment's
            // length is an `unsigned int` in the scatterlist).
            let len = len as usize;
            // SAFETY: `[addr, addr + len)` lies in a segment of `sgt`, which is
            // mapped for `attach.dev` in `dir` (type invariant).
            unsafe {
                match target {
                    SyncTarget::Cpu => bindings::dma_sync_single_for_cpu(dev, addr, len, dir),
                    SyncTarget::Device => bindings::dma_sync_single_for_device(dev, addr, len, dir),
                }
            }
            // Called in process context (an ioctl, see above), where sleeping is
            // allowed.
            task::cond_resched();
        };
        let domain = if translated {
            // SAFETY: `dev` is bound (it has a live mapping), with a driver.
            unsafe { bindings::iommu_get_domain_for_dev(dev) }
        } else {
            core::ptr::null_mut()
        };
        // SAFETY: `domain` is the device's live DMA domain, which translates
        // every address of the mapping.
        let phys = |iova: u64| unsafe { bindings::iommu_iova_to_phys(domain, iova) };
        for entry in self.sg_table().iter() {
            let (start, end) = (entry.dma_address(), entry.dma_address() + entry.dma_len());
            if domain.is_null() {
                sync(start, end - start);
                continue;
            }
            let (mut run, mut run_phys) = (start, phys(start));
            let mut addr = (start | PAGE_MASK_LOW) + 1;
            while addr < end {
                if phys(addr) != run_phys + (addr - run) {
                    sync(run, addr - run);
                    (run, run_phys) = (addr, phys(addr));
                }
                addr += PAGE_MASK_LOW + 1;
            }
            sync(run, end - run);
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `sgt` is mapped for `attach` in `dir`; no
        // reservation lock is held here.
        unsafe {
            bindings::dma_buf_unmap_attachment_unlocked(
                self.attach.attach.as_ptr(),
                self.sgt.as_ptr(),
                self.dir.into(),
            )
        };
    }
}
