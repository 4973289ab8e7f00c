// SPDX-License-Identifier: MIT OR Apache-2.0

//! Every error an ioctl can return, with its exact errno.

use crate::common::*;

/// Raw IMPORT with full control over the arguments.
pub(crate) fn raw_import(
    dev: &ImportDevice,
    args: &mut uapi::uio_dmabuf_import,
) -> uio_dmabuf::Result<i32> {
    // SAFETY: `args` is the struct IOC_IMPORT encodes; pointers inside are
    // exactly what the test wants the kernel to see.
    unsafe { ioctl(dev.fd(), uapi::IOC_IMPORT, args, "IMPORT") }
}

pub(crate) fn t_import_errors(env: &Env) -> Outcome {
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let buf = ok!(buffers::system_heap(8192));
    let null = fs::File::open("/dev/null").map_err(|e| e.to_string())?;
    let (pipe_r, _pipe_w) = ok!(testing::pipe());
    let pipe_r = pipe_r.as_raw_fd();
    let base = uapi::uio_dmabuf_import {
        uio_fd: uio.as_fd().as_raw_fd(),
        dmabuf_fd: buf.as_raw_fd(),
        direction: uapi::UIO_DMABUF_DIR_TO_DEVICE,
        ..Default::default()
    };
    let closed_fd = 999;
    let eventfd = ok!(testing::eventfd());
    let efd = eventfd.as_raw_fd();
    let regular = fs::File::open("/proc/self/status").map_err(|e| e.to_string())?;
    let cases: Vec<(&str, uapi::uio_dmabuf_import, i32)> = vec![
        (
            "dma-buf fd is an eventfd",
            uapi::uio_dmabuf_import {
                dmabuf_fd: efd,
                ..base
            },
            libc::EINVAL,
        ),
        (
            "dma-buf fd is a regular file",
            uapi::uio_dmabuf_import {
                dmabuf_fd: regular.as_raw_fd(),
                ..base
            },
            libc::EINVAL,
        ),
        (
            "uio fd is an eventfd",
            uapi::uio_dmabuf_import {
                uio_fd: efd,
                ..base
            },
            libc::ENODEV,
        ),
        (
            "uio fd is a regular file",
            uapi::uio_dmabuf_import {
                uio_fd: regular.as_raw_fd(),
                ..base
            },
            libc::ENODEV,
        ),
        (
            "uio fd is huge",
            uapi::uio_dmabuf_import {
                uio_fd: i32::MAX,
                ..base
            },
            libc::EBADF,
        ),
        (
            "dma-buf fd closed",
            uapi::uio_dmabuf_import {
                dmabuf_fd: closed_fd,
                ..base
            },
            libc::EBADF,
        ),
        (
            "dma-buf fd negative",
            uapi::uio_dmabuf_import {
                dmabuf_fd: -1,
                ..base
            },
            libc::EBADF,
        ),
        (
            "dma-buf fd is a pipe",
            uapi::uio_dmabuf_import {
                dmabuf_fd: pipe_r,
                ..base
            },
            libc::EINVAL,
        ),
        (
            "dma-buf fd is /dev/null",
            uapi::uio_dmabuf_import {
                dmabuf_fd: null.as_raw_fd(),
                ..base
            },
            libc::EINVAL,
        ),
        (
            "dma-buf fd is the uio fd",
            uapi::uio_dmabuf_import {
                dmabuf_fd: base.uio_fd,
                ..base
            },
            libc::EINVAL,
        ),
        (
            "uio fd closed",
            uapi::uio_dmabuf_import {
                uio_fd: closed_fd,
                ..base
            },
            libc::EBADF,
        ),
        (
            "uio fd negative",
            uapi::uio_dmabuf_import { uio_fd: -5, ..base },
            libc::EBADF,
        ),
        (
            "uio fd is /dev/null",
            uapi::uio_dmabuf_import {
                uio_fd: null.as_raw_fd(),
                ..base
            },
            libc::ENODEV,
        ),
        (
            "uio fd is a pipe",
            uapi::uio_dmabuf_import {
                uio_fd: pipe_r,
                ..base
            },
            libc::ENODEV,
        ),
        (
            "uio fd is the dma-buf",
            uapi::uio_dmabuf_import {
                uio_fd: base.dmabuf_fd,
                ..base
            },
            libc::ENODEV,
        ),
        (
            "uio fd is /dev/uio-dmabuf",
            uapi::uio_dmabuf_import {
                uio_fd: dev.fd().as_raw_fd(),
                ..base
            },
            libc::ENODEV,
        ),
        (
            "direction 3 (DMA_NONE)",
            uapi::uio_dmabuf_import {
                direction: 3,
                ..base
            },
            libc::EINVAL,
        ),
        (
            "direction huge",
            uapi::uio_dmabuf_import {
                direction: u32::MAX,
                ..base
            },
            libc::EINVAL,
        ),
        (
            "unknown flag",
            uapi::uio_dmabuf_import {
                flags: 1 << 1,
                ..base
            },
            libc::EINVAL,
        ),
        (
            "reserved0 set",
            uapi::uio_dmabuf_import {
                reserved0: 1,
                ..base
            },
            libc::EINVAL,
        ),
        (
            "reserved[1] set",
            uapi::uio_dmabuf_import {
                reserved: [0, 1 << 63],
                ..base
            },
            libc::EINVAL,
        ),
        (
            "NULL array, capacity 4",
            uapi::uio_dmabuf_import {
                capacity: 4,
                ..base
            },
            libc::EINVAL,
        ),
        (
            "unmapped array",
            uapi::uio_dmabuf_import {
                segments: 0x10,
                capacity: 4,
                ..base
            },
            libc::EFAULT,
        ),
        (
            "kernel-address array",
            uapi::uio_dmabuf_import {
                segments: 0xffff_8880_0000_0000,
                capacity: 1,
                ..base
            },
            libc::EFAULT,
        ),
    ];
    for (what, mut args, errno) in cases {
        let (before, errors) = (summary()?, counter("errors_total")?);
        expect_errno(raw_import(&dev, &mut args), errno, what)?;
        check!(attachments_of(pci)? == 0, "{what}: attachment left behind");
        // No state behind: only the error counter moved.
        let mut after = summary()?;
        check!(
            counter("errors_total")? == errors + 1,
            "{what}: errors_total did not count it"
        );
        after.retain(|(k, _)| k != "errors_total");
        let before: Vec<_> = before
            .into_iter()
            .filter(|(k, _)| k != "errors_total")
            .collect();
        let undone = errno == libc::EFAULT;
        // An EFAULT on the segment copy is detected after the mapping was made:
        // it is undone (created and released), never left alive.
        let alive = |v: &[(String, u64)], k: &str| v.iter().find(|(n, _)| n == k).map(|(_, x)| *x);
        check!(
            if undone {
                alive(&after, "imports_alive") == alive(&before, "imports_alive")
                    && alive(&after, "bytes_mapped") == alive(&before, "bytes_mapped")
            } else {
                after == before
            },
            "{what}: counters moved: {before:?} -> {after:?}"
        );
    }
    // A read-only array: the segment copy faults, no import survives.
    let ro = ok!(uio_dmabuf::mmap::Mapping::anonymous(
        page_size(),
        libc::PROT_READ
    ));
    let mut args = uapi::uio_dmabuf_import {
        segments: ro.as_ptr() as u64,
        capacity: 1,
        ..base
    };
    expect_errno(
        raw_import(&dev, &mut args),
        libc::EFAULT,
        "read-only segment array",
    )?;
    check!(attachments_of(pci)? == 0, "EFAULT left an attachment");
    // The whole argument struct unreadable.
    // SAFETY: Deliberately bad pointer; the kernel must fault cleanly.
    let r = unsafe {
        ioctl(
            dev.fd(),
            uapi::IOC_IMPORT,
            8 as *mut uapi::uio_dmabuf_import,
            "IMPORT",
        )
    };
    expect_errno(r, libc::EFAULT, "argument pointer unmapped")?;
    // Still works afterwards, and no failed call left an import behind: every
    // handle before the first successful one names nothing.
    let mut segs = [uapi::uio_dmabuf_segment::default(); 4];
    let mut args = uapi::uio_dmabuf_import {
        segments: segs.as_mut_ptr() as u64,
        capacity: 4,
        ..base
    };
    ok!(raw_import(&dev, &mut args));
    for h in 1..args.handle {
        expect_errno(
            dev.release(h),
            libc::ENOENT,
            &format!("handle {h} of a failed import"),
        )?;
    }
    check!(
        attachments_of(pci)? == 1,
        "one import, {} attachments",
        attachments_of(pci)?
    );
    check!(
        args.nr_segments >= 1 && segs[0].len > 0,
        "no segment returned"
    );
    check!(
        args.reserved0 == 0 && args.reserved == [0, 0],
        "reserved output not zero"
    );
    Ok(())
}

