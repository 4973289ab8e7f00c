// SPDX-License-Identifier: GPL-2.0

//! The platform driver: binds platform devices (an FPGA's DMA engine or
//! custom IP block, described in the device tree), exposes their memory
//! resources and first interrupt through UIO, imports dma-bufs for them as
//! for PCI devices, and tears the device's imports down on unbind.
//!
//! Binding. The driver carries no compatible string of its own: the device
//! tree nodes it binds are those whose compatible the `of_id` module
//! parameter names (as `uio_pdrv_genirq` takes it), and any platform device
//! can be bound by name through its `driver_override`.
//!
//! DMA. Imports are attached to the platform device itself, so whatever the
//! device tree says of its DMA applies: `dma-coherent` (without it, an arm64
//! device is non-coherent and SYNC does the cache maintenance), `dma-ranges`
//! (the bus's limit and offset) and `iommus` (an SMMU translates). The DMA
//! mask is the one the platform core and the device tree set (32 bits unless
//! `dma-ranges` narrows it), or `dma_bits` wide if that parameter is set.
//!
//! Stopping DMA. A platform device has no bus-master bit: neither unbind nor
//! the close of its last `/dev/uioN` file can stop a DMA userspace left
//! running. Unbind still waits for every mapping to go and the imports of
//! dead processes are kept until the last `/dev/uioN` file closes, as for PCI,
//! but a transfer still running then reaches memory that is unmapped: the
//! userspace driver must stop its engine before it closes `/dev/uioN`.

use core::cell::UnsafeCell;

use kernel::{
    bindings,
    clk::EnabledClocks,
    device::{
        Bound,
        Core, //
    },
    device_id::IdTable,
    irq::{
        self,
        IrqRequest, //
    },
    of,
    platform,
    pm_runtime::RuntimePm,
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
    platform_uio_ops::PlatformUioOps,
    state::DeviceState, //
};

extern "C" {
    /// The `of_id` module parameter (`of_id.c`): a NUL-terminated string in
    /// module data, empty if unset, written only by the parameter parser
    /// before module init.
    fn uio_dmabuf_of_id() -> *const c_char;
}

/// The platform driver's OF match table: entry 0 names the compatible of the
/// `of_id` parameter (all zero, a terminator, if it is unset), entry 1 ends
/// the table. Module init fills it ([`fill_of_id_table`]) before it registers
/// the platform driver.
///
/// Every implementation of [`IdTable`] must return a zero-terminated array of
/// `of_device_id` that stays valid and unchanged from the driver's
/// registration until after its unregistration, with `data` fields the
/// driver's `IdInfo` can be read from: this one is a static array, written
/// only before the registration, whose `data` fields are all NULL (no
/// `IdInfo`: probe gets `None`).
struct OfIdParamTable(UnsafeCell<[bindings::of_device_id; 2]>);

// SAFETY: The table is written once, by module init before the platform
// driver's registration, when nothing else can reach it; afterwards it is
// only read.
unsafe impl Sync for OfIdParamTable {}

static OF_ID_TABLE: OfIdParamTable =
    OfIdParamTable(UnsafeCell::new([pin_init::zeroed(), pin_init::zeroed()]));

impl IdTable<of::DeviceId, ()> for OfIdParamTable {
    fn as_ptr(&self) -> *const bindings::of_device_id {
        self.0.get().cast()
    }
}

/// Copies the `of_id` parameter into the OF match table.
///
/// # Safety
///
/// Called once, by module init, before the platform driver is registered.
pub(crate) unsafe fn fill_of_id_table() {
    // SAFETY: `uio_dmabuf_of_id` returns a NUL-terminated static buffer that
    // nothing writes after the parameter parser, which ran before module init.
    let param = unsafe { CStr::from_char_ptr(uio_dmabuf_of_id()) };
    // SAFETY: By the function's precondition nothing else reaches the table.
    let entry = unsafe { &mut (*OF_ID_TABLE.0.get())[0] };
    // The parameter's buffer is as long as the field (`of_id.c`); the last
    // byte stays the terminator whatever the lengths.
    let room = entry.compatible.len() - 1;
    for (dst, &src) in entry.compatible[..room].iter_mut().zip(param.to_bytes()) {
        *dst = src as c_char;
    }
}

