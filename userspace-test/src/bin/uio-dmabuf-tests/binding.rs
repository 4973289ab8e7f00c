// SPDX-License-Identifier: MIT OR Apache-2.0

//! Binding: the UIO maps, registers and interrupt of bound devices, and binding
//! other devices through `new_id` and `driver_override`.

use crate::common::*;

// ---------------------------------------------------------------------------
// Binding and UIO

pub(crate) fn t_bound_with_uio_maps(env: &Env) -> Outcome {
    check!(!env.devices.is_empty(), "no device bound");
    for pci in &env.devices {
        let uio = ok!(Uio::for_device(pci));
        let (addr, size) = ok!(uio.map_info(0));
        let bar0 = sh(&format!("head -n1 /sys/bus/pci/devices/{pci}/resource"))?;
        let start = u64::from_str_radix(
            bar0.split_whitespace()
                .next()
                .unwrap_or("")
                .trim_start_matches("0x"),
            16,
        )
        .map_err(|e| e.to_string())?;
        check!(
            addr == start,
            "{pci}: map0 at {addr:#x}, BAR0 at {start:#x}"
        );
        check!(
            size == 0x100000,
            "{pci}: map0 size {size:#x}, edu's BAR0 is 1 MiB"
        );
        let name = sh(&format!("cat /sys/class/uio/{}/maps/map0/name", uio.name()))?;
        check!(name.trim() == "BAR0", "map0 name {name:?}");
        let cmd = pci_command(pci)?;
        check!(
            cmd & sysfs::PCI_COMMAND_MASTER != 0,
            "{pci}: bus mastering off (command {cmd:#x})"
        );
    }
    Ok(())
}

pub(crate) fn t_bar0_mmap_registers(env: &Env) -> Outcome {
    let uio = ok!(Uio::for_device(env.first()?));
    let edu = ok!(Edu::new(&uio));
    let id = ok!(edu.id());
    check!(id == 0x010000ed, "id {id:#x}");
    check!(
        ok!(edu.liveness(0x12345678)) == !0x12345678u32,
        "liveness register"
    );
    Ok(())
}

pub(crate) fn t_irq_through_uio(env: &Env) -> Outcome {
    let pci = env.first()?;
    let uio = ok!(Uio::for_device(pci));
    let edu = ok!(Edu::new(&uio));
    let intx_masked = || pci_command(pci).map(|c| c & sysfs::PCI_COMMAND_INTX_DISABLE != 0);
    check!(!intx_masked()?, "INTx masked before any interrupt");
    // The handler masks INTx (pci_check_and_mask_intx) until irqcontrol 1.
    ok!(edu.raise_irq(0x20));
    check!(
        ok!(uio.wait_irq_timeout(20_000)).is_some(),
        "no interrupt delivered"
    );
    check!(
        intx_masked()?,
        "INTx not masked after the interrupt (command {:#x})",
        pci_command(pci)?
    );
    let status = ok!(edu.ack_irq());
    check!(status == 0x20, "status {status:#x}");
    ok!(uio.enable_irq());
    check!(
        !intx_masked()?,
        "INTx still masked after irqcontrol 1 (command {:#x})",
        pci_command(pci)?
    );
    for round in 0..3 {
        ok!(edu.raise_irq(0x1 << round));
        let status = ok!(edu.wait_irq());
        check!(status == 0x1 << round, "round {round}: status {status:#x}");
    }
    // Masked with irqcontrol 0: an interrupt stays pending until unmasked.
    ok!(uio.irqcontrol(0));
    check!(intx_masked()?, "INTx not masked by irqcontrol 0");
    ok!(edu.raise_irq(0x10));
    check!(
        ok!(uio.wait_irq_timeout(500)).is_none(),
        "interrupt delivered while masked"
    );
    ok!(uio.irqcontrol(1));
    let status = ok!(edu.wait_irq());
    check!(status == 0x10, "status after unmask {status:#x}");
    check!(!intx_masked()?, "INTx masked at the end");
    Ok(())
}

// ---------------------------------------------------------------------------
// Binding other devices

