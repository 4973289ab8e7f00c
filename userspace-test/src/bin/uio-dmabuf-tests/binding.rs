// SPDX-License-Identifier: MIT OR Apache-2.0

//! Binding: the UIO maps, registers and interrupt of bound devices, and binding
//! other devices through `new_id` and `driver_override`.

use crate::common::*;

// ---------------------------------------------------------------------------
// Binding and UIO

pub(crate) fn t_bound_with_uio_maps(env: &Env) -> Outcome {
    check!(!env.devices.is_empty(), "no device bound");
    for pci in &env.devices {
        let uio = ok!(Uio::for_pci_device(pci));
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
    let uio = ok!(Uio::for_pci_device(env.first()?));
    let edu = ok!(Edu::new(&uio));
    let id = ok!(edu.id());
    check!(id == 0x010000ed, "id {id:#x}");
    check!(
        ok!(edu.liveness(0x12345678)) == !0x12345678u32,
        "liveness register"
    );
    Ok(())
}

/// The PCI command register of `pci`, read through sysfs config space.
pub(crate) fn pci_command(pci: &str) -> Result<u16, String> {
    sysfs::pci_command(pci).map_err(|e| format!("{pci} config space: {e}"))
}

pub(crate) fn t_irq_through_uio(env: &Env) -> Outcome {
    let pci = env.first()?;
    let uio = ok!(Uio::for_pci_device(pci));
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

pub(crate) fn driver_of(pci: &str) -> Option<String> {
    fs::read_link(format!("/sys/bus/pci/devices/{pci}/driver"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
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
        driver_of(&pci).is_none(),
        "{pci} already has driver {:?}",
        driver_of(&pci)
    );
    Ok(pci)
}

/// The AHCI controller `pci`, just bound to uio_dmabuf: its UIO map is BAR5,
/// its DMA mask a non-edu device's, and an import attaches to it.
pub(crate) fn check_bound_ahci(env: &Env, pci: &str, how: &str) -> Outcome {
    check!(
        driver_of(pci).as_deref() == Some("uio_dmabuf"),
        "{pci} not bound after {how}"
    );
    let uio = ok!(Uio::for_pci_device(pci));
    let name = sh(&format!("cat /sys/class/uio/{}/maps/map0/name", uio.name()))?;
    check!(
        name.trim() == "BAR5",
        "AHCI map0 is {name:?}, expected its memory BAR5"
    );
    let dev = ok!(ImportDevice::open());
    let info = ok!(dev.info(&uio));
    let want = if env.dma_bits == 64 {
        u64::MAX
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
    check!(driver_of(&pci).is_none(), "{pci} still bound after unbind");
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
    check!(driver_of(&pci).is_none(), "{pci} still bound after unbind");
    check!(
        pci_attr(&pci, "driver_override")? == "(null)",
        "driver_override not cleared"
    );
    // Without the override nothing binds it again.
    fs::write("/sys/bus/pci/drivers_probe", &pci).map_err(|e| format!("drivers_probe: {e}"))?;
    check!(
        driver_of(&pci).is_none(),
        "{pci} bound without an override: {:?}",
        driver_of(&pci)
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
            driver_of(&pci).as_deref() == Some("uio_pci_generic"),
            "{pci} not on uio_pci_generic"
        );
        let foreign = ok!(Uio::for_pci_device(&pci));
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
