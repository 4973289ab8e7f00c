// SPDX-License-Identifier: MIT OR Apache-2.0

//! Processes and privileges: unprivileged callers, kill -9, memory back to its
//! baseline.

use crate::common::*;

/// Runs `f` in a forked child; returns its exit status (0 = success).
pub(crate) fn in_child(f: impl FnOnce() -> i32) -> Result<i32, String> {
    // SAFETY: The child runs `f` and leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err("fork failed".into());
    }
    if pid == 0 {
        let code = f();
        // SAFETY: Leave without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: Reaping our child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128
    })
}

/// Drops to user and group `nobody` (65534).
pub(crate) fn become_nobody() -> bool {
    // SAFETY: Plain syscalls on the calling process.
    unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setgid(65534) == 0
            && libc::setuid(65534) == 0
    }
}

pub(crate) fn t_unprivileged_needs_the_uio_node(env: &Env) -> Outcome {
    let pci = env.first()?;
    let uio_name = ok!(Uio::for_device(pci)).name().to_string();
    // /dev/uio-dmabuf open to all, /dev/uioN root-only: the uio node is the
    // capability.
    sh(&format!("chmod 0666 /dev/uio-dmabuf /dev/udmabuf /dev/dma_heap/system && chmod 0600 /dev/{uio_name}"))?;
    let imports_before = counter("imports_total")?;
    let denied = in_child(|| {
        if !become_nobody() {
            return 10;
        }
        let Ok(dev) = ImportDevice::open() else {
            return 11;
        };
        if Uio::open(&uio_name).map(|_| ()).map_err(|e| e.errno) != Err(libc::EACCES) {
            return 12;
        }
        let Ok(buf) = buffers::system_heap(4096) else {
            return 13;
        };
        let null = fs::File::open("/dev/null").expect("/dev/null");
        // Whatever fd it passes, nothing names the device.
        for fd in [
            null.as_raw_fd(),
            buf.as_raw_fd(),
            dev.fd().as_raw_fd(),
            3,
            4,
            5,
            6,
            7,
            8,
            9,
        ] {
            let mut a = uapi::uio_dmabuf_import {
                uio_fd: fd,
                dmabuf_fd: buf.as_raw_fd(),
                ..Default::default()
            };
            // SAFETY: Matching struct.
            if unsafe { ioctl(dev.fd(), uapi::IOC_IMPORT, &mut a, "IMPORT") }.is_ok() {
                return 14;
            }
        }
        0
    })?;
    check!(denied == 0, "unprivileged child: step {denied} went wrong");
    check!(
        counter("imports_total")? == imports_before,
        "an unprivileged import happened"
    );
    // The capability travels with the fd: opened as root, used after dropping
    // privileges, it works.
    let uio = ok!(Uio::open(&uio_name));
    let granted = in_child(move || {
        if !become_nobody() {
            return 10;
        }
        let (Ok(dev), Ok(buf)) = (ImportDevice::open(), buffers::system_heap(4096)) else {
            return 11;
        };
        let imported = dev
            .import(&uio, &buf, Direction::ToDevice, ImportFlags::default())
            .is_ok();
        if imported {
            0
        } else {
            12
        }
    })?;
    check!(
        granted == 0,
        "child holding the uio fd: step {granted} went wrong"
    );
    Ok(())
}

pub(crate) fn t_kill_9_releases_everything(env: &Env) -> Outcome {
    let pci = env.first()?.to_string();
    let children = 60;
    let mut pids = Vec::new();
    let (ready_r_fd, ready_w_fd) = ok!(testing::pipe());
    let (ready_r, ready_w) = (ready_r_fd.as_raw_fd(), ready_w_fd.as_raw_fd());
    for i in 0..children {
        // SAFETY: The child only makes syscalls, then blocks until killed.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let ok = (|| -> Option<()> {
                let dev = ImportDevice::open().ok()?;
                let uio = Uio::for_device(&pci).ok()?;
                let mut held = Vec::new();
                for k in 0..4 {
                    let buf = if (i + k) % 2 == 0 {
                        buffers::system_heap(8192)
                    } else {
                        buffers::udmabuf(2 * page_size(), true)
                    };
                    let buf = buf.ok()?;
                    held.push(
                        dev.import(&uio, &buf, Direction::Bidirectional, ImportFlags::default())
                            .ok()?,
                    );
                }
                std::mem::forget(held);
                std::mem::forget(dev);
                Some(())
            })();
            // SAFETY: Writing one byte to our pipe.
            unsafe { libc::write(ready_w, [u8::from(ok.is_some())].as_ptr().cast(), 1) };
            loop {
                // SAFETY: Waits for the SIGKILL.
                unsafe { libc::pause() };
            }
        }
        pids.push(pid);
    }
    let mut ready = 0;
    for _ in 0..children {
        let mut b = [0u8];
        // SAFETY: Reading one byte from our pipe.
        if unsafe { libc::read(ready_r, b.as_mut_ptr().cast(), 1) } == 1 && b[0] == 1 {
            ready += 1;
        }
    }
    let alive = counter("imports_alive")?;
    for &pid in &pids {
        // SAFETY: Our children.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        fault_injected();
    }
    for &pid in &pids {
        let mut status = 0;
        // SAFETY: Reaping our children.
        unsafe { libc::waitpid(pid, &mut status, 0) };
    }
    check!(
        ready == children,
        "only {ready} of {children} children imported"
    );
    check!(
        alive == 4 * children as u64,
        "{alive} imports alive before the kill, expected {}",
        4 * children
    );
    check!(
        counter("imports_alive")? == 0 && counter("bytes_mapped")? == 0,
        "after kill -9: {:?}",
        summary()?
    );
    check!(attachments_of(&pci)? == 0, "attachments left after kill -9");
    Ok(())
}