pub(crate) struct UioDmabufPlatformDriver;

/// The device's memory resources as UIO maps, named after them.
fn memory_maps<'bound>(pdev: &'bound platform::Device<Bound>) -> Result<DeviceMaps<'bound>> {
    let mut maps = DeviceMaps::new();
    for index in 0.. {
        let Some(res) = pdev.resource_by_index(index) else {
            break;
        };
        let (phys, size) = (res.start(), res.size());
        if size > 0 {
            let name = res.name().unwrap_or(c"unnamed");
            maps.push(pdev.as_ref(), name, phys, size, || {
                PageTailReservation::new(res, PAGE_TAIL_NAME)
            })?;
        }
    }
    Ok(maps)
}

/// The device's first interrupt, if it has one that can serve as a UIO
/// interrupt: `EPROBE_DEFER` while its interrupt controller is not ready.
fn first_irq<'bound>(pdev: &'bound platform::Device<Bound>) -> Result<Option<IrqRequest<'bound>>> {
    let irq = match pdev.optional_irq_by_index(0) {
        Ok(irq) => irq,
        Err(e) if e == ENXIO => return Ok(None),
        Err(e) => return Err(e),
    };
    if !irq::can_mask_in_handler(&irq) {
        dev_warn!(
            pdev.as_ref(),
            "uio_dmabuf: IRQ {} cannot be masked from its handler (its interrupt controller \
             sleeps or nests it in a thread): bound without interrupt\n",
            irq.irq()
        );
        return Ok(None);
    }
    Ok(Some(irq))
}

impl platform::Driver for UioDmabufPlatformDriver {
    type IdInfo = ();
    type Data<'bound> = BoundDevice<'bound, PlatformUioOps>;
    const OF_ID_TABLE: Option<of::IdTable<Self::IdInfo>> = Some(&OF_ID_TABLE);

    fn probe<'bound>(
        pdev: &'bound platform::Device<Core<'_>>,
        _id_info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        // Runs once the driver core has allocated the data, so that its
        // failure comes before any side effect.
        pin_init::pin_init_scope(move || {
            let bits = match module_parameters::dma_bits.value() {
                0 => None,
                bits => Some(bits),
            };
            let bound: &'bound platform::Device<Bound> = pdev;
            // First, so that a deferred probe has done nothing yet.
            let irq_request = first_irq(bound)?;
            let irq = irq_request.as_ref().map(IrqRequest::irq);
            // Before anything can reach the registers.
            let clocks = EnabledClocks::new(bound.as_ref())?;
            let clock_count = clocks.count();
            let dma_settings = DmaSettings::configure(pdev, bits)?;
            let maps = memory_maps(bound)?;
            let state = DeviceState::for_bound(bound.as_ref())?;
            let (count, dma) = (maps.maps.len(), state.dma());
            let pm = RuntimePm::new(bound.as_ref());
            let ops = PlatformUioOps::new(state.clone(), clocks, pm)?;
            // Not shared: the handler masks the line.
            let irq_flags = irq.map(|irq| (irq, irq::Flags::TRIGGER_NONE));
            Ok(
                BoundDevice::new(bound.as_ref(), dma_settings, state, maps, irq_flags, ops)
                    .pin_chain(move |_| {
                        // Once requested: freeing the IRQ clears it again.
                        if let Some(irq) = &irq_request {
                            irq::unlazy_if_level(irq);
                        }
                        dev_info!(
                            pdev.as_ref(),
                            "uio_dmabuf: {} memory region(s), IRQ {}, {} clock(s), DMA mask {:#x}, \
                             {}{}\n",
                            count,
                            irq.unwrap_or(0),
                            clock_count,
                            dma.mask,
                            if dma.coherent {
                                "coherent"
                            } else {
                                "non-coherent"
                            },
                            if dma.translated {
                                ", IOMMU-translated"
                            } else {
                                ""
                            }
                        );
                        Ok(())
                    }),
            )
        })
    }

    fn unbind<'bound>(_pdev: &'bound platform::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        // Nothing stops the device's DMA (module docs); irqcontrol and opens
        // of /dev/uioN are refused from here on all the same.
        this.unbind(|| ());
    }
}
