// SPDX-License-Identifier: GPL-2.0

//! Live counters, published in debugfs under `/sys/kernel/debug/uio_dmabuf/`:
//!
//! - `summary`: `imports_alive`, `bytes_mapped` (imports whose mapping exists
//!   right now, and their dma-buf sizes), `imports_total` and `releases_total`
//!   (mappings created and torn down since load, by RELEASE, close, unbind or an
//!   undone import), `errors_total` (ioctls that returned an error), and
//!   `orphans`, `orphaned_imports`, `orphaned_bytes`: files closed by dying
//!   processes and the imports they keep mapped until their devices' last
//!   `/dev/uioN` closes (see [`crate::file`]);
//! - `devices`: one line per bound device: PCI address or platform device
//!   name, device number of its `/dev/uioN`, `imports` and `bytes` alive on it.
//!
//! Tests use them to prove "back to zero"; users to see what a process holds.

use core::fmt;
use kernel::{
    debugfs::{
        Dir,
        File, //
    },
    prelude::*,
    sync::atomic::{
        Acquire,
        Atomic,
        Relaxed,
        Release, //
    },
};

use crate::registry;

/// Module-wide counters. `imports_alive` is `imports_total - releases_total`:
/// an update fewer per mapping and unmapping (each an atomic operation).
pub(crate) struct Counters {
    bytes_mapped: Atomic<u64>,
    imports_total: Atomic<u64>,
    releases_total: Atomic<u64>,
    errors_total: Atomic<u64>,
}

/// The counters of this module instance.
pub(crate) static COUNTERS: Counters = Counters {
    bytes_mapped: Atomic::new(0),
    imports_total: Atomic::new(0),
    releases_total: Atomic::new(0),
    errors_total: Atomic::new(0),
};

impl Counters {
    /// A mapping of `bytes` was created.
    pub(crate) fn mapped(&self, bytes: u64) {
        self.bytes_mapped.add(bytes, Relaxed);
        self.imports_total.add(1u64, Relaxed);
    }

    /// A mapping of `bytes` was torn down.
    pub(crate) fn unmapped(&self, bytes: u64) {
        self.bytes_mapped.fetch_sub(bytes, Relaxed);
        // Release: a reader that sees this release sees its import counted.
        self.releases_total.fetch_add(1u64, Release);
    }

    /// An ioctl failed.
    pub(crate) fn error(&self) {
        self.errors_total.add(1u64, Relaxed);
    }

    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Releases first, so the difference cannot go below zero: a mapping
        // made and torn down between the two reads counts as alive once.
        let releases = self.releases_total.load(Acquire);
        let imports = self.imports_total.load(Relaxed);
        writeln!(f, "imports_alive {}", imports.saturating_sub(releases))?;
        writeln!(f, "bytes_mapped {}", self.bytes_mapped.load(Relaxed))?;
        writeln!(f, "imports_total {imports}")?;
        writeln!(f, "releases_total {releases}")?;
        writeln!(f, "errors_total {}", self.errors_total.load(Relaxed))
    }
}

/// Writes debugfs `summary`: the counters, then the orphans' share.
fn show_summary(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    // Not one snapshot: the orphans are summed before the counters are read,
    // so an import whose file turns orphan meanwhile counts as alive and not
    // orphaned, as if its process were still alive.
    let (mut files, mut imports, mut bytes) = (0u64, 0u64, 0u64);
    registry::for_each_file(|file| {
        if let Some((n, b)) = file.orphaned() {
            files += 1;
            imports += u64::from(n);
            bytes += b;
        }
    });
    COUNTERS.show(f)?;
    writeln!(f, "orphans {files}")?;
    writeln!(f, "orphaned_imports {imports}")?;
    writeln!(f, "orphaned_bytes {bytes}")
}

/// Per-device counters, kept in the device's state.
pub(crate) struct DeviceCounters {
    imports: Atomic<u64>,
    bytes: Atomic<u64>,
}

impl DeviceCounters {
    pub(crate) const fn new() -> Self {
        Self {
            imports: Atomic::new(0),
            bytes: Atomic::new(0),
        }
    }

    /// A mapping of `bytes` was created on this device (and module-wide).
    pub(crate) fn mapped(&self, bytes: u64) {
        self.imports.add(1u64, Relaxed);
        self.bytes.add(bytes, Relaxed);
        COUNTERS.mapped(bytes);
    }

    /// A mapping of `bytes` on this device was torn down.
    pub(crate) fn unmapped(&self, bytes: u64) {
        self.imports.fetch_sub(1u64, Relaxed);
        self.bytes.fetch_sub(bytes, Relaxed);
        COUNTERS.unmapped(bytes);
    }

    /// `imports N bytes N`.
    pub(crate) fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "imports {} bytes {}",
            self.imports.load(Relaxed),
            self.bytes.load(Relaxed)
        )
    }
}

/// The debugfs directory and its files; removed when dropped.
#[pin_data]
pub(crate) struct Debugfs {
    #[pin]
    _summary: File<()>,
    #[pin]
    _devices: File<()>,
    _dir: Dir,
}

impl Debugfs {
    /// Creates `/sys/kernel/debug/uio_dmabuf/` (nothing if debugfs is off).
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        let dir = Dir::new(c"uio_dmabuf");
        try_pin_init!(Self {
            _summary <- dir.read_callback_file(c"summary", (), &|(): &(), f| show_summary(f)),
            _devices <- dir.read_callback_file(
                c"devices",
                (),
                &|(): &(), f| registry::show_devices(f)
            ),
            _dir: dir,
        })
    }
}