/// Free memory and `SUnreclaim`, in KiB: free is `MemAvailable` from
/// /proc/meminfo plus the pages parked in the per-CPU free lists (the
/// `count:` of each pageset in /proc/zoneinfo). Those pages are free, but the
/// page allocator leaves them out of its free counters until they go back to
/// the buddy lists, and since Linux 6.7 the lists grow under bursts of frees
/// (auto-tuned `high`) and shrink only over the following seconds: after a
/// round of imports they hold megabytes that MemAvailable alone reports as
/// gone.
pub(crate) fn meminfo() -> Result<(i64, i64), String> {
    let text = fs::read_to_string("/proc/meminfo").map_err(|e| e.to_string())?;
    let get = |key: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(key).map(|v| {
                    v.trim()
                        .trim_end_matches(" kB")
                        .parse::<i64>()
                        .unwrap_or(-1)
                })
            })
            .ok_or(format!("no {key} in /proc/meminfo"))
    };
    let zoneinfo = fs::read_to_string("/proc/zoneinfo").map_err(|e| e.to_string())?;
    let pcp_pages: i64 = zoneinfo
        .lines()
        .filter_map(|l| l.trim().strip_prefix("count:"))
        .map(|v| v.trim().parse::<i64>().unwrap_or(0))
        .sum();
    let pcp_kib = pcp_pages * (page_size() as i64 / 1024);
    Ok((get("MemAvailable:")? + pcp_kib, get("SUnreclaim:")?))
}

pub(crate) fn t_memory_back_to_baseline(env: &Env) -> Outcome {
    // Rounds of 150 imports of 64 KiB buffers (released one by one, or held
    // and dropped by closing the file). After a warm-up round, three more
    // rounds may not eat memory: a leaked dma-buf reference would hold ~9 MiB
    // per round, leaked driver objects show in unreclaimable slab. (The
    // tolerances absorb KASAN's quarantine of freed objects.)
    let pci = env.first()?;
    let uio = ok!(Uio::for_device(pci));
    let round = |hold: bool| -> Outcome {
        let dev = ok!(ImportDevice::open());
        let mut held = Vec::new();
        for i in 0..150 {
            let buf = if i % 3 == 0 {
                ok!(buffers::udmabuf(16 * page_size(), true))
            } else {
                ok!(buffers::system_heap(65536))
            };
            let imp = ok!(dev.import(&uio, &buf, Direction::Bidirectional, ImportFlags::default()));
            if hold {
                held.push(imp.handle());
                std::mem::forget(imp);
            } else {
                ok!(imp.release());
            }
        }
        drop(dev);
        Ok(())
    };
    round(false)?;
    round(true)?;
    let (avail0, slab0) = meminfo()?;
    for _ in 0..3 {
        round(false)?;
        round(true)?;
    }
    let (avail1, slab1) = meminfo()?;
    println!("memory: MemAvailable + per-CPU free lists {avail0} -> {avail1} KiB, SUnreclaim {slab0} -> {slab1} KiB over 900 imports");
    check!(
        avail0 - avail1 < 4096,
        "MemAvailable (with the per-CPU free lists) fell by {} KiB over 900 imports",
        avail0 - avail1
    );
    check!(
        slab1 - slab0 < 2048,
        "unreclaimable slab grew by {} KiB over 900 imports",
        slab1 - slab0
    );
    check!(
        counter("imports_alive")? == 0 && attachments_of(pci)? == 0,
        "imports left"
    );
    Ok(())
}