pub(crate) fn t_outputs_are_fully_written(env: &Env) -> Outcome {
    // Poisoned output fields come back with exact values, reserved fields zero,
    // and nothing beyond the reported count is written.
    let (dev, uio) = open_device(env.first()?)?;
    let buf = ok!(buffers::udmabuf(8 * page_size(), true));
    const POISON: u64 = 0xaaaa_aaaa_aaaa_aaaa;
    let mut info = uapi::uio_dmabuf_info {
        uio_fd: uio.as_fd().as_raw_fd(),
        abi_version: POISON as u32,
        dma_mask: POISON,
        max_segment_size: POISON,
        flags: POISON as u32,
        max_imports: POISON as u32,
        max_mapped_bytes: POISON,
        max_device_imports: POISON as u32,
        reserved0: 0,
        max_device_mapped_bytes: POISON,
        reserved: [0, 0],
    };
    // SAFETY: Matching struct.
    ok!(unsafe { ioctl(dev.fd(), uapi::IOC_INFO, &mut info, "INFO") });
    let known_flags = uapi::UIO_DMABUF_INFO_IOMMU
        | uapi::UIO_DMABUF_INFO_UNREACHABLE_MEMORY
        | uapi::UIO_DMABUF_INFO_NONCOHERENT;
    check!(
        info.abi_version == uapi::UIO_DMABUF_ABI_VERSION
            && info.flags & !known_flags == 0
            && info.max_mapped_bytes != POISON
            && info.max_device_imports != POISON as u32
            && info.max_device_mapped_bytes != POISON,
        "INFO output {info:?}"
    );
    let mut segs = [uapi::uio_dmabuf_segment {
        dma_addr: POISON,
        len: POISON,
    }; 64];
    let mut imp = uapi::uio_dmabuf_import {
        uio_fd: uio.as_fd().as_raw_fd(),
        dmabuf_fd: buf.as_raw_fd(),
        direction: uapi::UIO_DMABUF_DIR_TO_DEVICE,
        segments: segs.as_mut_ptr() as u64,
        capacity: 64,
        handle: POISON as u32,
        size: POISON,
        nr_segments: POISON as u32,
        ..Default::default()
    };
    // SAFETY: Matching struct; `segments` has `capacity` entries.
    ok!(unsafe { ioctl(dev.fd(), uapi::IOC_IMPORT, &mut imp, "IMPORT") });
    let n = imp.nr_segments as usize;
    check!(
        imp.size == 8 * page_size() as u64
            && n >= 1
            && n <= 8
            && imp.handle >= 1
            && imp.handle < 1000,
        "IMPORT output {imp:?}"
    );
    check!(
        imp.reserved0 == 0 && imp.reserved == [0, 0],
        "IMPORT reserved output"
    );
    check!(
        segs[..n]
            .iter()
            .all(|s| s.len > 0 && s.len != POISON && s.dma_addr != POISON),
        "segments not written"
    );
    check!(
        segs[n..]
            .iter()
            .all(|s| s.dma_addr == POISON && s.len == POISON),
        "written beyond nr_segments"
    );
    let mut more = [uapi::uio_dmabuf_segment {
        dma_addr: POISON,
        len: POISON,
    }; 4];
    let mut sa = uapi::uio_dmabuf_segments {
        handle: imp.handle,
        first: 0,
        segments: more.as_mut_ptr() as u64,
        capacity: 1,
        count: POISON as u32,
        nr_segments: POISON as u32,
        ..Default::default()
    };
    // SAFETY: Matching struct; one entry requested.
    ok!(unsafe { ioctl(dev.fd(), uapi::IOC_SEGMENTS, &mut sa, "SEGMENTS") });
    check!(
        sa.count == 1 && sa.nr_segments as usize == n && sa.reserved0 == 0 && sa.reserved == 0,
        "SEGMENTS output {sa:?}"
    );
    check!(
        more[0] == segs[0] && more[1..].iter().all(|s| s.dma_addr == POISON),
        "SEGMENTS wrote beyond capacity"
    );
    ok!(dev.release(imp.handle));
    Ok(())
}

