// SPDX-License-Identifier: GPL-2.0

//! `/dev/uio-dmabuf`: per-open-file import tables and the ioctl dispatch.
//!
//! Every import belongs to the open file that created it. A live process that
//! closes the file releases them all at once (a DMA still in flight into them
//! is its error, as with RELEASE). When the file goes because its process died
//! (or its last reference is dropped by a kernel thread), nobody stopped the
//! devices: an import of a device whose `/dev/uioN` is still open somewhere
//! stays mapped, the file an *orphan* in the registry, until that device's last
//! `/dev/uioN` file closes, which turns bus mastering off first (see
//! [`crate::state`]), or the device is unbound. Imports of devices nobody
//! holds open, whose bus mastering is off already, are released at once.
//!
//! Locks: a file's table lock is held only to look up, insert or remove
//! entries, never across dma-buf calls or user copies; an import's own lock
//! guards its mapping (see [`crate::import`]); a device's DMA-control lock is
//! taken before both.

use kernel::{
    fs::File,
    miscdevice::{
        MiscDevice,
        MiscDeviceRegistration, //
    },
    new_mutex,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        ArcBorrow,
        Mutex,
        MutexGuard, //
    },
    transmute::{
        AsBytes,
        FromBytes, //
    },
    uaccess::{
        UserPtr,
        UserSlice,
        UserSliceWriter, //
    },
};

use crate::{
    abi::{
        self,
        ImportArgs,
        InfoArgs,
        ReleaseArgs,
        SegmentsArgs,
        SyncArgs, //
    },
    handles::{
        HandleNode,
        HandleTable,
        Limits, //
    },
    import::{
        Import,
        Revoked, //
    },
    registry::{
        self,
        Access, //
    },
    segments::Segment,
    state::DeviceState,
    stats::COUNTERS,
};

/// An open file of `/dev/uio-dmabuf`.
#[pin_data]
pub(crate) struct OpenFile {
    /// Registration number in the [`registry`].
    id: u64,
    /// Released by a dying process, with imports kept for devices still open
    /// (module docs). Set under the table lock.
    orphan: Atomic<bool>,
    /// The table's limits (immutable).
    limits: Limits,
    /// The table's count of imports as of its last unlock (see
    /// [`OpenFile::table`]): IMPORT's early check reads it without the lock.
    live: Atomic<u32>,
    #[pin]
    table: Mutex<HandleTable<Arc<Import>>>,
}

/// The locked handle table of an [`OpenFile`]; publishes its count on unlock.
struct Table<'a> {
    guard: MutexGuard<'a, HandleTable<Arc<Import>>>,
    live: &'a Atomic<u32>,
}

impl core::ops::Deref for Table<'_> {
    type Target = HandleTable<Arc<Import>>;

    fn deref(&self) -> &Self::Target {
        &self.guard
    }
}

impl core::ops::DerefMut for Table<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.guard
    }
}

impl Drop for Table<'_> {
    fn drop(&mut self) {
        self.live.store(self.guard.count(), Relaxed);
    }
}

/// The per-file limits, from the module parameters.
fn limits() -> Limits {
    Limits {
        max_entries: crate::module_parameters::max_imports.value(),
        max_bytes: crate::module_parameters::max_mapped_bytes.value(),
    }
}

/// Copies `value` out to the user struct at `arg`.
fn write_out<T: AsBytes>(arg: usize, value: &T) -> Result {
    UserSlice::new(UserPtr::from_addr(arg), size_of::<T>())
        .writer()
        .write(value)
}

/// Copies the user struct at `arg` in.
fn read_in<T: FromBytes>(arg: usize) -> Result<T> {
    UserSlice::new(UserPtr::from_addr(arg), size_of::<T>())
        .reader()
        .read()
}

/// Writes `segments` to the user array at `ptr`.
fn write_segments(ptr: usize, segments: &[Segment]) -> Result {
    if segments.is_empty() {
        return Ok(());
    }
    let mut w: UserSliceWriter =
        UserSlice::new(UserPtr::from_addr(ptr), size_of_val(segments)).writer();
    w.write_slice(segments.as_bytes())
}

