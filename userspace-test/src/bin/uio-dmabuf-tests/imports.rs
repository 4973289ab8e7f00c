// SPDX-License-Identifier: MIT OR Apache-2.0

//! INFO, and IMPORT, SEGMENTS, SYNC and RELEASE as they should work.

use crate::common::*;

// ---------------------------------------------------------------------------
// INFO

pub(crate) fn t_info(env: &Env) -> Outcome {
    let (dev, uio) = open_device(env.first()?)?;
    let info = ok!(dev.info(&uio));
    check!(
        info.abi_version == uapi::UIO_DMABUF_ABI_VERSION,
        "abi {}",
        info.abi_version
    );
    let want = env.dma_mask();
    check!(
        info.dma_mask == want,
        "dma mask {:#x}, expected {want:#x}",
        info.dma_mask
    );
    check!(
        info.iommu == env.iommu,
        "iommu flag {} on a guest with iommu={}",
        info.iommu,
        env.iommu
    );
    check!(
        info.unreachable_memory == env.unreachable_memory(),
        "unreachable-memory flag {info:?}"
    );
    let sysfs_path = sysfs::find_device(env.first()?)
        .ok_or("first device not in sysfs")?
        .1
        .to_string_lossy()
        .into_owned();
    check!(
        info.noncoherent != Env::dma_coherent(&sysfs_path),
        "noncoherent flag {} for {sysfs_path}",
        info.noncoherent
    );
    check!(
        info.max_segment_size == u32::MAX as u64,
        "max segment {:#x}",
        info.max_segment_size
    );
    check!(
        info.max_imports == 65536
            && info.max_mapped_bytes == 4 << 30
            && info.max_device_imports == 262144
            && info.max_device_mapped_bytes == 16 << 30,
        "limits {info:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// IMPORT, SEGMENTS, SYNC, RELEASE

pub(crate) fn import_and_check(
    env: &Env,
    buf: OwnedFd,
    size: usize,
    dir: Direction,
) -> Result<usize, String> {
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let info = ok!(dev.info(&uio));
    let imp = ok!(dev.import(&uio, &buf, dir, ImportFlags::default()));
    check!(imp.size() == size as u64, "size {} != {size}", imp.size());
    check_segments(
        imp.segments(),
        imp.size(),
        info.dma_mask,
        info.max_segment_size,
    )?;
    check!(
        attachments_of(pci)? == 1,
        "bufinfo shows {} attachments of {pci}",
        attachments_of(pci)?
    );
    // Paging one at a time gives the same list.
    let n = imp.segments().len();
    for i in 0..n {
        let one = ok!(dev.segments(imp.handle(), i as u32, 1));
        check!(
            one.as_slice() == &imp.segments()[i..=i],
            "segment {i} differs when paged"
        );
    }
    check!(
        ok!(dev.segments(imp.handle(), n as u32, 8)).is_empty(),
        "segments past the end"
    );
    ok!(imp.sync_for_device());
    ok!(imp.sync_for_cpu());
    ok!(imp.release());
    check!(attachments_of(pci)? == 0, "attachment left after release");
    Ok(n)
}

pub(crate) fn t_import_system_heap(env: &Env) -> Outcome {
    for size in [4096, 64 << 10, 256 << 10, 1 << 20, 3 << 20] {
        let buf = ok!(buffers::system_heap(size));
        if env.swiotlb && size > SWIOTLB_MAX_MAPPING {
            // The system heap hands out 1 MiB chunks from 1 MiB on; swiotlb cannot
            // bounce more than 256 KiB in one piece, so the exporter's map fails.
            let (dev, uio) = open_device(env.first()?)?;
            expect_errno(
                dev.import(&uio, &buf, Direction::Bidirectional, ImportFlags::default()),
                libc::EIO,
                "1 MiB chunk under swiotlb=force",
            )?;
            check!(
                attachments_of(env.first()?)? == 0,
                "failed map left an attachment"
            );
            continue;
        }
        let n = import_and_check(env, buf, size, Direction::Bidirectional)?;
        if env.iommu {
            check!(
                n == 1,
                "{size} bytes under an IOMMU: {n} segments, IOVA space should be contiguous"
            );
        }
    }
    Ok(())
}

pub(crate) fn t_import_udmabuf_scattered(env: &Env) -> Outcome {
    let size = 256 * page_size();
    let n = import_and_check(
        env,
        ok!(buffers::udmabuf(size, true)),
        size,
        Direction::ToDevice,
    )?;
    if env.iommu {
        check!(
            n == 1,
            "IOMMU should map scattered pages to one IOVA range, got {n} segments"
        );
    } else if !env.swiotlb {
        // (Bounce slots are handed out in order, so under swiotlb=force the
        // pages may well end up contiguous.)
        check!(
            n > 16,
            "scattered udmabuf of 256 pages gave only {n} segments"
        );
    }
    Ok(())
}

pub(crate) fn t_many_segments_paged(env: &Env) -> Outcome {
    let pages = 2048;
    let size = pages * page_size();
    let (dev, uio) = open_device(env.first()?)?;
    let info = ok!(dev.info(&uio));
    let buf = ok!(buffers::udmabuf(size, true));
    let r = dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default());
    if info.unreachable_memory {
        return expect_errno(r, libc::ERANGE, "import with RAM beyond the mask");
    }
    let imp = ok!(r);
    let segs = imp.segments();
    check_segments(segs, size as u64, info.dma_mask, info.max_segment_size)?;
    if !info.iommu && !env.swiotlb {
        // (Under swiotlb=force bounce slots are handed out in order and merge.)
        check!(
            segs.len() > 1000,
            "{pages} scattered pages without an IOMMU gave only {} segments",
            segs.len()
        );
    }
    // The same list read out by hand, an odd number at a time.
    let mut manual = Vec::new();
    let mut out = vec![uapi::uio_dmabuf_segment::default(); 333];
    loop {
        let first = manual.len() as u32;
        let (count, total) = ok!(dev.segments_into(imp.handle(), first, &mut out));
        check!(
            total as usize == segs.len(),
            "SEGMENTS says {total} in all, IMPORT {}",
            segs.len()
        );
        let want = (segs.len() - manual.len()).min(out.len());
        check!(
            count as usize == want,
            "SEGMENTS from {first} wrote {count}, expected {want}"
        );
        if count == 0 {
            break;
        }
        manual.extend(out[..count as usize].iter().map(|&s| Segment::from(s)));
    }
    check!(
        manual.as_slice() == segs,
        "the paged readout differs from the library's list"
    );
    Ok(())
}

/// The physical address of every page of the first `size` bytes of file `fd`,
/// from a CPU mapping and `/proc/self/pagemap` (root sees the frame numbers).
/// A memfd, not a dma-buf: pagemap skips the PFN mappings exporters make.
pub(crate) fn physical_pages(fd: &impl AsRawFd, size: usize) -> Result<Vec<u64>, String> {
    use std::os::unix::fs::FileExt;
    let page = page_size();
    let map = ok!(uio_dmabuf::mmap::Mapping::file_read_only(fd, size));
    let pagemap = fs::File::open("/proc/self/pagemap").map_err(|e| format!("pagemap: {e}"))?;
    let mut frames = Vec::with_capacity(size / page);
    for p in 0..size / page {
        // SAFETY: inside the mapping; reading a byte faults the page in.
        let addr = unsafe { map.as_ptr().add(p * page) };
        // SAFETY: as above: a mapped, readable byte.
        unsafe { std::ptr::read_volatile(addr) };
        let mut entry = [0u8; 8];
        pagemap
            .read_exact_at(&mut entry, (addr as usize / page * 8) as u64)
            .map_err(|e| format!("pagemap: {e}"))?;
        let entry = u64::from_ne_bytes(entry);
        let pfn = entry & ((1 << 55) - 1);
        check!(
            entry & (1 << 63) != 0 && pfn != 0,
            "page {p}: pagemap entry {entry:#x} (not present, or no frame number)"
        );
        frames.push(pfn * page as u64);
    }
    Ok(frames)
}

/// Free blocks that could serve an order-8 (1 MiB) and an order-4 (64 KiB)
/// allocation, from `/proc/buddyinfo` (free block counts per order and zone).
pub(crate) fn free_blocks() -> Result<(u64, u64), String> {
    let info = fs::read_to_string("/proc/buddyinfo").map_err(|e| format!("buddyinfo: {e}"))?;
    let (mut order8, mut order4) = (0, 0);
    for line in info.lines() {
        let counts = line.split_whitespace().skip(4).map(str::parse::<u64>);
        for (order, count) in counts.enumerate() {
            let count = count.map_err(|e| format!("buddyinfo {line:?}: {e}"))?;
            if order >= 8 {
                order8 += count << (order - 8);
            }
            if order >= 4 {
                order4 += count << (order - 4);
            }
        }
    }
    Ok((order8, order4))
}

/// Without an IOMMU or bouncing a DMA address is the physical address. A
/// udmabuf's segments must be exactly the runs of physically contiguous pages
/// of its memfd (read from pagemap), cut at the maximum segment size. The
/// system heap's pages cannot be seen that way (its mapping has no page
/// frames for pagemap), but its chunks are naturally aligned: the buffer
/// offset of every 1 MiB and 64 KiB chunk must have a DMA address aligned alike.
pub(crate) fn t_segments_are_the_physical_pages(env: &Env) -> Outcome {
    let (dev, uio) = open_device(env.first()?)?;
    let info = ok!(dev.info(&uio));
    if info.iommu || env.swiotlb || info.unreachable_memory {
        // DMA addresses are IOVAs or bounce slots there; the other tests cover it.
        return Ok(());
    }
    let page = page_size() as u64;

    let size = 64 * page;
    let (buf, memfd) = ok!(buffers::udmabuf_with_memfd(size as usize, true));
    let imp = ok!(dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default()));
    // Runs of physically contiguous pages, each cut into pieces of the
    // maximum segment size (which need not be a multiple of the page size).
    let mut runs: Vec<Segment> = Vec::new();
    for addr in physical_pages(&memfd, size as usize)? {
        match runs.last_mut() {
            Some(s) if s.dma_addr + s.len == addr => s.len += page,
            _ => runs.push(Segment {
                dma_addr: addr,
                len: page,
            }),
        }
    }
    let max = info.max_segment_size;
    let mut expected: Vec<Segment> = Vec::new();
    for run in runs {
        let mut done = 0;
        while done < run.len {
            let len = (run.len - done).min(max);
            expected.push(Segment {
                dma_addr: run.dma_addr + done,
                len,
            });
            done += len;
        }
    }
    check!(
        imp.segments() == expected.as_slice(),
        "udmabuf: the driver reports {} segment(s), the pages form {}: {:x?} vs {:x?}",
        imp.segments().len(),
        expected.len(),
        &imp.segments()[..imp.segments().len().min(4)],
        &expected[..expected.len().min(4)]
    );
    ok!(imp.release());

    // Three 1 MiB chunks, one of 64 KiB, two pages. The heap tries the large
    // orders without reclaim and falls back to smaller chunks when there is no
    // free block: the alignment is only expected when the blocks are there.
    let (order8, order4) = free_blocks()?;
    let size = (3 << 20) + (64 << 10) + 2 * page;
    let buf = ok!(buffers::system_heap(size as usize));
    let imp = ok!(dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default()));
    let segs = imp.segments();
    check_segments(segs, size, info.dma_mask, info.max_segment_size)?;
    let chunks = [
        (0, 1 << 20),
        (1 << 20, 1 << 20),
        (2 << 20, 1 << 20),
        (3 << 20, 64 << 10),
    ];
    for (offset, align) in chunks {
        if (align == 1 << 20 && order8 < 3) || order4 < 4 {
            continue;
        }
        let (addr, _) = imp
            .dma_addr_at(offset)
            .ok_or_else(|| format!("system heap: offset {offset:#x} in no segment"))?;
        check!(
            addr % align == 0,
            "system heap: offset {offset:#x} (a {align:#x} chunk) at DMA address {addr:#x}"
        );
    }
    ok!(imp.release());
    Ok(())
}

