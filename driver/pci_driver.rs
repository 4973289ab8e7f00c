// SPDX-License-Identifier: GPL-2.0

//! The PCI driver: binds QEMU's edu (and any device added through `new_id` or
//! `driver_override`), exposes its memory BARs and INTx through UIO, and tears
//! the device's imports down on unbind.

use kernel::{
    device::{
        Bound,
        Core, //
    },
    pci,
    prelude::*,
    sync::Arc, //
};

use crate::{
    bindings,
    device::DeviceState,
    file::OpenFile,
    module_parameters,
    pci_ext,
    registry,
    uio,
    uio_ops::UioOps, //
};

/// QEMU's educational device.
const EDU_VENDOR: u16 = 0x1234;
const EDU_DEVICE: u16 = 0x11e8;
/// edu's DMA engine truncates addresses to its `dma_mask` property, 28 bits
/// unless QEMU is told otherwise.
const EDU_DMA_BITS: u32 = 28;
/// The PCI default mask for other devices.
const DEFAULT_DMA_BITS: u32 = 32;

/// UIO map names, one per BAR.
const BAR_NAMES: [&CStr; pci_ext::NUM_BARS as usize] =
    [c"BAR0", c"BAR1", c"BAR2", c"BAR3", c"BAR4", c"BAR5"];

pub(crate) struct UioDmabufDriver;

// `@none` leaves `driver_data` 0, the value `new_id` writes, so dynamic IDs bind.
kernel::pci_device_table!(
    PCI_TABLE,
    @none,
    [pci::DeviceId::from_id(pci_ext::vendor(EDU_VENDOR), EDU_DEVICE as u32)]
);

/// What the driver keeps for a bound device.
pub(crate) struct BoundDevice<'bound> {
    state: Arc<DeviceState>,
    _uio: Pin<KBox<uio::Registration<'bound, UioOps<'bound>>>>,
}

/// The DMA mask width for `pdev`: the `dma_bits` parameter, or the device's
/// default.
fn dma_bits(pdev: &pci::Device<Core<'_>>) -> u32 {
    match module_parameters::dma_bits.value() {
        0 if pdev.vendor_id() == pci_ext::vendor(EDU_VENDOR) && pdev.device_id() == EDU_DEVICE => {
            EDU_DMA_BITS
        }
        0 => DEFAULT_DMA_BITS,
        bits => bits,
    }
}

impl pci::Driver for UioDmabufDriver {
    type IdInfo = ();
    type Data<'bound> = BoundDevice<'bound>;
    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _id_info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        let bits = dma_bits(pdev);
        let result = (|| {
            pci_ext::enable_managed(pdev)?;
            pci_ext::configure_dma(pdev, bits)?;
            pdev.set_master();

            let bound: &'bound pci::Device<Bound> = pdev;
            let mut maps = KVec::new();
            for bar in 0..pci_ext::NUM_BARS {
                let Some((phys, size)) = pci_ext::memory_bar(bound, bar) else {
                    continue;
                };
                if maps.len() == uio::MAX_MAPS {
                    // Only six 32-bit memory BARs get here.
                    dev_warn!(
                        pdev.as_ref(),
                        "uio_dmabuf: BAR{} not exposed: UIO has room for {} maps\n",
                        bar,
                        uio::MAX_MAPS
                    );
                    continue;
                }
                maps.push(
                    uio::MemMap {
                        name: BAR_NAMES[bar as usize],
                        phys,
                        size,
                    },
                    GFP_KERNEL,
                )?;
            }
            let irq = pci_ext::intx_irq(bound).map(|irq| (irq, u64::from(bindings::IRQF_SHARED)));
            let mut dma = pci_ext::dma_info(bound.as_ref());
            // The limit shapes the segments this driver reports, not the
            // device's DMA parameters: exporters map their own tables and do
            // not split them for an importer (the DMA API's debug checks would
            // warn about every longer entry), so the device keeps the widest
            // setting and `segments::collect` splits.
            let page = u32::try_from(kernel::page::PAGE_SIZE)?;
            dma.max_segment_size = dma
                .max_segment_size
                .min(module_parameters::max_segment_size.value().max(page));
            let state = DeviceState::new(bound, dma)?;
            let uio = KBox::pin_init(
                uio::Registration::new(
                    bound.as_ref(),
                    kernel::module::this_module::<crate::UioDmabufModule>(),
                    c"uio_dmabuf",
                    &maps,
                    irq,
                    UioOps::new(bound, state.clone()),
                ),
                GFP_KERNEL,
            )?;
            state.set_devt(uio.devt());
            registry::add_device(state.clone())?;
            dev_info!(
                pdev.as_ref(),
                "uio_dmabuf: {} memory BAR(s), IRQ {}, {}-bit DMA mask{}{}\n",
                maps.len(),
                irq.map_or(0, |(irq, _)| irq),
                bits,
                if state.dma().translated {
                    ", IOMMU-translated"
                } else {
                    ""
                },
                if state.dma().unreachable_memory {
                    "; RAM beyond the mask and no IOMMU: imports refused (ERANGE)"
                } else {
                    ""
                }
            );
            Ok(BoundDevice { state, _uio: uio })
        })();
        if result.is_err() {
            pci_ext::clear_master(pdev);
        }
        result
    }

    fn unbind<'bound>(pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        // Stop the device's DMA first: whatever userspace programmed, it must not
        // reach memory that is about to be unmapped.
        pci_ext::clear_master(pdev);
        let state = &this.state;
        registry::remove_device(state);
        state.stop_users();
        registry::for_each_file(|file: &OpenFile| file.revoke_device(state));
        state.wait_unmapped();
        // Dropping the data then unregisters the UIO device (freeing the IRQ and
        // waking readers of /dev/uioN); the driver core disables the device.
    }
}
