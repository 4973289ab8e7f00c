// SPDX-License-Identifier: GPL-2.0

//! What either driver keeps for a bound device.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    prelude::*,
    sync::Arc, //
};

use crate::{
    dma_ext::DmaSettings,
    page_tail::{
        DeviceMaps,
        PageTailReservation, //
    },
    registry,
    state::DeviceState,
    uio, //
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
        irq: Option<(u32, u64)>,
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