pub(crate) fn t_max_segment_size(env: &Env) -> Outcome {
    // The parameter as loaded: the module (Rust) has no
    // /sys/module/uio_dmabuf/parameters, so take it from sysfs if a later
    // kernel adds it, else from the kernel command line that
    // load-uio-dmabuf passes on, else the documented default.
    let sysfs = fs::read_to_string("/sys/module/uio_dmabuf/parameters/max_segment_size").ok();
    let cmdline = fs::read_to_string("/proc/cmdline").map_err(|e| e.to_string())?;
    let given = sysfs.as_deref().map(str::trim).or_else(|| {
        cmdline
            .split_whitespace()
            .find_map(|w| w.strip_prefix("uio_dmabuf.max_segment_size="))
    });
    let param: u64 = match given {
        Some(v) => v
            .parse::<u64>()
            .map_err(|e| format!("max_segment_size {v:?}: {e}"))?
            .max(page_size() as u64),
        None => u32::MAX.into(),
    };
    let (dev, uio) = open_device(env.first()?)?;
    let info = ok!(dev.info(&uio));
    check!(
        info.max_segment_size == param,
        "INFO says {:#x}, the parameter {param:#x}",
        info.max_segment_size
    );
    // 1 MiB, made of one 1 MiB heap chunk (swiotlb cannot bounce that: 256
    // KiB there). The limit is the driver's alone: the device's own DMA
    // segment limit stays wide, so the exporter may map the chunk whole (DMA-API
    // debug would warn otherwise) and the driver cuts it at the limit.
    let size: u64 = if env.swiotlb {
        SWIOTLB_MAX_MAPPING as u64
    } else {
        1 << 20
    };
    let buf = ok!(buffers::system_heap(size as usize));
    let r = dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default());
    if info.unreachable_memory {
        return expect_errno(r, libc::ERANGE, "import with RAM beyond the mask");
    }
    let imp = ok!(r);
    let segs = imp.segments();
    check_segments(segs, size, info.dma_mask, info.max_segment_size)?;
    if let Some((i, s)) = segs.iter().enumerate().find(|(_, s)| s.len > param) {
        return Err(format!(
            "segment {i} is {:#x} bytes, max_segment_size {param:#x}",
            s.len
        ));
    }
    if param < size {
        // Behind an IOMMU too: one contiguous IOVA range is cut as well.
        check!(
            segs.len() as u64 >= size / param,
            "{} segments for {size} bytes with max_segment_size {param:#x}",
            segs.len()
        );
    }
    Ok(())
}

