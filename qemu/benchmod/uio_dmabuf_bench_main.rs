// SPDX-License-Identifier: GPL-2.0

//! Benchmark-only module: times `dma_buf_get` + attach + map + unmap + detach +
//! put in the kernel, through the same abstractions the driver uses
//! (`kernel::dma_buf`, `driver/rust/kernel/dma_buf.rs`, with the driver's
//! out-of-tree stand-in for the kernel crate), against the first QEMU edu
//! device.
//!
//! `/dev/uio-dmabuf-bench` takes two ioctls:
//! - RUN: a dma-buf fd, an iteration count and a user array that receives one
//!   duration in nanoseconds per iteration;
//! - HOLD: an array of dma-buf fds, each attached to edu and mapped; the
//!   mappings stay alive until the file is closed. What the kernel allocates
//!   for them (dma-buf core, exporter, DMA API) is the memory floor the
//!   driver's per-import memory is measured against.

#[cfg(not(CONFIG_UIO_DMABUF))]
extern crate kernel as kernel_base;
#[cfg(not(CONFIG_UIO_DMABUF))]
extern crate self as kernel;
/// Out-of-tree build: the kernel crate plus what the in-tree series adds to it.
#[cfg(not(CONFIG_UIO_DMABUF))]
#[path = "../../driver/oot/mod.rs"]
pub mod oot;
#[cfg(not(CONFIG_UIO_DMABUF))]
pub use oot::{prelude, *};

// Paths to `kernel` modules spelt out below: out of tree, importing one here
// would hide the one `pub use oot::*` re-exports.
use kernel::{
    dma::DataDirection,
    fs::File,
    ioctl::_IOWR,
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    prelude::*,
    sync::Mutex,
    time::{
        Instant,
        Monotonic, //
    },
    transmute::{
        AsBytes,
        FromBytes, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

module! {
    type: BenchModule,
    name: "uio_dmabuf_bench",
    authors: ["uio-dmabuf developers"],
    description: "uio-dmabuf benchmark floor: raw dma-buf importer calls (test image only)",
    license: "GPL",
    imports_ns: ["DMA_BUF"],
}

/// RUN's argument.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct RunArgs {
    dmabuf_fd: i32,
    iterations: u32,
    /// User pointer to `iterations` u64 durations.
    samples: u64,
}

// SAFETY: Two `u32`-sized fields and a `u64`, no padding; any bits are valid.
unsafe impl FromBytes for RunArgs {}
// SAFETY: As above, no uninitialized bytes.
unsafe impl AsBytes for RunArgs {}

/// HOLD's argument.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct HoldArgs {
    /// User pointer to `count` i32 dma-buf fds.
    fds: u64,
    count: u32,
    reserved: u32,
}

// SAFETY: A `u64` and two `u32`s, no padding; any bits are valid.
unsafe impl FromBytes for HoldArgs {}
// SAFETY: As above, no uninitialized bytes.
unsafe impl AsBytes for HoldArgs {}

const IOC_RUN: u32 = _IOWR::<RunArgs>(0xDB, 0x3e);
const IOC_HOLD: u32 = _IOWR::<HoldArgs>(0xDB, 0x3d);
const MAX_ITERATIONS: u32 = 100_000;

/// The first edu device, with a reference held.
struct Edu(*mut kernel::bindings::pci_dev);

impl Edu {
    fn find() -> Result<Self> {
        // SAFETY: Looks the device up and takes a reference, or returns NULL.
        let pdev =
            unsafe { kernel::bindings::pci_get_device(0x1234, 0x11e8, core::ptr::null_mut()) };
        if pdev.is_null() {
            return Err(ENODEV);
        }
        Ok(Self(pdev))
    }

    /// The device, as bound. Benchmark-only: the caller has the edu bound to
    /// uio_dmabuf for the duration of the run (checked below, not enforced).
    fn bound(&self) -> Result<&kernel::device::Device<kernel::device::Bound>> {
        // SAFETY: `self.0` is a valid pci_dev we hold a reference on.
        let dev = unsafe { &raw mut (*self.0).dev };
        // SAFETY: `dev` is valid for the lifetime of `self` (reference held).
        if unsafe { (*dev).driver }.is_null() {
            return Err(ENODEV);
        }
        // SAFETY: `dev` is valid (above).
        let dev: &kernel::device::Device = unsafe { kernel::device::Device::from_raw(dev) };
        // SAFETY: Benchmark-only: the device is bound to a driver (checked
        // above) and the benchmark does not unbind it while running.
        Ok(unsafe { dev.as_bound() })
    }
}

