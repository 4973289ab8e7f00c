// SPDX-License-Identifier: MIT OR Apache-2.0

//! Lifetimes: unbind and rmmod with imports alive, per-file limits, memory
//! beyond the mask, the debugfs counters.

use crate::common::*;

pub(crate) fn t_unbind_with_imports_alive(env: &Env) -> Outcome {
    let pci = env.first()?.to_string();
    let (dev, uio) = open_device(&pci)?;
    let a = ok!(buffers::system_heap(256 << 10));
    let b = ok!(buffers::udmabuf(32 * page_size(), true));
    let ia = ok!(dev.import(&uio, &a, Direction::ToDevice, ImportFlags::default()));
    let ib = ok!(dev.import(&uio, &b, Direction::FromDevice, ImportFlags::default()));
    // A reader blocked on /dev/uioN must wake up on unbind.
    let reader = {
        let uio2 = ok!(Uio::for_device(&pci));
        std::thread::spawn(move || uio2.wait_irq())
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    unbind(&pci)?;
    let woke = reader.join().map_err(|_| "reader panicked".to_string())?;
    check!(
        woke.is_err(),
        "blocked reader got an interrupt instead of an error: {woke:?}"
    );
    check!(
        attachments_of(&pci)? == 0,
        "unbind left {} attachments",
        attachments_of(&pci)?
    );
    expect_errno(ia.sync_for_cpu(), libc::ENODEV, "sync after unbind")?;
    expect_errno(
        dev.segments(ib.handle(), 0, 4),
        libc::ENODEV,
        "segments after unbind",
    )?;
    expect_errno(dev.info(&uio), libc::ENODEV, "info through the old uio fd")?;
    expect_errno(
        dev.import(&uio, &a, Direction::ToDevice, ImportFlags::default()),
        libc::ENODEV,
        "import through the old uio fd",
    )?;
    // RELEASE of a revoked import frees its handle.
    let ha = ia.handle();
    ok!(ia.release());
    expect_errno(dev.release(ha), libc::ENOENT, "released handle")?;
    drop(ib);
    bind(&pci)?;
    let fresh = ok!(Uio::for_device(&pci));
    // The fd opened before the unbind names no device, even when the new UIO
    // device got the same number (and so the same /dev/uioN).
    expect_errno(
        dev.info(&uio),
        libc::ENODEV,
        &format!("stale {} fd after rebind as {}", uio.name(), fresh.name()),
    )?;
    expect_errno(
        dev.import(&uio, &a, Direction::ToDevice, ImportFlags::default()),
        libc::ENODEV,
        "import through a stale uio fd",
    )?;
    drop(uio);
    let again = ok!(dev.import(&fresh, &a, Direction::ToDevice, ImportFlags::default()));
    ok!(again.sync_for_device());
    drop(again);
    check!(
        attachments_of(&pci)? == 0,
        "attachment left after rebind test"
    );
    Ok(())
}

pub(crate) fn t_rmmod_refused_while_open(_env: &Env) -> Outcome {
    let dev = ok!(ImportDevice::open());
    check!(
        sh("rmmod uio_dmabuf").is_err(),
        "rmmod succeeded with /dev/uio-dmabuf open"
    );
    drop(dev);
    sh("rmmod uio_dmabuf")?;
    fault_injected();
    sh("load-uio-dmabuf")?;
    check!(
        sysfs::bound_devices()
            .map(|d| !d.is_empty())
            .unwrap_or(false),
        "no device bound after reload"
    );
    Ok(())
}

pub(crate) fn t_per_file_limits(env: &Env) -> Outcome {
    reload("max_imports=3 max_mapped_bytes=65536")?;
    let result = (|| {
        let (dev, uio) = open_device(env.first()?)?;
        let info = ok!(dev.info(&uio));
        check!(
            info.max_imports == 3 && info.max_mapped_bytes == 65536,
            "limits {info:?}"
        );
        let small: Vec<OwnedFd> = (0..5)
            .map(|_| buffers::system_heap(4096))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let big = ok!(buffers::system_heap(65536));
        let _i1 = ok!(dev.import(&uio, &small[0], Direction::ToDevice, ImportFlags::default()));
        expect_errno(
            dev.import(&uio, &big, Direction::ToDevice, ImportFlags::default()),
            libc::EDQUOT,
            "over the byte limit",
        )?;
        let _i2 = ok!(dev.import(&uio, &small[1], Direction::ToDevice, ImportFlags::default()));
        let _i3 = ok!(dev.import(&uio, &small[2], Direction::ToDevice, ImportFlags::default()));
        expect_errno(
            dev.import(&uio, &small[3], Direction::ToDevice, ImportFlags::default()),
            libc::ENOSPC,
            "over the import limit",
        )?;
        // Another file has its own budget.
        let other = ok!(ImportDevice::open());
        let _o = ok!(other.import(&uio, &small[4], Direction::ToDevice, ImportFlags::default()));
        check!(
            attachments_of(env.first()?)? == 4,
            "attachments after limits"
        );
        Ok(())
    })();
    reload("")?;
    result
}

pub(crate) fn t_per_device_limits(env: &Env) -> Outcome {
    // Files are not limited in number: what all of them (and the orphans of
    // dead processes) hold of one device is bounded per device.
    reload("max_device_imports=4 max_device_mapped_bytes=65536")?;
    let result = (|| {
        let pci = env.first()?;
        let other = env.devices.get(1).ok_or("needs a second edu")?;
        let (f1, uio) = open_device(pci)?;
        let f2 = ok!(ImportDevice::open());
        let info = ok!(f1.info(&uio));
        check!(
            info.max_device_imports == 4
                && info.max_device_mapped_bytes == 65536
                && info.max_imports == 65536,
            "limits {info:?}"
        );
        let small: Vec<OwnedFd> = (0..7)
            .map(|_| buffers::system_heap(4096))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let import = |f: &ImportDevice, u: &Uio, b: &OwnedFd| {
            f.import(u, b, Direction::ToDevice, ImportFlags::default())
                .map(|i| i.handle())
        };
        let mut held = Vec::new();
        for (f, b) in [(&f1, &small[0]), (&f1, &small[1]), (&f2, &small[2])] {
            let imp = ok!(f.import(&uio, b, Direction::ToDevice, ImportFlags::default()));
            held.push(imp);
        }
        // A dead process's imports count while the device is open here.
        let child = crate::processes::in_child(|| {
            let (Ok(dev), Ok(u)) = (ImportDevice::open(), Uio::for_device(pci)) else {
                return 10;
            };
            if let Ok(_held) =
                dev.import(&u, &small[3], Direction::ToDevice, ImportFlags::default())
            {
                // Exits holding it, without closing anything: the import stays
                // for the device, which is open here.
                // SAFETY: Leaves the child at once.
                unsafe { libc::_exit(0) };
            }
            11
        })?;
        check!(child == 0, "child import: step {child}");
        check!(
            counter("imports_alive")? == 4
                && counter("orphans")? == 1
                && counter("orphaned_imports")? == 1
                && counter("orphaned_bytes")? == 4096,
            "the dead child's import, an orphan's: {:?}",
            summary()?
        );
        expect_errno(
            import(&f2, &uio, &small[4]),
            libc::ENOSPC,
            "5th import of the device",
        )?;
        expect_errno(
            import(&f1, &uio, &small[4]),
            libc::ENOSPC,
            "5th import, other file",
        )?;
        // The second device has a budget of its own.
        let uio2 = ok!(Uio::for_device(other));
        let on_other = ok!(f2.import(
            &uio2,
            &small[4],
            Direction::ToDevice,
            ImportFlags::default()
        ));
        drop(on_other);
        drop(uio2);
        ok!(held.pop().ok_or("none held")?.release());
        let back = ok!(f2.import(&uio, &small[5], Direction::ToDevice, ImportFlags::default()));
        drop(back);
        // Bytes: 3 pages held (2 here, 1 orphan); 64 KiB more exceed 64 KiB.
        let big = ok!(buffers::system_heap(64 << 10));
        expect_errno(
            f2.import(&uio, &big, Direction::ToDevice, ImportFlags::default()),
            libc::EDQUOT,
            "import beyond the device's bytes",
        )?;
        drop(held);
        let closes = ok!(Uio::for_device(pci));
        drop(uio);
        drop(closes);
        // The last /dev/uioN closed: the orphan went, the budget is whole.
        check!(
            counter("imports_alive")? == 0 && counter("orphans")? == 0,
            "imports left: {:?}",
            summary()?
        );
        let uio = ok!(Uio::for_device(pci));
        let whole = ok!(f2.import(&uio, &big, Direction::ToDevice, ImportFlags::default()));
        expect_errno(
            f1.import(&uio, &small[6], Direction::ToDevice, ImportFlags::default()),
            libc::EDQUOT,
            "import beyond the device's bytes, other file",
        )?;
        drop(whole);
        Ok(())
    })();
    reload("")?;
    result
}

/// In a guest with RAM above edu's 28-bit mask (qemu/run --mem 1G): without an
/// IOMMU every import is refused with ERANGE, cleanly (the DMA API would warn
/// on the unreachable pages); with one, IOVAs below the mask make it work.
pub(crate) fn t_memory_beyond_the_mask(env: &Env) -> Outcome {
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let info = ok!(dev.info(&uio));
    check!(
        info.unreachable_memory == env.unreachable_memory(),
        "flag {} on this guest",
        info.unreachable_memory
    );
    for exporter in [
        buffers::system_heap(64 << 10),
        buffers::udmabuf(16 * page_size(), true),
    ] {
        let buf = ok!(exporter);
        let r = dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default());
        if info.unreachable_memory {
            expect_errno(r, libc::ERANGE, "import with RAM beyond the mask")?;
            check!(
                attachments_of(pci)? == 0,
                "refused import left an attachment"
            );
        } else {
            let imp = ok!(r);
            check_segments(
                imp.segments(),
                imp.size(),
                info.dma_mask,
                info.max_segment_size,
            )?;
        }
    }
    Ok(())
}