/// Reads a sysfs attribute of PCI device `pci`.
pub(crate) fn pci_attr(pci: &str, attr: &str) -> Result<String, String> {
    fs::read_to_string(format!("/sys/bus/pci/devices/{pci}/{attr}"))
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("{pci}/{attr}: {e}"))
}

/// q35's ICH9 AHCI controller (8086:2922): no driver in the test kernel, a
/// memory BAR5. Fails if it is bound to anything.
pub(crate) fn unbound_ahci() -> Result<String, String> {
    let pci = fs::read_dir("/sys/bus/pci/devices")
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|a| {
            pci_attr(a, "vendor").as_deref() == Ok("0x8086")
                && pci_attr(a, "device").as_deref() == Ok("0x2922")
        })
        .ok_or("no ICH9 AHCI controller in this machine")?;
    check!(
        sysfs::pci_driver_of(&pci).is_none(),
        "{pci} already has driver {:?}",
        sysfs::pci_driver_of(&pci)
    );
    Ok(pci)
}

/// The AHCI controller `pci`, just bound to uio_dmabuf: its UIO map is BAR5,
/// its DMA mask a non-edu device's, and an import attaches to it.
pub(crate) fn check_bound_ahci(env: &Env, pci: &str, how: &str) -> Outcome {
    check!(
        sysfs::pci_driver_of(pci).as_deref() == Some("uio_dmabuf"),
        "{pci} not bound after {how}"
    );
    let uio = ok!(Uio::for_device(pci));
    let name = sh(&format!("cat /sys/class/uio/{}/maps/map0/name", uio.name()))?;
    check!(
        name.trim() == "BAR5",
        "AHCI map0 is {name:?}, expected its memory BAR5"
    );
    let dev = ok!(ImportDevice::open());
    let info = ok!(dev.info(&uio));
    // dma_bits applies to every device; without it a non-edu device gets 32.
    let want = if env.dma_bits != 0 {
        env.dma_mask()
    } else {
        0xffff_ffff
    };
    check!(
        info.dma_mask == want,
        "mask for a non-edu device {:#x}, expected {want:#x}",
        info.dma_mask
    );
    let buf = ok!(buffers::system_heap(8192));
    let imp = ok!(dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default()));
    check!(
        attachments_of(pci)? == 1,
        "import on {pci} not attached to it"
    );
    drop(imp);
    Ok(())
}

pub(crate) fn t_binds_only_what_it_is_given(env: &Env) -> Outcome {
    // The driver has no static device IDs: loaded, it binds nothing, not even
    // QEMU's edu, until a user hands it a device; and without dma_bits a PCI
    // device gets the PCI default mask of 32 bits, whatever its vendor.
    reload("--no-bind dma_bits=0")?;
    let result = (|| {
        for pci in &env.devices {
            check!(
                sysfs::pci_driver_of(pci).is_none(),
                "{pci} bound at load: {:?}",
                sysfs::pci_driver_of(pci)
            );
        }
        fs::write("/sys/bus/pci/drivers/uio_dmabuf/new_id", "1234 11e8")
            .map_err(|e| format!("new_id: {e}"))?;
        for pci in &env.devices {
            check!(
                sysfs::pci_driver_of(pci).as_deref() == Some("uio_dmabuf"),
                "{pci} not bound by new_id"
            );
        }
        let (dev, uio) = open_device(env.first()?)?;
        let info = ok!(dev.info(&uio));
        check!(
            info.dma_mask == 0xffff_ffff,
            "mask without dma_bits {:#x}, expected the PCI default 0xffffffff",
            info.dma_mask
        );
        Ok(())
    })();
    // Loaded as before, whatever failed above.
    let restored =
        sh("{ ! grep -q '^uio_dmabuf ' /proc/modules || rmmod uio_dmabuf; } && load-uio-dmabuf");
    result?;
    restored.map(drop)
}

