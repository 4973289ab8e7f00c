// SPDX-License-Identifier: MIT OR Apache-2.0

//! Who controls the device's DMA: bus mastering is on only while `/dev/uioN`
//! is open, irqcontrol cannot switch it back on during unbind, and a process
//! that dies with a DMA in flight has its device stopped before its buffers
//! are freed.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use uio_dmabuf::affinity;
use uio_dmabuf::mmap::Mapping;

use crate::common::*;

/// Whether bus mastering is on for `pci`.
fn master_on(pci: &str) -> Result<bool, String> {
    Ok(pci_command(pci)? & sysfs::PCI_COMMAND_MASTER != 0)
}

pub(crate) fn t_bus_master_follows_uio_files(env: &Env) -> Outcome {
    let pci = env.first()?.to_string();
    check!(
        !master_on(&pci)?,
        "bus mastering on with no /dev/uioN open (command {:#x})",
        pci_command(&pci)?
    );
    let a = ok!(Uio::for_device(&pci));
    check!(master_on(&pci)?, "bus mastering off with /dev/uioN open");
    let b = ok!(Uio::for_device(&pci));
    drop(a);
    check!(
        master_on(&pci)?,
        "bus mastering off although a second /dev/uioN file is still open"
    );
    drop(b);
    check!(
        !master_on(&pci)?,
        "bus mastering still on after the last /dev/uioN file closed"
    );
    // Imports alive do not keep it on: only an open /dev/uioN does.
    let (dev, uio) = open_device(&pci)?;
    let buf = ok!(buffers::system_heap(8192));
    let imp = ok!(dev.import(&uio, &buf, Direction::ToDevice, ImportFlags::default()));
    drop(uio);
    check!(
        !master_on(&pci)?,
        "bus mastering on with an import alive but no /dev/uioN open"
    );
    let again = ok!(Uio::for_device(&pci));
    check!(
        master_on(&pci)?,
        "bus mastering not back on at the next open"
    );
    ok!(imp.sync_for_device());
    drop(imp);
    // Unbind clears it with a file open; after rebind it is off until opened.
    unbind(&pci)?;
    check!(!master_on(&pci)?, "bus mastering on after unbind");
    drop(again);
    bind(&pci)?;
    check!(
        !master_on(&pci)?,
        "bus mastering on after rebind, nothing open"
    );
    Ok(())
}