impl Drop for Edu {
    fn drop(&mut self) {
        // SAFETY: Drops the reference `find` took.
        unsafe { kernel::bindings::pci_dev_put(self.0) };
    }
}

#[pin_data]
struct BenchFile {
    /// HOLD's mappings; unmapped and detached when the file is closed.
    #[pin]
    held: Mutex<KVec<kernel::dma_buf::Mapping>>,
}

impl BenchFile {
    fn run(arg: usize) -> Result<isize> {
        let args: RunArgs = UserSlice::new(UserPtr::from_addr(arg), size_of::<RunArgs>())
            .reader()
            .read()?;
        if args.iterations == 0 || args.iterations > MAX_ITERATIONS {
            return Err(EINVAL);
        }
        let edu = Edu::find()?;
        let dev = edu.bound()?;
        let mut samples = KVec::with_capacity(args.iterations as usize, GFP_KERNEL)?;
        for _ in 0..args.iterations {
            let start = Instant::<Monotonic>::now();
            let buf = kernel::dma_buf::DmaBuf::get(args.dmabuf_fd)?;
            let attach = kernel::dma_buf::Attachment::new(buf, dev)?;
            let mapping = kernel::dma_buf::Mapping::new(attach, DataDirection::Bidirectional)?;
            drop(mapping);
            let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(0);
            samples.push(ns, GFP_KERNEL)?;
        }
        let out = usize::try_from(args.samples)?;
        UserSlice::new(UserPtr::from_addr(out), samples.len() * size_of::<u64>())
            .writer()
            .write_slice(AsBytes::as_bytes(samples.as_slice()))?;
        Ok(0)
    }

    fn hold(&self, arg: usize) -> Result<isize> {
        let args: HoldArgs = UserSlice::new(UserPtr::from_addr(arg), size_of::<HoldArgs>())
            .reader()
            .read()?;
        if args.count == 0 || args.count > MAX_ITERATIONS || args.reserved != 0 {
            return Err(EINVAL);
        }
        let count = args.count as usize;
        let mut fds = KVec::<i32>::with_capacity(count, GFP_KERNEL)?;
        fds.resize(count, 0, GFP_KERNEL)?;
        UserSlice::new(
            UserPtr::from_addr(usize::try_from(args.fds)?),
            count * size_of::<i32>(),
        )
        .reader()
        .read_slice(AsBytes::as_bytes_mut(fds.as_mut_slice()))?;
        let edu = Edu::find()?;
        let dev = edu.bound()?;
        let mut held = self.held.lock();
        held.reserve(count, GFP_KERNEL)?;
        for &fd in fds.iter() {
            let attach = kernel::dma_buf::Attachment::new(kernel::dma_buf::DmaBuf::get(fd)?, dev)?;
            held.push(
                kernel::dma_buf::Mapping::new(attach, DataDirection::Bidirectional)?,
                GFP_KERNEL,
            )?;
        }
        Ok(0)
    }
}

#[vtable]
impl MiscDevice for BenchFile {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        KBox::try_pin_init(
            try_pin_init!(BenchFile {
                held <- kernel::new_mutex!(KVec::new()),
            }),
            GFP_KERNEL,
        )
    }

    fn ioctl(this: Pin<&BenchFile>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            IOC_RUN => BenchFile::run(arg),
            IOC_HOLD => this.hold(arg),
            _ => Err(ENOTTY),
        }
    }
}

#[pin_data]
struct BenchModule {
    #[pin]
    _misc: MiscDeviceRegistration<BenchFile>,
}

impl kernel::InPlaceModule for BenchModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _misc <- MiscDeviceRegistration::register(MiscDeviceOptions { name: c"uio-dmabuf-bench" }),
        })
    }
}