pub(crate) fn t_debugfs_counters(env: &Env) -> Outcome {
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let (total0, released0, errors0) = (
        counter("imports_total")?,
        counter("releases_total")?,
        counter("errors_total")?,
    );
    check!(
        counter("imports_alive")? == 0 && counter("bytes_mapped")? == 0,
        "not idle at start: {:?}",
        summary()?
    );
    let a = ok!(buffers::system_heap(8192));
    let b = ok!(buffers::udmabuf(4 * page_size(), false));
    let ia = ok!(dev.import(&uio, &a, Direction::ToDevice, ImportFlags::default()));
    let ib = ok!(dev.import(&uio, &b, Direction::FromDevice, ImportFlags::default()));
    let bytes = 8192 + 4 * page_size() as u64;
    check!(
        counter("imports_alive")? == 2 && counter("bytes_mapped")? == bytes,
        "alive: {:?}",
        summary()?
    );
    check!(counter("imports_total")? == total0 + 2, "imports_total");
    let devices =
        fs::read_to_string("/sys/kernel/debug/uio_dmabuf/devices").map_err(|e| e.to_string())?;
    let line = devices
        .lines()
        .find(|l| l.starts_with(pci))
        .ok_or(format!("{pci} missing in devices: {devices}"))?;
    check!(
        line.ends_with(&format!(" imports 2 bytes {bytes}")),
        "devices line {line:?}"
    );
    expect_errno(dev.release(9999), libc::ENOENT, "bogus release")?;
    check!(
        counter("errors_total")? == errors0 + 1,
        "errors_total did not count the failed ioctl"
    );
    drop(ia);
    drop(ib);
    check!(
        counter("imports_alive")? == 0 && counter("bytes_mapped")? == 0,
        "not back to zero: {:?}",
        summary()?
    );
    check!(
        counter("releases_total")? == released0 + 2,
        "releases_total"
    );
    Ok(())
}