pub(crate) fn t_irqcontrol_cannot_undo_unbind(env: &Env) -> Outcome {
    // Two threads toggle the interrupt mask through irqcontrol, which
    // read-modify-writes the command register, while the device is unbound
    // with thousands of imports alive; a third polls the register. Once
    // unbind has cleared bus mastering it must stay cleared.
    let pci = env.first()?.to_string();
    // The race is on the command register, whatever maps the imports: the
    // default profile (edu's own 28-bit mask) runs eight rounds, the others
    // (IOMMU, bouncing, a wide mask) two, which spares the suite five minutes.
    let rounds = if env.iommu || env.swiotlb || env.mask_bits() != 28 {
        2
    } else {
        8
    };
    // Under swiotlb=force the guest keeps 82 MiB of its 256 for itself.
    let imports = if env.swiotlb { 1000 } else { 2000 };
    for round in 0..rounds {
        let dev = ok!(ImportDevice::open());
        let uio = ok!(Uio::for_device(&pci));
        let mut held = Vec::with_capacity(imports);
        for _ in 0..imports {
            let buf = ok!(buffers::system_heap(4096));
            let imp = ok!(dev.import(&uio, &buf, Direction::Bidirectional, ImportFlags::default()));
            held.push(imp.handle());
            std::mem::forget(imp);
        }
        let writers: Vec<Uio> = (0..2)
            .map(|_| Uio::for_device(&pci))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let config = ok!(fs::File::open(sysfs::pci_config_path(&pci)));
        let stop = AtomicBool::new(false);
        let unbound = AtomicBool::new(false);
        let verdict: Result<(u64, u64), String> =
            std::thread::scope(|s| {
                let toggles: Vec<_> = writers
                    .iter()
                    .map(|w| {
                        s.spawn(|| {
                            let mut n = 0u64;
                            while !stop.load(Relaxed) {
                                match w.irqcontrol((n & 1) as u32) {
                                    Ok(()) => {}
                                    // Unbind begun (ENODEV) or done (EINVAL:
                                    // UIO unregistered).
                                    Err(e) if [libc::ENODEV, libc::EINVAL].contains(&e.errno) => {}
                                    Err(e) => return Err(format!("irqcontrol: {e}")),
                                }
                                n += 1;
                            }
                            Ok(n)
                        })
                    })
                    .collect();
                let poller =
                    s.spawn(|| {
                        let (mut reads, mut cleared_at) = (0u64, None);
                        while !stop.load(Relaxed) {
                            let after_unbind = unbound.load(Relaxed);
                            let cmd = sysfs::read_pci_command(&config)
                                .map_err(|e| format!("read command: {e}"))?;
                            reads += 1;
                            let master = cmd & sysfs::PCI_COMMAND_MASTER != 0;
                            match (master, cleared_at) {
                                (false, None) => cleared_at = Some(reads),
                                (true, Some(at)) => {
                                    return Err(format!(
                                "bus mastering back on (command {cmd:#x}) at read {reads}, \
                                 cleared at read {at}{}",
                                if after_unbind { ", after unbind returned" } else { "" }
                            ))
                                }
                                _ => {}
                            }
                        }
                        match cleared_at {
                            Some(_) => Ok(reads),
                            None => Err("bus mastering never seen cleared".into()),
                        }
                    });
                std::thread::sleep(Duration::from_millis(50));
                let unbind_result = unbind(&pci);
                unbound.store(true, Relaxed);
                std::thread::sleep(Duration::from_millis(100));
                stop.store(true, Relaxed);
                let mut toggled = 0;
                for t in toggles {
                    toggled += t.join().map_err(|_| "writer panicked".to_string())??;
                }
                let reads = poller.join().map_err(|_| "poller panicked".to_string())??;
                unbind_result?;
                Ok((toggled, reads))
            });
        let rebound = bind(&pci);
        let (toggled, reads) = verdict.map_err(|e| format!("round {round}: {e}"))?;
        rebound?;
        check!(
            toggled > 0 && reads > 0,
            "round {round}: nothing raced ({toggled} writes, {reads} reads)"
        );
        drop(writers);
        drop(uio);
        for h in held {
            expect_errno(dev.sync(h, true), libc::ENODEV, "sync after unbind")?;
        }
    }
    Ok(())
}

/// Kernel log lines of IOMMU (DMAR) faults so far.
fn dmar_faults() -> Result<usize, String> {
    Ok(sh("dmesg")?
        .lines()
        .filter(|l| l.contains("DMAR: [DMA"))
        .count())
}

/// The child of one round: fills edu's buffer with `pattern`, programs a
/// device-to-memory transfer of it into a fresh system-heap import without
/// waiting, tells the parent through `ready`, and waits to be killed.
fn doomed_importer(pci: &str, pattern: &[u8], ready: i32) -> ! {
    let programmed = (|| -> uio_dmabuf::Result<()> {
        let dev = ImportDevice::open()?;
        let uio = Uio::for_device(pci)?;
        let edu = Edu::new(&uio)?;
        let (src, memfd) = buffers::udmabuf_with_memfd(page_size(), false)?;
        std::os::unix::fs::FileExt::write_all_at(&memfd, pattern, 0)
            .map_err(|e| uio_dmabuf::Error::from_io("write memfd", &e))?;
        let src_imp = dev.import(&uio, &src, Direction::ToDevice, ImportFlags::default())?;
        src_imp.sync_for_device()?;
        edu.dma(src_imp.segments()[0].dma_addr, 0, pattern.len(), false)?;
        let dst = buffers::system_heap(page_size())?;
        let dst_imp = dev.import(&uio, &dst, Direction::FromDevice, ImportFlags::default())?;
        dst_imp.sync_for_device()?;
        edu.start_dma(
            dst_imp.segments()[0].dma_addr,
            0,
            pattern.len(),
            true,
            false,
        )?;
        // Everything stays open until the kill.
        std::mem::forget((src_imp, dst_imp));
        std::mem::forget((dev, uio, src, memfd, dst));
        Ok(())
    })();
    let byte = [u8::from(programmed.is_ok())];
    // SAFETY: One byte to our pipe.
    unsafe { libc::write(ready, byte.as_ptr().cast(), 1) };
    loop {
        // SAFETY: Waits for the SIGKILL.
        unsafe { libc::pause() };
    }
}