pub(crate) fn t_argument_struct_fault_after_import(env: &Env) -> Outcome {
    // The output copy faults after the import was made: it must be undone. A
    // struct straddling the end of a mapping: input readable, output not
    // (the write of the tail fails).
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let buf = ok!(buffers::system_heap(4096));
    let page = page_size();
    // Two pages; the second becomes read-only.
    let map = ok!(uio_dmabuf::mmap::Mapping::anonymous(
        2 * page,
        libc::PROT_READ | libc::PROT_WRITE
    ));
    let size = size_of::<uapi::uio_dmabuf_import>();
    // SAFETY: In bounds of the mapping.
    let at = unsafe { map.as_ptr().add(page - size / 2) }.cast::<uapi::uio_dmabuf_import>();
    let args = uapi::uio_dmabuf_import {
        uio_fd: uio.as_fd().as_raw_fd(),
        dmabuf_fd: buf.as_raw_fd(),
        direction: uapi::UIO_DMABUF_DIR_TO_DEVICE,
        ..Default::default()
    };
    // SAFETY: `at` is writable (the straddling struct is still fully RW now).
    unsafe { at.write_unaligned(args) };
    ok!(map.protect(page, page, libc::PROT_READ));
    // SAFETY: Deliberately half-writable argument.
    let r = unsafe { ioctl(dev.fd(), uapi::IOC_IMPORT, at, "IMPORT") };
    drop(map);
    expect_errno(r, libc::EFAULT, "output struct straddling a read-only page")?;
    check!(
        attachments_of(pci)? == 0,
        "undone import left an attachment"
    );
    expect_errno(dev.release(1), libc::ENOENT, "handle of the undone import")?;
    Ok(())
}

