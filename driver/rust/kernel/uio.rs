// SPDX-License-Identifier: GPL-2.0

//! Userspace I/O (UIO) devices.
//!
//! C header: [`include/linux/uio_driver.h`](srctree/include/linux/uio_driver.h)
//!
//! A [`Registration`] publishes `/dev/uioN` for a bound parent device with a set of
//! physical memory maps and, optionally, an interrupt whose top half and
//! `irqcontrol` are the methods of a [`Handler`]. Dropping it unregisters the UIO
//! device, which frees the interrupt (waiting for a running handler) and wakes
//! every reader blocked on `/dev/uioN`.
//!
//! [`file_device`] tells which UIO device an open `/dev/uioN` file belongs to, and
//! [`PageTailReservation`] makes a memory region smaller than a page mappable
//! through UIO, whose maps are whole pages.

use crate::{
    bindings,
    container_of,
    device::{
        Bound,
        Device, //
    },
    error::to_result,
    fs::LocalFile,
    io::resource::Resource,
    irq::{
        self,
        IrqReturn, //
    },
    page::{
        PAGE_MASK,
        PAGE_SIZE, //
    },
    prelude::*,
    types::Opaque, //
};
use core::marker::PhantomData;

/// The bits of an address below page granularity.
// CAST: `usize` is at most 64 bits wide.
const PAGE_MASK_LOW: u64 = !PAGE_MASK as u64;

/// Callbacks of a UIO device.
pub trait Handler: Send + Sync {
    /// Top half of the interrupt `line`, in hard-IRQ context: whether the
    /// interrupt was raised by this device (UIO then counts it and wakes
    /// readers).
    fn handle_irq(&self, line: &IrqLine) -> IrqReturn;

    /// Userspace wrote `on` (0 or 1 as a 32-bit integer) to `/dev/uioN`, whose
    /// interrupt is `line`; an error is the `write`'s.
    fn irqcontrol(&self, on: bool, line: &IrqLine) -> Result;

    /// `/dev/uioN` is being opened; an error fails the open.
    fn open(&self) -> Result;

    /// A file of `/dev/uioN` was closed (not called for files still open when
    /// the device is unregistered).
    fn release(&self);
}

/// The interrupt line of a registered UIO device, as its [`Handler`]'s
/// callbacks see it.
///
/// # Invariants
///
/// The UIO core holds the IRQ requested for as long as a value of this type
/// exists: it is made only inside `handler` and `irqcontrol` callbacks, which
/// the UIO core ends before it frees the IRQ.
pub struct IrqLine(u32);

impl IrqLine {
    /// Masks the line, without waiting for a handler running on another CPU
    /// (so it may be called from the handler itself). Disables nest: each call
    /// needs its own [`IrqLine::enable`].
    pub fn disable_nosync(&self) {
        // SAFETY: By the type invariant the IRQ is requested.
        unsafe { bindings::disable_irq_nosync(self.0) };
    }

    /// Undoes one [`IrqLine::disable_nosync`].
    pub fn enable(&self) {
        // SAFETY: By the type invariant the IRQ is requested.
        unsafe { bindings::enable_irq(self.0) };
    }
}

/// A physical memory region that userspace may mmap (`UIO_MEM_PHYS`).
pub struct MemMap<'a> {
    /// Name shown in `/sys/class/uio/uioN/maps/mapK/name`; the UIO core keeps
    /// a pointer to it while the device is registered.
    pub name: &'a CStr,
    /// Physical start address.
    pub phys: u64,
    /// Length in bytes.
    pub size: u64,
}

/// Maximum number of memory maps of one UIO device.
pub const MAX_MAPS: usize = bindings::MAX_UIO_MAPS as usize;

/// A registered UIO device.
///
/// # Invariants
///
/// `info` is registered with the UIO core (`__uio_register_device` succeeded) and
/// stays registered until `drop`; `info.priv_` is unused, the callbacks find the
/// [`Registration`] from `info` with `container_of!`. The parent device stays bound
/// for `'bound`, and the map names `info` points to live as long.
#[pin_data(PinnedDrop)]
pub struct Registration<'bound, T: Handler> {
    handler: T,
    #[pin]
    info: Opaque<bindings::uio_info>,
    _parent: PhantomData<&'bound Device<Bound>>,
}