pub(crate) fn t_new_id_binds_another_device(env: &Env) -> Outcome {
    let (vendor, device) = ("8086", "2922");
    let pci = unbound_ahci()?;
    fs::write(
        "/sys/bus/pci/drivers/uio_dmabuf/new_id",
        format!("{vendor} {device}"),
    )
    .map_err(|e| format!("new_id: {e}"))?;
    let result = check_bound_ahci(env, &pci, "new_id");
    let _ = fs::write("/sys/bus/pci/drivers/uio_dmabuf/unbind", &pci);
    let _ = fs::write(
        "/sys/bus/pci/drivers/uio_dmabuf/remove_id",
        format!("{vendor} {device}"),
    );
    result?;
    check!(
        sysfs::pci_driver_of(&pci).is_none(),
        "{pci} still bound after unbind"
    );
    Ok(())
}

pub(crate) fn t_driver_override_binds_another_device(env: &Env) -> Outcome {
    let pci = unbound_ahci()?;
    let override_path = format!("/sys/bus/pci/devices/{pci}/driver_override");
    let result = (|| {
        fs::write(&override_path, "uio_dmabuf").map_err(|e| format!("driver_override: {e}"))?;
        fs::write("/sys/bus/pci/drivers_probe", &pci).map_err(|e| format!("drivers_probe: {e}"))?;
        check_bound_ahci(env, &pci, "driver_override")
    })();
    let _ = fs::write("/sys/bus/pci/drivers/uio_dmabuf/unbind", &pci);
    let _ = fs::write(&override_path, "\n");
    result?;
    check!(
        sysfs::pci_driver_of(&pci).is_none(),
        "{pci} still bound after unbind"
    );
    check!(
        pci_attr(&pci, "driver_override")? == "(null)",
        "driver_override not cleared"
    );
    // Without the override nothing binds it again.
    fs::write("/sys/bus/pci/drivers_probe", &pci).map_err(|e| format!("drivers_probe: {e}"))?;
    check!(
        sysfs::pci_driver_of(&pci).is_none(),
        "{pci} bound without an override: {:?}",
        sysfs::pci_driver_of(&pci)
    );
    Ok(())
}

pub(crate) fn t_foreign_uio_device_is_refused(env: &Env) -> Outcome {
    // The second edu, moved to uio_pci_generic: its /dev/uioN is a UIO device,
    // but not one of ours.
    let pci = env.devices.get(1).ok_or("needs a second edu")?.clone();
    let override_path = format!("/sys/bus/pci/devices/{pci}/driver_override");
    unbind(&pci)?;
    let moved = (|| {
        fs::write(&override_path, "uio_pci_generic")
            .map_err(|e| format!("driver_override: {e}"))?;
        fs::write("/sys/bus/pci/drivers_probe", &pci).map_err(|e| format!("drivers_probe: {e}"))?;
        check!(
            sysfs::pci_driver_of(&pci).as_deref() == Some("uio_pci_generic"),
            "{pci} not on uio_pci_generic"
        );
        let foreign = ok!(Uio::for_device(&pci));
        let dev = ok!(ImportDevice::open());
        let buf = ok!(buffers::system_heap(4096));
        expect_errno(
            dev.info(&foreign),
            libc::ENODEV,
            "INFO with a uio_pci_generic fd",
        )?;
        expect_errno(
            dev.import(&foreign, &buf, Direction::ToDevice, ImportFlags::default()),
            libc::ENODEV,
            "IMPORT with a uio_pci_generic fd",
        )?;
        check!(
            attachments_of(&pci)? == 0,
            "attachment on the foreign device"
        );
        Ok(())
    })();
    let _ = fs::write(format!("/sys/bus/pci/devices/{pci}/driver/unbind"), &pci);
    let _ = fs::write(&override_path, "\n");
    bind(&pci)?;
    moved
}

/// Sets a fault-injection knob under /sys/kernel/debug/`which`/.
fn fault_knob(which: &str, knob: &str, value: &str) -> Outcome {
    fs::write(format!("/sys/kernel/debug/{which}/{knob}"), value)
        .map_err(|e| format!("{which}/{knob}: {e}"))
}

/// The lines of debugfs `devices` (one per device the driver lists).
fn listed_devices() -> Result<Vec<String>, String> {
    Ok(fs::read_to_string("/sys/kernel/debug/uio_dmabuf/devices")
        .map_err(|e| format!("debugfs devices: {e}"))?
        .lines()
        .map(str::to_string)
        .collect())
}