pub(crate) fn t_other_ioctl_errors(env: &Env) -> Outcome {
    let (dev, uio) = open_device(env.first()?)?;
    let buf = ok!(buffers::system_heap(4096));
    let imp = ok!(dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default()));
    let h = imp.handle();
    // Every row below fails; afterwards only errors_total may have moved, by
    // exactly the number of rows.
    let before = summary()?;
    let mut rows = 0u64;
    macro_rules! row {
        ($r:expr, $errno:expr, $what:expr) => {{
            rows += 1;
            expect_errno($r, $errno, $what)
        }};
    }
    let sync = |flags, reserved| {
        let mut a = uapi::uio_dmabuf_sync {
            handle: h,
            flags,
            reserved,
        };
        // SAFETY: Matching struct.
        unsafe { ioctl(dev.fd(), uapi::IOC_SYNC, &mut a, "SYNC") }
    };
    row!(sync(0, 0), libc::EINVAL, "sync without a target")?;
    row!(sync(3, 0), libc::EINVAL, "sync for both")?;
    row!(sync(4, 0), libc::EINVAL, "sync unknown flag")?;
    row!(sync(1, 1), libc::EINVAL, "sync reserved")?;
    let segs = |first, capacity, ptr: u64, reserved| {
        let mut a = uapi::uio_dmabuf_segments {
            handle: h,
            first,
            capacity,
            segments: ptr,
            reserved,
            ..Default::default()
        };
        // SAFETY: Matching struct.
        unsafe { ioctl(dev.fd(), uapi::IOC_SEGMENTS, &mut a, "SEGMENTS") }
            .map(|_| (a.count, a.nr_segments))
    };
    let mut out = [uapi::uio_dmabuf_segment::default(); 2];
    let p = out.as_mut_ptr() as u64;
    row!(
        segs(2, 1, p, 0),
        libc::EINVAL,
        "segments first past the end"
    )?;
    row!(segs(u32::MAX, 1, p, 0), libc::EINVAL, "segments first huge")?;
    row!(segs(0, 1, p, 1), libc::EINVAL, "segments reserved")?;
    row!(segs(0, 1, 0, 0), libc::EINVAL, "segments NULL array")?;
    row!(segs(0, 1, 0x10, 0), libc::EFAULT, "segments unmapped array")?;
    check!(
        ok!(segs(0, 0, 0, 0)) == (0, 1),
        "capacity 0 returns the count"
    );
    check!(
        ok!(segs(1, 2, p, 0)) == (0, 1),
        "first == count returns nothing"
    );
    let mut rel = uapi::uio_dmabuf_release {
        handle: h,
        reserved: 7,
    };
    // SAFETY: Matching struct.
    row!(
        unsafe { ioctl(dev.fd(), uapi::IOC_RELEASE, &mut rel, "RELEASE") },
        libc::EINVAL,
        "release reserved"
    )?;
    let mut info = uapi::uio_dmabuf_info {
        uio_fd: uio.as_fd().as_raw_fd(),
        reserved: [1, 0],
        ..Default::default()
    };
    // SAFETY: Matching struct.
    row!(
        unsafe { ioctl(dev.fd(), uapi::IOC_INFO, &mut info, "INFO") },
        libc::EINVAL,
        "info reserved"
    )?;
    let mut info = uapi::uio_dmabuf_info {
        uio_fd: buf.as_raw_fd(),
        ..Default::default()
    };
    // SAFETY: Matching struct.
    row!(
        unsafe { ioctl(dev.fd(), uapi::IOC_INFO, &mut info, "INFO") },
        libc::ENODEV,
        "info on a dma-buf fd"
    )?;
    // Unknown numbers, and ours with a wrong size or direction.
    let mut junk = [0u64; 16];
    for cmd in [
        uapi::ioc(3, 0x05, 8),
        uapi::ioc(3, 0x01, 56),
        uapi::ioc(3, 0x01, 72),
        uapi::ioc(1, 0x01, 64),
        uapi::ioc(2, 0x04, 8),
        uapi::ioc(0, 0x03, 0),
        0x5401, // TCGETS
    ] {
        // SAFETY: `junk` is larger than any size encoded above.
        let r = unsafe { ioctl(dev.fd(), cmd, junk.as_mut_ptr(), "ioctl") };
        row!(r, libc::ENOTTY, &format!("ioctl {cmd:#x}"))?;
    }
    let after = summary()?;
    let without_errors = |v: &[(String, u64)]| {
        v.iter()
            .filter(|(k, _)| k != "errors_total")
            .cloned()
            .collect::<Vec<_>>()
    };
    check!(
        without_errors(&after) == without_errors(&before),
        "counters moved: {before:?} -> {after:?}"
    );
    let errors = |v: &[(String, u64)]| {
        v.iter()
            .find(|(k, _)| k == "errors_total")
            .map(|(_, x)| *x)
            .unwrap_or(0)
    };
    check!(
        errors(&after) - errors(&before) == rows,
        "errors_total moved by {} for {rows} failed ioctls",
        errors(&after) - errors(&before)
    );
    ok!(imp.release());
    Ok(())
}