pub(crate) fn t_import_every_direction(env: &Env) -> Outcome {
    for dir in [
        Direction::Bidirectional,
        Direction::ToDevice,
        Direction::FromDevice,
    ] {
        import_and_check(env, ok!(buffers::system_heap(8192)), 8192, dir)?;
    }
    Ok(())
}

pub(crate) fn t_contiguous_flag(env: &Env) -> Outcome {
    let (dev, uio) = open_device(env.first()?)?;
    let small = ok!(buffers::system_heap(4096));
    let imp = ok!(dev.import(
        &uio,
        &small,
        Direction::ToDevice,
        ImportFlags { contiguous: true }
    ));
    check!(
        imp.segments().len() == 1,
        "one page, {} segments",
        imp.segments().len()
    );
    drop(imp);
    let scattered = ok!(buffers::udmabuf(64 * page_size(), true));
    let r = dev.import(
        &uio,
        &scattered,
        Direction::ToDevice,
        ImportFlags { contiguous: true },
    );
    if env.iommu {
        check!(r.is_ok(), "CONTIGUOUS under an IOMMU: {:?}", r.err());
    } else if env.swiotlb {
        match r {
            Ok(imp) => check!(
                imp.segments().len() == 1,
                "CONTIGUOUS import with {} segments",
                imp.segments().len()
            ),
            Err(e) => expect_errno(Err::<(), _>(e), libc::E2BIG, "CONTIGUOUS under swiotlb")?,
        }
    } else {
        expect_errno(r, libc::E2BIG, "CONTIGUOUS on scattered pages")?;
        check!(
            attachments_of(env.first()?)? == 0,
            "failed import left an attachment"
        );
    }
    Ok(())
}