pub(crate) fn t_stale_uio_fd_stays_stale(env: &Env) -> Outcome {
    // A /dev/uioN fd from before an unbind names nothing after the rebind,
    // even once somebody opens the same inode again (through /proc/self/fd):
    // the capability is the open file, not the inode.
    let pci = env.first()?.to_string();
    let (dev, stale) = open_device(&pci)?;
    let buf = ok!(buffers::system_heap(4096));
    unbind(&pci)?;
    bind(&pci)?;
    let fresh = ok!(Uio::for_device(&pci));
    check!(
        fresh.name() == stale.name(),
        "the rebound device is {}, not {} again",
        fresh.name(),
        stale.name()
    );
    let reopened = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(format!("/proc/self/fd/{}", stale.as_fd().as_raw_fd()))
        .map_err(|e| format!("reopen the stale inode: {e}"))?;
    // The reopened file is a new open of the current device: it works.
    ok!(dev.info(&reopened));
    let imp = ok!(dev.import(&reopened, &buf, Direction::ToDevice, ImportFlags::default()));
    drop(imp);
    expect_errno(
        dev.info(&stale),
        libc::ENODEV,
        "INFO through the stale fd once its inode was reopened",
    )?;
    expect_errno(
        dev.import(&stale, &buf, Direction::ToDevice, ImportFlags::default()),
        libc::ENODEV,
        "IMPORT through the stale fd once its inode was reopened",
    )?;
    drop(fresh);
    Ok(())
}