pub(crate) fn t_import_needs_a_writable_uio_fd(env: &Env) -> Outcome {
    // Programming DMA is writing to the device: a /dev/uioN opened read-only
    // (which cannot map the registers writable either) may ask INFO but not
    // IMPORT; an O_PATH fd opens nothing at all.
    let pci = env.first()?;
    let dev = ok!(ImportDevice::open());
    let name = ok!(Uio::for_device(pci)).name().to_string();
    let buf = ok!(buffers::system_heap(4096));
    let read_only = fs::File::open(format!("/dev/{name}")).map_err(|e| e.to_string())?;
    ok!(dev.info(&read_only));
    expect_errno(
        dev.import(
            &read_only,
            &buf,
            Direction::ToDevice,
            ImportFlags::default(),
        ),
        libc::EBADF,
        "IMPORT through a read-only /dev/uioN fd",
    )?;
    let write_only = fs::OpenOptions::new()
        .write(true)
        .open(format!("/dev/{name}"))
        .map_err(|e| e.to_string())?;
    ok!(dev.import(
        &write_only,
        &buf,
        Direction::ToDevice,
        ImportFlags::default()
    ));
    use std::os::unix::fs::OpenOptionsExt;
    let path_only = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open(format!("/dev/{name}"))
        .map_err(|e| e.to_string())?;
    expect_errno(
        dev.info(&path_only),
        libc::EBADF,
        "INFO through an O_PATH fd",
    )?;
    expect_errno(
        dev.import(
            &path_only,
            &buf,
            Direction::ToDevice,
            ImportFlags::default(),
        ),
        libc::EBADF,
        "IMPORT through an O_PATH fd",
    )?;
    check!(
        attachments_of(pci)? == 0,
        "refused imports left an attachment"
    );
    Ok(())
}
