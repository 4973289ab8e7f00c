// SPDX-License-Identifier: MIT OR Apache-2.0

//! The platform driver on a guest without a device tree: the test module
//! `platform_testdev` registers a platform device with two memory resources
//! and no interrupt, bound through its driver_override.

use crate::common::*;

const TESTDEV: &str = "uio_dmabuf_testdev";
const TESTDEV_MODULE: &str = "/lib/modules/test/platform_testdev.ko";

fn platform_path(attr: &str) -> String {
    format!("/sys/bus/platform/devices/{TESTDEV}/{attr}")
}

/// The driver bound to the test device, if any.
fn testdev_driver() -> Option<String> {
    fs::read_link(platform_path("driver"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
}

/// A UIO map's name, address and size.
fn uio_map(uio: &Uio, map: usize) -> Result<(String, u64, u64), String> {
    let name = sh(&format!(
        "cat /sys/class/uio/{}/maps/map{map}/name",
        uio.name()
    ))?;
    let (addr, size) = ok!(uio.map_info(map));
    Ok((name.trim().to_string(), addr, size))
}

pub(crate) fn t_platform_device(env: &Env) -> Outcome {
    sh(&format!("insmod {TESTDEV_MODULE}"))?;
    let result = (|| {
        // Nothing matches it by itself: no compatible, no name match.
        check!(
            testdev_driver().is_none(),
            "bound before driver_override: {:?}",
            testdev_driver()
        );
        fs::write(platform_path("driver_override"), "uio_dmabuf")
            .map_err(|e| format!("driver_override: {e}"))?;
        fs::write("/sys/bus/platform/drivers_probe", TESTDEV)
            .map_err(|e| format!("drivers_probe: {e}"))?;
        check!(
            testdev_driver().as_deref() == Some("uio_dmabuf"),
            "not bound through driver_override: {:?}",
            testdev_driver()
        );
        bound_testdev(env)
    })();
    let _ = fs::write("/sys/bus/platform/drivers/uio_dmabuf/unbind", TESTDEV);
    let _ = fs::write(platform_path("driver_override"), "\n");
    let unloaded = sh("rmmod platform_testdev");
    result?;
    unloaded?;
    check_no_page_tail_reserved("after unbind")
}

fn bound_testdev(env: &Env) -> Outcome {
    let uio = ok!(Uio::for_device(TESTDEV));
    let page = page_size() as u64;
    // Maps named after the resources; the 256-byte one is its whole page,
    // whose rest is reserved in the resource tree.
    let (name0, addr0, size0) = uio_map(&uio, 0)?;
    let (name1, addr1, size1) = uio_map(&uio, 1)?;
    check!(
        name0 == "regs"
            && size0 == page
            && name1 == "tiny"
            && size1 == page
            && addr1 == addr0 + page,
        "maps {name0} {addr0:#x}+{size0:#x}, {name1} {addr1:#x}+{size1:#x}"
    );
    check_page_tail_reserved(addr1, 256)?;
    ok!(ok!(uio.map(1)).read32(0));
    check!(
        !std::path::Path::new(&format!("/sys/class/uio/{}/maps/map2", uio.name())).exists(),
        "a third map"
    );
    // No interrupt: irqcontrol is not there (EIO from the UIO core).
    let mut on = 1u32.to_ne_bytes();
    // SAFETY: Plain write of 4 bytes from a live buffer.
    let wrote = unsafe { libc::write(uio.as_fd().as_raw_fd(), on.as_mut_ptr().cast(), 4) };
    check!(
        wrote == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EIO),
        "irqcontrol on a device without interrupt: {wrote}"
    );

    // DMA through the platform device itself: the platform bus's 32-bit mask
    // (or the dma_bits parameter's), no IOMMU (none translates platform
    // devices on x86), coherent on x86.
    let dev = ok!(ImportDevice::open());
    let info = ok!(dev.info(&uio));
    let mask = match env.dma_bits {
        0 => u64::from(u32::MAX),
        64 => u64::MAX,
        bits => (1 << bits) - 1,
    };
    check!(
        info.dma_mask == mask
            && !info.iommu
            && info.noncoherent != Env::dma_coherent(&platform_path(""))
            && !info.unreachable_memory,
        "info {info:?}"
    );
    let buf = ok!(buffers::system_heap(64 << 10));
    let imp = ok!(dev.import(&uio, &buf, Direction::Bidirectional, ImportFlags::default()));
    check_segments(
        imp.segments(),
        64 << 10,
        info.dma_mask,
        info.max_segment_size,
    )?;
    ok!(dev.sync(imp.handle(), true));
    let listed =
        fs::read_to_string("/sys/kernel/debug/uio_dmabuf/devices").map_err(|e| e.to_string())?;
    check!(
        listed
            .lines()
            .any(|l| l.starts_with(&format!("{TESTDEV} ")) && l.ends_with("imports 1 bytes 65536")),
        "debugfs devices: {listed}"
    );

    // Unbind with the import alive: revoked, then released.
    fs::write("/sys/bus/platform/drivers/uio_dmabuf/unbind", TESTDEV)
        .map_err(|e| format!("unbind: {e}"))?;
    expect_errno(
        dev.segments(imp.handle(), 0, 4),
        libc::ENODEV,
        "SEGMENTS after unbind",
    )?;
    drop(imp);
    check!(
        counter("imports_alive")? == 0,
        "imports left: {:?}",
        summary()?
    );
    Ok(())
}