impl OpenFile {
    /// Locks the handle table; every access goes through here.
    fn table(&self) -> Table<'_> {
        Table {
            guard: self.table.lock(),
            live: &self.live,
        }
    }

    /// The import named `handle` in this file: `ENOENT` if there is none.
    fn lookup(&self, handle: u32) -> Result<Arc<Import>> {
        self.table().get(handle).cloned().ok_or(ENOENT)
    }

    fn info(&self, arg: usize) -> Result {
        let mut args: InfoArgs = read_in(arg)?;
        let dev = registry::device_for_uio_fd(abi::info_request(&args)?, Access::Read)?;
        let dma = dev.dma();
        let limits = self.limits;
        let device_limits = dev.limits();
        args.abi_version = abi::ABI_VERSION;
        args.dma_mask = dma.mask;
        args.max_segment_size = dma.max_segment_size.into();
        args.flags = [
            (dma.translated, abi::INFO_IOMMU),
            (dma.unreachable_memory, abi::INFO_UNREACHABLE_MEMORY),
            (!dma.coherent, abi::INFO_NONCOHERENT),
        ]
        .iter()
        .filter(|(set, _)| *set)
        .fold(0, |flags, (_, flag)| flags | flag);
        args.max_imports = limits.max_entries;
        args.max_mapped_bytes = limits.max_bytes;
        args.max_device_imports = device_limits.max_entries;
        args.max_device_mapped_bytes = device_limits.max_bytes;
        write_out(arg, &args)
    }

    fn import(&self, arg: usize) -> Result {
        let mut args: ImportArgs = read_in(arg)?;
        let req = abi::import_request(&args)?;
        // Fail early, before any work, when the file is full; decided on
        // insertion, under the table lock.
        if self.live.load(Relaxed) >= self.limits.max_entries {
            return Err(ENOSPC);
        }
        let dev = registry::device_for_uio_fd(req.uio_fd, Access::Write)?;
        let node = HandleNode::new()?;
        let import = Import::new(dev, &req)?;
        let size = import.size();
        // Into the table only while the device admits mappings, checked under
        // the table lock: unbind, which stops admitting first, then finds it
        // there (see `crate::state`). Nothing is copied to userspace before:
        // unbind waits for an IMPORT in flight (its mapping slot), and a copy
        // may block on a page fault for as long as userspace wants; from the
        // table, unbind revokes it.
        let handle = {
            let mut table = self.table();
            if !import.device().admits_mappings() {
                return Err(ENODEV);
            }
            table.insert(node, size, import.clone())?
        };
        let copied = (|| {
            let segments = import.segments_as_mapped();
            let shown = segments.len().min(req.capacity as usize);
            write_segments(req.segments, &segments[..shown])?;
            args.handle = handle;
            args.size = size;
            args.nr_segments = u32::try_from(segments.len())?;
            write_out(arg, &args)
        })();
        if let Err(e) = copied {
            // Userspace never learnt of the import: undo it, unless another
            // thread of the process released the handle meanwhile (and the
            // handle may name a newer import by now). Taken out of the table
            // first, so the table lock is released before the teardown calls
            // into the exporter.
            if let Some(import) = self.take(handle, &import) {
                import.revoke(Revoked::Released);
            }
            return Err(e);
        }
        Ok(())
    }

    fn segments(&self, arg: usize) -> Result {
        let mut args: SegmentsArgs = read_in(arg)?;
        let (handle, first, ptr, capacity) = abi::segments_request(&args)?;
        let import = self.lookup(handle)?;
        let segments = import.segments()?;
        let first = first as usize;
        if first > segments.len() {
            return Err(EINVAL);
        }
        let count = (segments.len() - first).min(capacity as usize);
        write_segments(ptr, &segments[first..first + count])?;
        args.count = u32::try_from(count)?;
        args.nr_segments = u32::try_from(segments.len())?;
        write_out(arg, &args)
    }

    fn sync(&self, arg: usize) -> Result {
        let args: SyncArgs = read_in(arg)?;
        let (handle, target) = abi::sync_request(&args)?;
        self.lookup(handle)?.sync(target)
    }

    fn release(&self, arg: usize) -> Result {
        let args: ReleaseArgs = read_in(arg)?;
        let handle = abi::release_request(&args)?;
        let import = self.table().remove(handle).ok_or(ENOENT)?;
        import.revoke(Revoked::Released);
        Ok(())
    }

    /// The import with the lowest handle at or after `from`.
    fn next_import(&self, from: u32) -> Option<(u32, Arc<Import>)> {
        let table = self.table();
        let handle = table.find_from(from, |_| true)?;
        Some((handle, table.get(handle)?.clone()))
    }

    /// Calls `f` on every import of this file in handle order, without holding
    /// the table lock across `f`.
    fn for_each_import(&self, mut f: impl FnMut(u32, &Arc<Import>)) {
        let mut next = 0u32;
        while let Some((handle, import)) = self.next_import(next) {
            f(handle, &import);
            match handle.checked_add(1) {
                Some(n) => next = n,
                None => return,
            }
        }
    }

    /// Takes `import` out of the table if `handle` still names it.
    fn take(&self, handle: u32, import: &Arc<Import>) -> Option<Arc<Import>> {
        let mut table = self.table();
        match table.get(handle) {
            Some(entry) if Arc::ptr_eq(entry, import) => table.remove(handle),
            _ => None,
        }
    }

    /// An orphan whose last import is gone leaves the registry.
    fn unregister_if_done(&self) {
        if self.orphan.load(Relaxed) && self.table().is_empty() {
            registry::remove_file(self.id);
        }
    }

    /// If this file is an orphan: the number of imports it keeps mapped and
    /// the sum of their sizes (debugfs `summary`).
    pub(crate) fn orphaned(&self) -> Option<(u32, u64)> {
        let table = self.table();
        self.orphan
            .load(Relaxed)
            .then(|| (table.count(), table.bytes()))
    }

    /// Revokes this file's imports of `dev` (unbind): they answer `ENODEV`
    /// until released; an orphan's are taken out of its table as well.
    pub(crate) fn revoke_device(&self, dev: &DeviceState) {
        let orphan = self.orphan.load(Relaxed);
        self.for_each_import(|handle, import| {
            if !core::ptr::eq::<DeviceState>(&**import.device(), dev) {
                return;
            }
            if orphan {
                self.take(handle, import);
            }
            import.revoke(Revoked::Unbound);
        });
        self.unregister_if_done();
    }

    /// If this file is an orphan, releases its imports of `dev`, whose last
    /// `/dev/uioN` file just closed (bus mastering is off). Called under
    /// `dev`'s DMA-control lock.
    pub(crate) fn release_orphans_of(&self, dev: &DeviceState) {
        if !self.orphan.load(Relaxed) {
            return;
        }
        self.for_each_import(|handle, import| {
            if core::ptr::eq::<DeviceState>(&**import.device(), dev) {
                if let Some(import) = self.take(handle, import) {
                    import.revoke(Revoked::Released);
                }
            }
        });
        self.unregister_if_done();
    }

    /// Close by a dying process: releases the imports of devices nobody holds
    /// open (or being unbound) now, keeps the others (module docs).
    fn orphan(&self) {
        {
            let _table = self.table();
            self.orphan.store(true, Relaxed);
        }
        self.for_each_import(|handle, import| {
            // Under the device's DMA-control lock: either its last
            // `/dev/uioN` file closed before (mastering is off, release now) or
            // it closes after and finds this file an orphan.
            let checked = import.device().control(|control| {
                if !control.in_use() {
                    if let Some(import) = self.take(handle, import) {
                        import.revoke(Revoked::Released);
                    }
                }
            });
            // Unbind has begun: mastering is off; it would revoke it anyway.
            if checked.is_err() {
                if let Some(import) = self.take(handle, import) {
                    import.revoke(Revoked::Released);
                }
            }
        });
        self.unregister_if_done();
    }
}

