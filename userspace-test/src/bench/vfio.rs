// SPDX-License-Identifier: MIT OR Apache-2.0

//! This driver against VFIO's type1 IOMMU, the tool a userspace driver picks
//! instead to give a device behind an IOMMU addresses for its memory: what
//! each costs for a buffer of a given size, and from nothing to a device
//! address for a fresh buffer.
//!
//! Both sides do comparable work: VFIO pins the pages of a range of process
//! memory and maps them into the device's IOMMU domain at an IOVA the caller
//! picks; an import attaches a dma-buf (whose exporter already holds its
//! pages) to the device and maps it through the DMA API, which allocates the
//! IOVA. VFIO cannot map a dma-buf and the driver cannot map process memory,
//! so each gets the memory it takes: anonymous memory and a memfd for VFIO,
//! system-heap and udmabuf (memfd-backed) dma-bufs for the driver.

use std::os::fd::AsFd;
use std::time::Instant;

use super::{interleaved, raw_import, Stats};
use crate::buffers;
use crate::error::Result;
use crate::import::ImportDevice;
use crate::mmap::Mapping;
use crate::uio::Uio;
use crate::vfio::Container;

/// Where VFIO maps: above 4 GiB, clear of the x86 MSI window, inside the
/// 39-bit address width of QEMU's intel-iommu.
pub const IOVA: u64 = 1 << 32;

const RW: i32 = libc::PROT_READ | libc::PROT_WRITE;

/// Writes one byte into every page of `map`, so its pages exist before any
/// timing starts (both sides then map memory that is already there).
fn populate(map: &Mapping, len: usize) {
    let page = buffers::page_size();
    for off in (0..len).step_by(page) {
        // SAFETY: `off` lies inside the mapping, which is writable.
        unsafe { map.as_ptr().add(off).write_volatile(0x5a) };
    }
}

/// Map/import + unmap/release of existing memory of one size, each in the
/// same interleaved rounds.
#[derive(Debug, Clone, Copy)]
pub struct MapVsImport {
    pub size: usize,
    /// VFIO_IOMMU_MAP_DMA + UNMAP_DMA of anonymous memory.
    pub vfio_anon: Stats,
    /// VFIO_IOMMU_MAP_DMA + UNMAP_DMA of a shared mapping of a memfd.
    pub vfio_memfd: Stats,
    /// IMPORT (no segment array) + RELEASE of a system-heap dma-buf.
    pub import_heap: Stats,
    /// IMPORT + RELEASE of a udmabuf over a memfd.
    pub import_udmabuf: Stats,
}

/// [`MapVsImport`] for `size` bytes, `iters` samples of each in 10 rounds.
pub fn map_vs_import(
    vfio: &Container,
    dev: &ImportDevice,
    uio: &Uio,
    size: usize,
    iters: usize,
) -> Result<MapVsImport> {
    let anon = Mapping::anonymous(size, RW)?;
    populate(&anon, size);
    let memfd = buffers::memfd("vfio-bench", size)?;
    let shared = Mapping::file_shared(&memfd, size)?;
    populate(&shared, size);
    let heap = buffers::system_heap(size)?;
    let udmabuf = buffers::udmabuf(size, false)?;
    let map = |m: &Mapping| -> Result<()> {
        vfio.map_dma(m.as_ptr(), IOVA, size)?;
        vfio.unmap_dma(IOVA, size)
    };
    let import = |buf: &dyn AsFd| -> Result<()> {
        let (h, _) = raw_import(dev, uio, buf, &mut [])?;
        dev.release(h)
    };
    // One untimed run of each: first-touch costs (page tables, caches) out.
    map(&anon)?;
    map(&shared)?;
    import(&heap)?;
    import(&udmabuf)?;
    let times = |n: usize, f: &dyn Fn() -> Result<()>| super::samples(n, f);
    let [vfio_anon, vfio_memfd, import_heap, import_udmabuf] = interleaved(
        10,
        iters.div_ceil(10),
        &mut [
            &mut |n| times(n, &|| map(&anon)),
            &mut |n| times(n, &|| map(&shared)),
            &mut |n| times(n, &|| import(&heap)),
            &mut |n| times(n, &|| import(&udmabuf)),
        ],
    )?;
    Ok(MapVsImport {
        size,
        vfio_anon,
        vfio_memfd,
        import_heap,
        import_udmabuf,
    })
}

/// From nothing to a device address for a fresh buffer of one size: the
/// allocation and the map or import are timed, the teardown is not.
#[derive(Debug, Clone, Copy)]
pub struct FirstAddress {
    pub size: usize,
    /// mmap of anonymous memory + VFIO_IOMMU_MAP_DMA (which faults the pages in).
    pub vfio_anon: Stats,
    /// memfd_create + ftruncate + shared mmap + VFIO_IOMMU_MAP_DMA.
    pub vfio_memfd: Stats,
    /// DMA_HEAP_IOCTL_ALLOC on the system heap + IMPORT.
    pub import_heap: Stats,
    /// memfd_create + ftruncate + seal + UDMABUF_CREATE + IMPORT.
    pub import_udmabuf: Stats,
}

/// Samples of `f`, which returns the nanoseconds of its timed part.
fn timed_parts(n: usize, f: &dyn Fn() -> Result<f64>) -> Result<Vec<f64>> {
    (0..n).map(|_| f()).collect()
}

/// [`FirstAddress`] for `size` bytes, `iters` samples of each in 10 rounds.
pub fn first_address(
    vfio: &Container,
    dev: &ImportDevice,
    uio: &Uio,
    size: usize,
    iters: usize,
) -> Result<FirstAddress> {
    let vfio_anon = || -> Result<f64> {
        let t = Instant::now();
        let m = Mapping::anonymous(size, RW)?;
        vfio.map_dma(m.as_ptr(), IOVA, size)?;
        let ns = t.elapsed().as_nanos() as f64;
        vfio.unmap_dma(IOVA, size)?;
        Ok(ns)
    };
    let vfio_memfd = || -> Result<f64> {
        let t = Instant::now();
        let f = buffers::memfd("vfio-bench", size)?;
        let m = Mapping::file_shared(&f, size)?;
        vfio.map_dma(m.as_ptr(), IOVA, size)?;
        let ns = t.elapsed().as_nanos() as f64;
        vfio.unmap_dma(IOVA, size)?;
        Ok(ns)
    };
    let import_heap = || -> Result<f64> {
        let t = Instant::now();
        let buf = buffers::system_heap(size)?;
        let (h, _) = raw_import(dev, uio, &buf, &mut [])?;
        let ns = t.elapsed().as_nanos() as f64;
        dev.release(h)?;
        Ok(ns)
    };
    let import_udmabuf = || -> Result<f64> {
        let t = Instant::now();
        let buf = buffers::udmabuf(size, false)?;
        let (h, _) = raw_import(dev, uio, &buf, &mut [])?;
        let ns = t.elapsed().as_nanos() as f64;
        dev.release(h)?;
        Ok(ns)
    };
    vfio_anon()?;
    vfio_memfd()?;
    import_heap()?;
    import_udmabuf()?;
    let [vfio_anon, vfio_memfd, import_heap, import_udmabuf] = interleaved(
        10,
        iters.div_ceil(10),
        &mut [
            &mut |n| timed_parts(n, &vfio_anon),
            &mut |n| timed_parts(n, &vfio_memfd),
            &mut |n| timed_parts(n, &import_heap),
            &mut |n| timed_parts(n, &import_udmabuf),
        ],
    )?;
    Ok(FirstAddress {
        size,
        vfio_anon,
        vfio_memfd,
        import_heap,
        import_udmabuf,
    })
}