pub(crate) fn t_handles_are_small_and_per_file(env: &Env) -> Outcome {
    let uio = ok!(Uio::for_device(env.first()?));
    let a = ok!(ImportDevice::open());
    let b = ok!(ImportDevice::open());
    let (buf1, buf2) = (
        ok!(buffers::system_heap(4096)),
        ok!(buffers::system_heap(4096)),
    );
    let i1 = ok!(a.import(&uio, &buf1, Direction::ToDevice, ImportFlags::default()));
    let i2 = ok!(a.import(&uio, &buf2, Direction::ToDevice, ImportFlags::default()));
    check!(
        (i1.handle(), i2.handle()) == (1, 2),
        "handles {} {}",
        i1.handle(),
        i2.handle()
    );
    // The same handle number in another file names nothing there.
    expect_errno(
        b.sync(i1.handle(), true),
        libc::ENOENT,
        "another file's handle",
    )?;
    expect_errno(
        b.release(i1.handle()),
        libc::ENOENT,
        "release of another file's handle",
    )?;
    let h = i1.handle();
    ok!(i1.release());
    expect_errno(a.sync(h, true), libc::ENOENT, "released handle")?;
    expect_errno(
        a.segments(h, 0, 1),
        libc::ENOENT,
        "segments of a released handle",
    )?;
    expect_errno(a.release(h), libc::ENOENT, "double release")?;
    expect_errno(a.release(0), libc::ENOENT, "handle 0")?;
    drop(i2);
    Ok(())
}