/// Writes `pci` to the driver's `bind` with the `nth` fault-injection point
/// of this thread failing (`/proc/thread-self/fail-nth`); returns the write's
/// result and whether the fault was injected (false: the bind made fewer
/// than `nth` allocations).
fn bind_failing_at(pci: &str, nth: u32) -> Result<(std::io::Result<()>, bool), String> {
    use std::io::{Read, Write};
    let mut bind = fs::OpenOptions::new()
        .write(true)
        .open("/sys/bus/pci/drivers/uio_dmabuf/bind")
        .map_err(|e| format!("open bind: {e}"))?;
    let fail_nth = "/proc/thread-self/fail-nth";
    let mut arm = fs::OpenOptions::new()
        .write(true)
        .open(fail_nth)
        .map_err(|e| format!("open fail-nth: {e}"))?;
    // fail-nth cannot seek: a second file reads it.
    let mut left = fs::File::open(fail_nth).map_err(|e| format!("open fail-nth: {e}"))?;
    // Everything is open: from here only the bind itself allocates.
    arm.write_all(nth.to_string().as_bytes())
        .map_err(|e| format!("arm fail-nth: {e}"))?;
    let result = bind.write_all(pci.as_bytes());
    let mut remaining = String::new();
    left.read_to_string(&mut remaining)
        .map_err(|e| format!("read fail-nth: {e}"))?;
    // Disarm whatever is left, so no later call of this thread fails.
    arm.write_all(b"0")
        .map_err(|e| format!("disarm fail-nth: {e}"))?;
    Ok((result, remaining.trim() == "0"))
}

pub(crate) fn t_probe_failure_leaves_nothing(env: &Env) -> Outcome {
    // Every allocation of a bind, the PCI core's and UIO's included, is made
    // to fail in turn (failslab and fail_page_alloc through fail-nth); after
    // each failed bind the driver lists nothing for the device and no fd
    // names it.
    //
    // The device is kept enabled through sysfs `enable` meanwhile, so that
    // the driver's pcim_enable_device only counts: the sweep stays out of
    // ACPI's interrupt routing, whose out-of-memory paths have a bug of their
    // own (seen: AE_NO_MEMORY, then a KASAN use-after-free in
    // acpi_ns_get_attached_object).
    let pci = env.devices.last().ok_or("no device")?.clone();
    let (dev, stale) = open_device(&pci)?;
    unbind(&pci)?;
    let enable = format!("/sys/bus/pci/devices/{pci}/enable");
    fs::write(&enable, "1").map_err(|e| format!("enable {pci}: {e}"))?;
    for which in ["failslab", "fail_page_alloc"] {
        fault_knob(which, "ignore-gfp-wait", "N")?;
        fault_knob(which, "verbose", "0")?;
    }
    fault_knob("fail_page_alloc", "ignore-gfp-highmem", "N")?;
    fault_knob("fail_page_alloc", "min-order", "0")?;
    let sweep = (|| {
        let (mut failed, mut nth) = (0, 1);
        loop {
            let (result, injected) = bind_failing_at(&pci, nth)?;
            fault_injected();
            let bound = sysfs::pci_driver_of(&pci).as_deref() == Some("uio_dmabuf");
            let listed = listed_devices()?.iter().any(|l| l.starts_with(&pci));
            if !injected {
                // Past the last allocation: the bind went through.
                check!(
                    result.is_ok() && bound && listed,
                    "bind without an injected fault: {result:?}, bound {bound}, listed {listed}"
                );
                break;
            }
            match result {
                Ok(()) if bound => {
                    // The failure hit something optional; the device works.
                    check!(listed, "nth {nth}: bound but not listed in debugfs");
                    let uio = ok!(Uio::for_device(&pci));
                    ok!(dev.info(&uio));
                    drop(uio);
                    unbind(&pci)?;
                }
                _ => {
                    failed += 1;
                    check!(!bound, "nth {nth}: bind failed ({result:?}) but bound");
                    check!(
                        !listed,
                        "nth {nth}: bind failed ({result:?}) yet debugfs devices lists \
                         {pci}: {:?}",
                        listed_devices()?
                    );
                    let buf = ok!(buffers::system_heap(4096));
                    expect_errno(
                        dev.import(&stale, &buf, Direction::ToDevice, ImportFlags::default()),
                        libc::ENODEV,
                        &format!("nth {nth}: IMPORT after a failed bind"),
                    )?;
                    for other in &env.devices {
                        if *other != pci {
                            let uio = ok!(Uio::for_device(other));
                            ok!(dev.info(&uio));
                        }
                    }
                }
            }
            nth += 1;
        }
        check!(failed > 0, "no bind failed: fault injection did not work");
        Ok(nth)
    })();
    for which in ["failslab", "fail_page_alloc"] {
        let _ = fault_knob(which, "ignore-gfp-wait", "Y");
    }
    // The extra enable can only be dropped while no driver is bound.
    if sysfs::pci_driver_of(&pci).is_some() {
        unbind(&pci)?;
    }
    fs::write(&enable, "0").map_err(|e| format!("drop the extra enable of {pci}: {e}"))?;
    bind(&pci)?;
    let points = sweep?;
    // The device works after the sweep.
    let (dev, uio) = open_device(&pci)?;
    let buf = ok!(buffers::system_heap(8192));
    ok!(dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default()));
    println!("    {points} allocations of a bind failed in turn");
    Ok(())
}

