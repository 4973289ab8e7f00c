// SPDX-License-Identifier: GPL-2.0

//! What either driver keeps for a bound device: its UIO device, the page tails
//! reserved for its maps, the DMA settings probe changed.

use kernel::{
    device::{
        self,
        Bound,
        Core,
        Device, //
    },
    dma::{
        self,
        DeviceParams,
        DmaMask, //
    },
    irq,
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        aref::ARef,
        Arc, //
    },
    uio::{
        self,
        PageTailReservation, //
    },
};

use crate::{
    registry,
    state::DeviceState, //
};

/// What a driver keeps for a bound device, whatever its bus, with `T` its UIO
/// callbacks. Each side effect of probe is a member that undoes itself on drop,
/// so a probe that fails at any step, the bus core's allocation of this data
/// included (it happens before any of them), leaves nothing behind. Members
/// drop in declaration order, the reverse of probe's: the registry entry, the
/// UIO device (freeing the IRQ and waking readers of `/dev/uioN`), the
/// reserved page tails, the DMA settings.
#[pin_data]
pub(crate) struct BoundDevice<'bound, T: uio::Handler + 'bound> {
    listing: registry::Listing,
    #[pin]
    uio: uio::Registration<'bound, T>,
    _page_tails: KVec<PageTailReservation>,
    state: Arc<DeviceState>,
    _dma: DmaSettings,
}

impl<'bound, T: uio::Handler + 'bound> BoundDevice<'bound, T> {
    /// The last steps of probe, after `dma` and `state`: registers `/dev/uioN`
    /// for `dev` with `maps` and `irq` (a Linux IRQ number and its request
    /// flags) served by `handler`, then lists the device, which INFO and
    /// IMPORT find from then on.
    pub(crate) fn new(
        dev: &'bound Device<Bound>,
        dma: DmaSettings,
        state: Arc<DeviceState>,
        maps: DeviceMaps<'bound>,
        irq: Option<(u32, irq::Flags)>,
        handler: T,
    ) -> impl PinInit<Self, Error> + 'bound {
        let DeviceMaps { maps, tails } = maps;
        let module = kernel::module::this_module::<crate::UioDmabufModule>();
        try_pin_init!(Self {
            _dma: dma,
            state: state.clone(),
            _page_tails: tails,
            uio <- uio::Registration::new(dev, module, c"uio_dmabuf", &maps, irq, handler),
            listing: {
                state.set_uio(uio.devt(), uio.uio_device());
                registry::Listing::new(state.clone())?
            },
        })
    }

    /// Unbinds the device (see [`DeviceState::unbind`]); `stop_dma` stops its
    /// DMA where its bus can.
    pub(crate) fn unbind(&self, stop_dma: impl FnOnce()) {
        self.state.unbind(&self.listing, stop_dma);
    }
}

/// The UIO maps of a device being probed and the page tails reserved for
/// them (which the driver keeps while bound).
pub(crate) struct DeviceMaps<'a> {
    pub(crate) maps: KVec<uio::MemMap<'a>>,
    pub(crate) tails: KVec<PageTailReservation>,
}

impl<'a> DeviceMaps<'a> {
    pub(crate) fn new() -> Self {
        Self {
            maps: KVec::new(),
            tails: KVec::new(),
        }
    }

    /// Adds memory region `name` of `dev` (at `phys`, `size` bytes) as a map;
    /// `reserve_tail` reserves the rest of its page if it is smaller than one,
    /// and the map is then the whole page. A region beyond UIO's last map is
    /// left out with a warning.
    pub(crate) fn push(
        &mut self,
        dev: &Device<Bound>,
        name: &'a CStr,
        phys: u64,
        mut size: u64,
        reserve_tail: impl FnOnce() -> Option<PageTailReservation>,
    ) -> Result {
        if self.maps.len() == uio::MAX_MAPS {
            dev_warn!(
                dev,
                "uio_dmabuf: {} not exposed: UIO has room for {} maps\n",
                name.to_str().unwrap_or("?"),
                uio::MAX_MAPS
            );
            return Ok(());
        }
        if let Some(tail) = reserve_tail() {
            self.tails.push(tail, GFP_KERNEL)?;
            // CAST: `usize` is 64 bits wide on every architecture this builds for.
            size = PAGE_SIZE as u64;
        }
        self.maps
            .push(uio::MemMap { name, phys, size }, GFP_KERNEL)?;
        Ok(())
    }
}

/// The name of a page tail reserved in the resource tree (`/proc/iomem`).
pub(crate) const PAGE_TAIL_NAME: &CStr = c"uio_dmabuf sub-page reserved";

/// The DMA mask, coherent mask and segment length limit a device had before
/// [`DmaSettings::configure`] changed them, put back when dropped: the next
/// driver of the device finds what its bus (the PCI core at enumeration, the
/// platform core and firmware at probe) set.
pub(crate) struct DmaSettings {
    dev: ARef<device::Device>,
    saved: DeviceParams,
}

impl DmaSettings {
    /// Sets the device's DMA mask (streaming and coherent) to `bits` (if
    /// given; otherwise it keeps the one its bus set) and lifts its DMA
    /// segment length limit (the PCI and platform default is 64 KiB), in probe:
    /// before anything maps DMA for the device, which is what the kernel
    /// crate's setters require.
    pub(crate) fn configure<'a>(dev: &impl dma::Device<'a>, bits: Option<u32>) -> Result<Self> {
        let core: &device::Device<Core<'a>> = dev.as_ref();
        let settings = Self {
            dev: core.into(),
            saved: DeviceParams::read(core),
        };
        if let Some(bits) = bits {
            // SAFETY: Probe runs before the device is registered with UIO or
            // anything else that could map DMA for it, so no mapping races
            // the change.
            unsafe { dev.dma_set_mask_and_coherent(DmaMask::try_new(bits)?)? };
        }
        // SAFETY: As for the mask.
        unsafe { dev.dma_set_max_seg_size(u32::MAX) };
        Ok(settings)
    }
}

impl Drop for DmaSettings {
    fn drop(&mut self) {
        // SAFETY: The settings are dropped with the driver's data of the
        // device: after unbind has waited until no mapping of the device is
        // left, or in a failed probe before anything could map for it; nothing
        // maps for the device until the next driver's probe. The values were
        // the device's own, so the setters accept them.
        let _ = unsafe { self.saved.restore(&self.dev) };
    }
}
