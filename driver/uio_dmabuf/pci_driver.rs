// SPDX-License-Identifier: GPL-2.0

//! The PCI driver: binds the devices a user hands it through `new_id` or
//! `driver_override` (it has no static IDs, as uio_pci_generic has none),
//! exposes their memory BARs and INTx through UIO, and tears a device's
//! imports down on unbind.

use kernel::{
    device::{
        Bound,
        Core, //
    },
    io::resource::{
        Flags,
        Resource, //
    },
    irq,
    pci,
    prelude::*,
    uio::PageTailReservation, //
};

use crate::{
    bound::{
        BoundDevice,
        DeviceMaps,
        DmaSettings,
        PAGE_TAIL_NAME, //
    },
    module_parameters,
    pci_uio_ops::PciUioOps,
    state::DeviceState, //
};

/// The PCI core's default mask, which the `dma_bits` parameter overrides.
const DEFAULT_DMA_BITS: u32 = 32;

/// UIO map names, one per BAR.
const BAR_NAMES: [&CStr; pci::STD_NUM_BARS as usize] =
    [c"BAR0", c"BAR1", c"BAR2", c"BAR3", c"BAR4", c"BAR5"];

pub(crate) struct UioDmabufDriver;

/// The DMA mask width: the `dma_bits` parameter, else the PCI default.
fn dma_bits() -> u32 {
    match module_parameters::dma_bits.value() {
        0 => DEFAULT_DMA_BITS,
        bits => bits,
    }
}

/// Start and length of BAR `bar` if it is a non-empty memory BAR, with its
/// resource.
fn memory_bar(pdev: &pci::Device<Bound>, bar: u32) -> Option<(u64, u64, &Resource)> {
    let res = pci::bar_resource(pdev, bar)?;
    if !res.flags().contains(Flags::IORESOURCE_MEM) {
        return None;
    }
    let start = pdev.resource_start(bar).ok()?;
    let len = pdev.resource_len(bar).ok()?;
    (len > 0).then_some((start, len, res))
}

/// The device's memory BARs as UIO maps (name `BARn`); UIO has room for five,
/// so only six 32-bit memory BARs leave one out.
fn memory_maps(pdev: &pci::Device<Bound>) -> Result<DeviceMaps<'static>> {
    let mut maps = DeviceMaps::new();
    for bar in 0..pci::STD_NUM_BARS {
        if let Some((phys, size, res)) = memory_bar(pdev, bar) {
            maps.push(pdev.as_ref(), BAR_NAMES[bar as usize], phys, size, || {
                PageTailReservation::new(res, PAGE_TAIL_NAME)
            })?;
        }
    }
    Ok(maps)
}

impl pci::Driver for UioDmabufDriver {
    type IdInfo = ();
    type Data<'bound> = BoundDevice<'bound, PciUioOps<'bound>>;
    // No device IDs: a generic driver cannot know which devices a user wants
    // to drive from userspace, so it binds only those handed to it.
    const ID_TABLE: pci::IdTable<Self::IdInfo> = &pci::NO_DEVICE_IDS;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _id_info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        // Runs once the PCI core has allocated the data, so that its failure
        // comes before any side effect.
        pin_init::pin_init_scope(move || {
            let bits = dma_bits();
            // Undone by the driver core after unbind or a failed probe.
            pci::enable_device_managed(pdev)?;
            let dma_settings = DmaSettings::configure(pdev, Some(bits))?;
            let bound: &'bound pci::Device<Bound> = pdev;
            let maps = memory_maps(bound)?;
            let intx = pci::Intx::new(bound);
            let irq = intx.as_ref().map(|intx| (intx.irq(), irq::Flags::SHARED));
            let state = DeviceState::for_bound(bound.as_ref())?;
            let (count, dma) = (maps.maps.len(), state.dma());
            let ops = PciUioOps::new(bound, intx, state.clone());
            // Bus mastering stays off until /dev/uioN is opened (pci_uio_ops).
            Ok(
                BoundDevice::new(bound.as_ref(), dma_settings, state, maps, irq, ops).pin_chain(
                    move |_| {
                        dev_info!(
                            pdev.as_ref(),
                            "uio_dmabuf: {} memory BAR(s), IRQ {}, {}-bit DMA mask{}{}\n",
                            count,
                            irq.map_or(0, |(irq, _)| irq),
                            bits,
                            if dma.translated {
                                ", IOMMU-translated"
                            } else {
                                ""
                            },
                            if dma.unreachable_memory {
                                "; RAM beyond the mask and nothing to bounce it: \
                                 imports refused (ERANGE)"
                            } else {
                                ""
                            }
                        );
                        Ok(())
                    },
                ),
            )
        })
    }

    fn unbind<'bound>(pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        // Stop the device's DMA first, with irqcontrol and /dev/uioN opens shut
        // out of the command register: whatever userspace programmed must not
        // reach memory that is about to be unmapped.
        this.unbind(|| pci::set_bus_master(pdev, false));
        // Dropping the data then undoes the rest; the driver core disables the
        // device.
    }
}