/// The DMA parameters of `pci` as the test module `dev_dma_params` shows them
/// (loaded on first use).
fn dma_params(pci: &str) -> Result<String, String> {
    if fs::metadata("/sys/kernel/debug/dev_dma_params").is_err() {
        sh("insmod /lib/modules/test/dev_dma_params.ko")?;
    }
    fs::read_to_string(format!("/sys/kernel/debug/dev_dma_params/{pci}"))
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("dev_dma_params/{pci}: {e}"))
}

pub(crate) fn t_unbind_restores_dma_settings(env: &Env) -> Outcome {
    // The driver raises the DMA mask and lifts the segment limit; the next
    // driver of the device must find what the PCI core set at enumeration
    // (pci_setup_device: 32-bit masks, 64 KiB segments).
    let pci = env.devices.last().ok_or("no device")?.clone();
    let mask = env.dma_mask();
    let ours = format!("mask {mask:#x} coherent {mask:#x} max_seg_size 4294967295");
    let pci_core = "mask 0xffffffff coherent 0xffffffff max_seg_size 65536";
    check!(
        dma_params(&pci)? == ours,
        "bound: {:?}, expected {ours:?}",
        dma_params(&pci)?
    );
    unbind(&pci)?;
    let after = dma_params(&pci);
    bind(&pci)?;
    check!(
        after.as_deref() == Ok(pci_core),
        "after unbind: {after:?}, expected the PCI core's {pci_core:?}"
    );
    check!(
        dma_params(&pci)? == ours,
        "bound again: {:?}, expected {ours:?}",
        dma_params(&pci)?
    );
    Ok(())
}

/// `IRQ_NOTCONNECTED`, the IRQ Linux gives an interrupt pin routed nowhere.
const IRQ_NOTCONNECTED: u64 = 1 << 31;