pub(crate) fn t_same_buffer_once_per_device(env: &Env) -> Outcome {
    let pci = env.first()?;
    let a = ok!(ImportDevice::open());
    let b = ok!(ImportDevice::open());
    let uio = ok!(Uio::for_device(pci));
    for buf in [
        ok!(buffers::system_heap(65536)),
        ok!(buffers::udmabuf(8 * page_size(), false)),
    ] {
        let first = ok!(a.import(&uio, &buf, Direction::ToDevice, ImportFlags::default()));
        expect_errno(
            a.import(&uio, &buf, Direction::FromDevice, ImportFlags::default()),
            libc::EEXIST,
            "second import, same file",
        )?;
        expect_errno(
            b.import(&uio, &buf, Direction::ToDevice, ImportFlags::default()),
            libc::EEXIST,
            "second import, other file",
        )?;
        let dup = buf.try_clone().map_err(|e| e.to_string())?;
        expect_errno(
            b.import(&uio, &dup, Direction::ToDevice, ImportFlags::default()),
            libc::EEXIST,
            "import through a dup'ed fd",
        )?;
        check!(
            attachments_of(pci)? == 1,
            "a refused duplicate left an attachment"
        );
        // Another device may import the same buffer.
        if let Some(other) = env.devices.get(1) {
            let uio2 = ok!(Uio::for_device(other));
            let there = ok!(b.import(&uio2, &buf, Direction::ToDevice, ImportFlags::default()));
            ok!(there.sync_for_device());
        }
        ok!(first.release());
        let again = ok!(b.import(&uio, &buf, Direction::Bidirectional, ImportFlags::default()));
        ok!(again.sync_for_device());
        ok!(again.sync_for_cpu());
    }
    Ok(())
}

pub(crate) fn t_dmabuf_outlives_its_fd(env: &Env) -> Outcome {
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let buf = ok!(buffers::system_heap(256 << 10));
    let imp = ok!(dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default()));
    drop(buf);
    check!(
        attachments_of(pci)? == 1,
        "import lost its dma-buf when the fd closed"
    );
    ok!(imp.sync_for_device());
    ok!(imp.release());
    check!(attachments_of(pci)? == 0, "attachment left");
    Ok(())
}

pub(crate) fn t_close_without_release(env: &Env) -> Outcome {
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    for size in [4096, 256 << 10] {
        let buf = ok!(buffers::system_heap(size));
        std::mem::forget(ok!(dev.import(
            &uio,
            &buf,
            Direction::ToDevice,
            ImportFlags::default()
        )));
    }
    check!(attachments_of(pci)? == 2, "expected 2 attachments");
    drop(dev);
    check!(
        attachments_of(pci)? == 0,
        "close left {} attachments",
        attachments_of(pci)?
    );
    Ok(())
}