// SAFETY: The UIO core may call the callbacks from any thread; they only use
// `handler`, which is `Send + Sync`.
unsafe impl<T: Handler> Send for Registration<'_, T> {}
// SAFETY: As above; `&Registration` exposes only `handler` and immutable data.
unsafe impl<T: Handler> Sync for Registration<'_, T> {}

impl<'bound, T: Handler + 'bound> Registration<'bound, T> {
    /// Registers `/dev/uioN` as a child of `parent`, with `maps` as its memory maps
    /// (map K is mmapped at offset K * page size; maps beyond [`MAX_MAPS`] are left
    /// out) and `irq` (a Linux IRQ number, requested by the UIO core with the given
    /// flags), or no interrupt.
    pub fn new(
        parent: &'bound Device<Bound>,
        module: &'static ThisModule,
        name: &'static CStr,
        maps: &[MemMap<'bound>],
        irq: Option<(u32, irq::Flags)>,
        handler: T,
    ) -> impl PinInit<Self, Error> + 'bound {
        let mut mem: [(&'bound CStr, u64, u64); MAX_MAPS] = [(c"", 0, 0); MAX_MAPS];
        let count = maps.len().min(MAX_MAPS);
        for (slot, map) in mem.iter_mut().zip(maps) {
            *slot = (map.name, map.phys, map.size);
        }
        try_pin_init!(Self {
            handler,
            info <- Opaque::try_ffi_init(move |info: *mut bindings::uio_info| {
                // SAFETY: `info` points to writable memory for a `uio_info`; all
                // fields are plain data or pointers for which zero is valid.
                unsafe { info.write_bytes(0, 1) };
                // SAFETY: `info` is valid and zero-initialized (above); nothing
                // else references it yet.
                let raw = unsafe { &mut *info };
                raw.name = name.as_char_ptr();
                raw.version = c"1".as_char_ptr();
                for (dst, &(map_name, phys, size)) in raw.mem.iter_mut().zip(&mem[..count]) {
                    dst.name = map_name.as_char_ptr();
                    // CAST: UIO_MEM_PHYS is a small `#define`.
                    dst.memtype = bindings::UIO_MEM_PHYS as c_int;
                    // UIO maps whole pages; the offset within the first one is
                    // reported in `offs` (`/sys/class/uio/uioN/maps/mapK/offset`).
                    dst.addr = phys & !PAGE_MASK_LOW;
                    // CAST: The offset is below the page size.
                    dst.offs = (phys & PAGE_MASK_LOW) as usize;
                    dst.size = size;
                }
                raw.open = Some(Self::open_callback);
                raw.release = Some(Self::release_callback);
                match irq {
                    Some((irq, flags)) => {
                        raw.irq = isize::try_from(irq)?;
                        raw.irq_flags = flags.into_inner();
                        raw.handler = Some(Self::handler_callback);
                        raw.irqcontrol = Some(Self::irqcontrol_callback);
                    }
                    // CAST: UIO_IRQ_NONE is 0.
                    None => raw.irq = bindings::UIO_IRQ_NONE as isize,
                }
                // SAFETY: `parent` is a bound device, `info` is fully initialized and,
                // being pinned, stays at this address until `drop` unregisters it;
                // `handler` was initialized before this field, so the callbacks,
                // which may run as soon as this returns, find it.
                to_result(unsafe {
                    bindings::__uio_register_device(
                        module.as_ptr(),
                        parent.as_raw(),
                        info,
                    )
                })
            }),
            _parent: PhantomData,
        })
    }

    /// The device number (`dev_t`) of this device's `/dev/uioN`.
    pub fn devt(&self) -> u32 {
        // SAFETY: By the type invariant `info` is registered, so `uio_dev` points
        // to the live `uio_device` the UIO core created for it.
        unsafe { (*(*self.info.get()).uio_dev).dev.devt }
    }

    /// Identity of the UIO core's `struct uio_device` of this registration,
    /// which every file opened on it refers to (see [`file_device`]): compared,
    /// never dereferenced.
    pub fn uio_device(&self) -> usize {
        // SAFETY: By the type invariant `info` is registered and `uio_dev` set.
        unsafe { (*self.info.get()).uio_dev as usize }
    }

    /// The registration whose `info` field `info` is.
    ///
    /// # Safety
    ///
    /// `info` must be the `info` field of a live, pinned `Registration<T>`.
    unsafe fn from_info<'a>(info: *mut bindings::uio_info) -> &'a Self {
        // SAFETY: `info` is the `info` field of a `Registration<T>` (the callers'
        // contract; `Opaque<T>` is `repr(transparent)` over `T`).
        unsafe { &*container_of!(info.cast::<Opaque<bindings::uio_info>>(), Self, info) }
    }

    /// The interrupt line of the registration whose `info` field `info` is.
    ///
    /// # Safety
    ///
    /// As for [`Registration::from_info`], and the caller is a `handler` or
    /// `irqcontrol` callback of the registration, which has an interrupt.
    unsafe fn irq_line(info: *mut bindings::uio_info) -> IrqLine {
        // SAFETY: `info` is valid (the caller's contract); its `irq` is the
        // Linux IRQ number `new` stored (it has an interrupt), and the UIO
        // core holds it requested while the callback runs.
        // CAST: `new` stored a `u32`.
        IrqLine(unsafe { (*info).irq } as u32)
    }

    /// The UIO core's `handler`.
    ///
    /// # Safety
    ///
    /// Called by the UIO core only, with the `info` registered in [`Registration::new`].
    unsafe extern "C" fn handler_callback(
        _irq: c_int,
        info: *mut bindings::uio_info,
    ) -> bindings::irqreturn_t {
        // SAFETY: The UIO core passes the `info` registered in `new`, which belongs
        // to a live `Registration` until its `drop` has unregistered it (and
        // thereby freed the IRQ).
        let this = unsafe { Self::from_info(info) };
        // SAFETY: As above; this is the `handler` callback, set only with an IRQ.
        let line = unsafe { Self::irq_line(info) };
        match this.handler.handle_irq(&line) {
            IrqReturn::Handled => bindings::irqreturn::IRQ_HANDLED,
            IrqReturn::None => bindings::irqreturn::IRQ_NONE,
        }
    }

    /// The UIO core's `irqcontrol`.
    ///
    /// # Safety
    ///
    /// As for [`Registration::handler_callback`].
    unsafe extern "C" fn irqcontrol_callback(info: *mut bindings::uio_info, on: i32) -> c_int {
        // SAFETY: As in `handler_callback`; the UIO core calls `irqcontrol` under
        // its `info_lock` only while `info` is registered.
        let this = unsafe { Self::from_info(info) };
        // SAFETY: As above; `irqcontrol` is set only with an IRQ.
        let line = unsafe { Self::irq_line(info) };
        match this.handler.irqcontrol(on != 0, &line) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// The UIO core's `open`.
    ///
    /// # Safety
    ///
    /// As for [`Registration::handler_callback`].
    unsafe extern "C" fn open_callback(
        info: *mut bindings::uio_info,
        _inode: *mut bindings::inode,
    ) -> c_int {
        // SAFETY: The UIO core calls `open` under its `info_lock` only while
        // `info` is registered, so the `Registration` is alive.
        let this = unsafe { Self::from_info(info) };
        match this.handler.open() {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// The UIO core's `release`.
    ///
    /// # Safety
    ///
    /// As for [`Registration::handler_callback`].
    unsafe extern "C" fn release_callback(
        info: *mut bindings::uio_info,
        _inode: *mut bindings::inode,
    ) -> c_int {
        // SAFETY: As in `open_callback`.
        let this = unsafe { Self::from_info(info) };
        this.handler.release();
        0
    }
}

#[pinned_drop]
impl<T: Handler> PinnedDrop for Registration<'_, T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant `info` is registered; unregistering it
        // frees the IRQ and ends every callback before returning.
        unsafe { bindings::uio_unregister_device(self.info.get()) };
    }
}

/// Identity of the `struct uio_device` that `file` was opened on, if `file` is an
/// open file of the UIO device whose character device number is `devt`: compared
/// with [`Registration::uio_device`], never dereferenced.
///
/// A file of `/dev/uioN` is opened on one registration of that device number; one
/// kept open across an unregistration and a new registration that reuses the
/// number still refers to the old one. A file whose operations are not its
/// character device's (a driver replaced them at open) gives `None`.
pub fn file_device(file: &LocalFile, devt: u32) -> Option<usize> {
    // SAFETY: `file` is a valid, open file (the reference keeps it alive); the
    // function only reads fields set at open.
    let dev = unsafe { bindings::uio_file_device(file.as_ptr(), devt) };
    (!dev.is_null()).then_some(dev as usize)
}

/// The rest of the page after a memory region smaller than a page that starts
/// on a page boundary, reserved (busy) in the resource tree for as long as this
/// lives, so that nothing else (a BAR of a device added later, a region a
/// driver requests) can be placed there while userspace may map the whole page
/// through UIO, whose maps are whole pages: this is how vfio-pci makes sub-page
/// BARs mappable. Removed on drop, handing back to its parent anything inserted
/// below it meanwhile.
///
/// # Invariants
///
/// `res` is registered with `request_resource` as a child of the resource the
/// region lies in until `drop` releases it; the box keeps its address stable.
pub struct PageTailReservation {
    res: KBox<Opaque<bindings::resource>>,
}

// SAFETY: The reservation is only released (from any thread) in `drop`.
unsafe impl Send for PageTailReservation {}
// SAFETY: `&PageTailReservation` exposes nothing.
unsafe impl Sync for PageTailReservation {}

impl PageTailReservation {
    /// Reserves the rest of the page after `region`, named `name` in the
    /// resource tree: `None` if the region fills its page or does not start
    /// one, or if something else holds part of the rest.
    ///
    /// It is reserved in the resource `region` lies in: its parent in the
    /// resource tree or, for a region that is not in the tree (a platform
    /// device's created from the device tree), the root of memory-mapped I/O,
    /// where drivers request the regions they use. `region` must outlive the
    /// reservation, as a bound device's resources do while it is bound.
    pub fn new(region: &Resource, name: &'static CStr) -> Option<Self> {
        let (start, len) = (region.start(), region.size());
        // CAST: `usize` is at most 64 bits wide.
        let page = PAGE_SIZE as u64;
        if len >= page || start & PAGE_MASK_LOW != 0 {
            return None;
        }
        let ptr = region.as_raw();
        // SAFETY: `region` is a valid resource. Its `parent` (read without the
        // resource lock) is where it was inserted in the tree, or NULL; a later
        // `insert_resource` of an enclosing resource could move it down, which
        // `request_resource` below then sees as a conflict.
        let (parent, flags) = unsafe { ((*ptr).parent, (*ptr).flags) };
        let parent = if parent.is_null() {
            &raw mut bindings::iomem_resource
        } else {
            parent
        };
        let res = KBox::new(
            Opaque::new(bindings::resource {
                start: start + len,
                end: start + page - 1,
                name: name.as_char_ptr(),
                // CAST: IORESOURCE_BUSY is a small `#define`.
                flags: flags | bindings::IORESOURCE_BUSY as usize,
                ..Default::default()
            }),
            GFP_KERNEL,
        )
        .ok()?;
        // SAFETY: `parent` is the live resource the region lies in (a bridge
        // window, the root), which outlives the region; `res` is a boxed,
        // unlinked resource covering the rest of the region's page.
        let busy = unsafe { bindings::request_resource(parent, res.get()) };
        // INVARIANT: `request_resource` succeeded, so `res` is registered.
        (busy == 0).then_some(Self { res })
    }
}

impl Drop for PageTailReservation {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `res` is registered. Unlike
        // `release_resource`, `remove_resource` moves any resource inserted
        // below it since (`insert_resource` descends into busy ones too) up to
        // its parent, so none is left pointing at the freed box.
        unsafe { bindings::remove_resource(self.res.get()) };
    }
}