#[vtable]
impl MiscDevice for OpenFile {
    type Ptr = Arc<OpenFile>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Arc<Self>> {
        let file_limits = limits();
        let file = Arc::pin_init(
            try_pin_init!(OpenFile {
                id: registry::new_file_id(),
                orphan: Atomic::new(false),
                limits: file_limits,
                live: Atomic::new(0),
                table <- new_mutex!(HandleTable::new(file_limits)),
            }),
            GFP_KERNEL,
        )?;
        registry::add_file(file.id, file.clone())?;
        Ok(file)
    }

    fn release(this: Arc<Self>, _file: &File) {
        if kernel::task::current_is_exiting() {
            this.orphan();
            return;
        }
        registry::remove_file(this.id);
        loop {
            let Some(import) = this.table().pop_first() else {
                break;
            };
            import.revoke(Revoked::Released);
        }
    }

    fn ioctl(this: ArcBorrow<'_, Self>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let result = match cmd {
            abi::IOC_INFO => this.info(arg),
            abi::IOC_IMPORT => this.import(arg),
            abi::IOC_SEGMENTS => this.segments(arg),
            abi::IOC_SYNC => this.sync(arg),
            abi::IOC_RELEASE => this.release(arg),
            _ => Err(ENOTTY),
        };
        if result.is_err() {
            COUNTERS.error();
        }
        result.map(|()| 0)
    }
}