pub(crate) fn t_interrupt_not_connected(env: &Env) -> Outcome {
    // An edu behind a PCIe expander bridge, whose bus has no ACPI interrupt
    // routing (qemu/run --device pxb-pcie,... --device edu,bus=...), with its
    // interrupt line register at 0xff, which firmware leaves for a pin it did
    // not route: Linux gives it IRQ_NOTCONNECTED. It binds as a UIO device
    // without an interrupt, as uio_pci_generic does, instead of failing probe.
    use std::os::unix::fs::FileExt;
    let pci = env
        .devices
        .iter()
        .find(|d| !d.starts_with("0000:00:"))
        .ok_or("no edu behind an expander bridge (qemu/run --device pxb-pcie,...)")?
        .clone();
    unbind(&pci)?;
    let config = fs::OpenOptions::new()
        .write(true)
        .open(sysfs::pci_config_path(&pci))
        .map_err(|e| format!("{pci} config: {e}"))?;
    config
        .write_all_at(&[0xff], 0x3c)
        .map_err(|e| format!("write the interrupt line: {e}"))?;
    drop(config);
    // Enumerated again, the device reads its line anew; the driver binds it.
    fs::write(format!("/sys/bus/pci/devices/{pci}/remove"), "1")
        .map_err(|e| format!("remove {pci}: {e}"))?;
    fs::write("/sys/bus/pci/rescan", "1").map_err(|e| format!("rescan: {e}"))?;
    check!(
        sysfs::pci_driver_of(&pci).as_deref() == Some("uio_dmabuf"),
        "{pci} with an unrouted interrupt not bound (driver {:?})",
        sysfs::pci_driver_of(&pci)
    );
    let irq: u64 = pci_attr(&pci, "irq")?
        .parse()
        .map_err(|e| format!("irq: {e}"))?;
    check!(
        irq == IRQ_NOTCONNECTED,
        "{pci} has IRQ {irq}, not IRQ_NOTCONNECTED: the setup did not take"
    );
    let (dev, uio) = open_device(&pci)?;
    // UIO without an interrupt: no events to wait for, nothing to unmask.
    expect_errno(
        uio.wait_irq(),
        libc::EIO,
        "read of a UIO device without IRQ",
    )?;
    expect_errno(uio.irqcontrol(1), libc::EIO, "irqcontrol without IRQ")?;
    let edu = ok!(Edu::new(&uio));
    check!(ok!(edu.id()) == 0x010000ed, "edu registers through BAR0");
    let buf = ok!(buffers::system_heap(8192));
    let imp = ok!(dev.import(&uio, &buf, Direction::Bidirectional, ImportFlags::default()));
    check!(attachments_of(&pci)? == 1, "import not attached to {pci}");
    drop(imp);
    Ok(())
}

pub(crate) fn t_sub_page_bar(_env: &Env) -> Outcome {
    // QEMU's pci-testdev with a 256-byte memory BAR2 (qemu/run --device
    // pci-testdev,membar=256), bound through driver_override: the rest of the
    // BAR's page is reserved in the resource tree, so the UIO map is the whole
    // page and mmap works, as with uio_pci_generic's rounding but without
    // letting another BAR land in the same page; unbind gives it back.
    let pci = fs::read_dir("/sys/bus/pci/devices")
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|a| {
            pci_attr(a, "vendor").as_deref() == Ok("0x1b36")
                && pci_attr(a, "device").as_deref() == Ok("0x0005")
        })
        .ok_or("no pci-testdev (qemu/run --device pci-testdev,membar=256)")?;
    check_no_page_tail_reserved("before binding")?;
    let override_path = format!("/sys/bus/pci/devices/{pci}/driver_override");
    let result = (|| {
        fs::write(&override_path, "uio_dmabuf").map_err(|e| format!("driver_override: {e}"))?;
        fs::write("/sys/bus/pci/drivers_probe", &pci).map_err(|e| format!("drivers_probe: {e}"))?;
        check!(
            sysfs::pci_driver_of(&pci).as_deref() == Some("uio_dmabuf"),
            "{pci} not bound"
        );
        let uio = ok!(Uio::for_device(&pci));
        // UIO has room for five maps (MAX_UIO_MAPS).
        let map = (0..5)
            .find(|&m| {
                sh(&format!(
                    "cat /sys/class/uio/{}/maps/map{m}/name",
                    uio.name()
                ))
                .is_ok_and(|n| n.trim() == "BAR2")
            })
            .ok_or("no map of BAR2")?;
        let (addr, size) = ok!(uio.map_info(map));
        let page = page_size() as u64;
        check!(
            size == page && addr % page == 0,
            "BAR2 map at {addr:#x}, size {size:#x}: expected its whole page"
        );
        check_page_tail_reserved(addr, 256)?;
        let mmio = ok!(uio.map(map));
        ok!(mmio.read32(0));
        Ok(())
    })();
    let _ = fs::write("/sys/bus/pci/drivers/uio_dmabuf/unbind", &pci);
    let _ = fs::write(&override_path, "\n");
    result?;
    check_no_page_tail_reserved("after unbind")
}