/// Fresh system-heap buffers of one page each, mapped for reading: the pages
/// come from the free lists (unmovable, like every heap page) that a dead
/// importer's heap buffer went back to.
fn fresh_heap_pages(count: usize) -> Result<Vec<(OwnedFd, Mapping)>, String> {
    (0..count)
        .map(|_| {
            let fd = buffers::system_heap(page_size()).map_err(|e| e.to_string())?;
            let map = Mapping::file_read_only(&fd, page_size()).map_err(|e| e.to_string())?;
            Ok((fd, map))
        })
        .collect()
}

/// How many of `pages` start with `pattern`.
fn pages_with(pages: &[(OwnedFd, Mapping)], pattern: &[u8]) -> usize {
    pages
        .iter()
        .filter(|(_, map)| {
            // SAFETY: `map` is a readable mapping of at least `pattern.len()`
            // bytes, written only by the device, if at all.
            let bytes = unsafe { std::slice::from_raw_parts(map.as_ptr(), pattern.len()) };
            bytes == pattern
        })
        .count()
}

pub(crate) fn t_dma_stopped_when_the_importer_dies(env: &Env) -> Outcome {
    let pci = env.first()?.to_string();
    // On CPU 0, children too: pages a dying child frees land on the per-CPU
    // free list the next allocation here takes from.
    affinity::pin_thread_to_cpu0().map_err(|e| format!("sched_setaffinity: {e}"))?;
    let result = importer_dies_rounds(env, &pci);
    affinity::unpin_thread();
    result
}

fn importer_dies_rounds(env: &Env, pci: &str) -> Outcome {
    let faults_before = dmar_faults()?;
    // Round 0-4: the child holds the only /dev/uioN file; 5-9: this process
    // holds one too, so the device stays in use while the child's imports
    // must stay mapped.
    for round in 0..10u32 {
        let holder = if round >= 5 {
            Some(ok!(Uio::for_device(pci)))
        } else {
            None
        };
        // SAFETY: Plain syscall.
        let seed = unsafe { libc::getpid() } as u32 ^ round.wrapping_mul(0x9e37_79b9);
        let pattern: Vec<u8> = (0..edu::MAX_TRANSFER as u32)
            .map(|i| (seed.wrapping_add(i.wrapping_mul(31)) >> 3) as u8 | 1)
            .collect();
        let (ready_r, ready_w) = ok!(testing::pipe());
        // SAFETY: The child only makes syscalls and never returns.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err("fork failed".into());
        }
        if pid == 0 {
            doomed_importer(pci, &pattern, ready_w.as_raw_fd());
        }
        let mut byte = [0u8];
        // SAFETY: One byte from our pipe.
        let n = unsafe { libc::read(ready_r.as_raw_fd(), byte.as_mut_ptr().cast(), 1) };
        // SAFETY: Our child; killed the moment its transfer is programmed.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        fault_injected();
        let mut status = 0;
        // SAFETY: Reaping our child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        check!(
            n == 1 && byte[0] == 1,
            "round {round}: the child could not program the transfer"
        );
        // Fresh pages, taken from the free lists the child's pages went to.
        let fresh = fresh_heap_pages(256)?;
        // edu runs the transfer ~100 ms after it was programmed.
        let deadline = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < deadline {
            let hit = pages_with(&fresh, &pattern[..256]);
            check!(
                hit == 0,
                "round {round}: the device's data landed in {hit} page(s) freshly \
                 allocated after its importer was killed{}",
                if holder.is_some() {
                    " (another process holding /dev/uioN)"
                } else {
                    ""
                }
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let alive = counter("imports_alive")?;
        match &holder {
            // Mastering went off with the child's file; its imports are gone.
            None => check!(
                alive == 0,
                "round {round}: {alive} imports alive after the only importer died"
            ),
            // The device is still open here: the child's imports stay mapped
            // until the last /dev/uioN file closes.
            Some(_) => check!(
                alive == 2,
                "round {round}: {alive} imports alive, expected the dead child's 2 \
                 kept while /dev/uioN is open"
            ),
        }
        drop(holder);
        check!(
            counter("imports_alive")? == 0 && counter("bytes_mapped")? == 0,
            "round {round}: imports left after the last /dev/uioN closed: {:?}",
            summary()?
        );
        // The transfer is over (dropped or landed in the kept buffer); edu is
        // idle for the next round.
        let uio = ok!(Uio::for_device(pci));
        let edu = ok!(Edu::new(&uio));
        check!(!ok!(edu.dma_running()), "round {round}: edu still busy");
    }
    if env.iommu {
        let faults = dmar_faults()? - faults_before;
        check!(faults == 0, "{faults} DMAR fault(s) logged by the IOMMU");
    }
    Ok(())
}
