// SPDX-License-Identifier: MIT OR Apache-2.0

//! Concurrency: threads on one fd, fds replaced under importers, unbind during
//! imports.

use crate::common::*;

/// One worker's loop: import, read segments, sync both ways, release. Errors
/// other than `allowed` fail the test.
pub(crate) fn churn(
    dev: &ImportDevice,
    uio: &Uio,
    rounds: usize,
    allowed: &[i32],
) -> Result<usize, String> {
    let mut done = 0;
    for i in 0..rounds {
        let buf = if i % 2 == 0 {
            buffers::system_heap(8192)
        } else {
            buffers::udmabuf(4 * page_size(), true)
        };
        let buf = ok!(buf);
        let step = (|| {
            let imp = dev.import(uio, &buf, Direction::Bidirectional, ImportFlags::default())?;
            dev.segments(imp.handle(), 0, 4)?;
            imp.sync_for_device()?;
            imp.sync_for_cpu()?;
            imp.release()
        })();
        match step {
            Ok(()) => done += 1,
            Err(e) if allowed.contains(&e.errno) => {}
            Err(e) => return Err(format!("round {i}: {e}")),
        }
    }
    Ok(done)
}

pub(crate) fn t_threads_share_one_fd(env: &Env) -> Outcome {
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let results: Vec<Result<usize, String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|_| s.spawn(|| churn(&dev, &uio, 25, &[])))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or(Err("worker panicked".into())))
            .collect()
    });
    for r in results {
        check!(r? == 25, "a worker lost rounds");
    }
    check!(attachments_of(pci)? == 0, "attachments left");
    Ok(())
}

pub(crate) fn t_fds_closed_and_dup_ed_under_importers(env: &Env) -> Outcome {
    // 6 threads import from a shared fd number while 2 others keep replacing
    // the buffer behind it (dup2 over it, close, reopen): every import either
    // works or fails with a documented errno, and nothing is left behind.
    use std::sync::atomic::{AtomicBool, AtomicI32, Ordering::Relaxed};
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let first = ok!(buffers::system_heap(8192));
    let shared = AtomicI32::new(first.as_raw_fd());
    let stop = AtomicBool::new(false);
    let results: Vec<Result<usize, String>> = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for _ in 0..6 {
            handles.push(s.spawn(|| {
                let mut ok_count = 0;
                while !stop.load(Relaxed) {
                    let fd = shared.load(Relaxed);
                    let mut a = uapi::uio_dmabuf_import {
                        uio_fd: uio.as_fd().as_raw_fd(),
                        dmabuf_fd: fd,
                        direction: uapi::UIO_DMABUF_DIR_BIDIRECTIONAL,
                        ..Default::default()
                    };
                    // SAFETY: Matching struct.
                    match unsafe { ioctl(dev.fd(), uapi::IOC_IMPORT, &mut a, "IMPORT") } {
                        Ok(_) => {
                            ok_count += 1;
                            let _ = dev.sync(a.handle, true);
                            dev.release(a.handle).map_err(|e| format!("release: {e}"))?;
                        }
                        Err(e)
                            if [libc::EBADF, libc::EINVAL, libc::EEXIST, libc::ENODEV]
                                .contains(&e.errno) => {}
                        Err(e) => return Err(format!("import from a churned fd: {e}")),
                    }
                }
                Ok(ok_count)
            }));
        }
        for _ in 0..2 {
            handles.push(s.spawn(|| {
                for i in 0..40 {
                    let Ok(next) = (if i % 2 == 0 {
                        buffers::system_heap(8192)
                    } else {
                        buffers::udmabuf(2 * page_size(), true)
                    }) else {
                        return Err("allocating a dma-buf".to_string());
                    };
                    let target = shared.load(Relaxed);
                    // Atomically replace whatever the shared number names.
                    // SAFETY: dup2 onto a number this test owns (the first buffer's).
                    unsafe { libc::dup2(next.as_raw_fd(), target) };
                    drop(next);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Ok(0)
            }));
        }
        std::thread::sleep(std::time::Duration::from_millis(3000));
        stop.store(true, Relaxed);
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err("thread panicked".into())))
            .collect()
    });
    let mut imported = 0;
    for r in results {
        imported += r?;
    }
    check!(imported > 0, "no import ever succeeded");
    drop(first);
    check!(attachments_of(pci)? == 0, "attachments left");
    Ok(())
}

pub(crate) fn t_unbind_during_imports(env: &Env) -> Outcome {
    let pci = env.first()?.to_string();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let results: Vec<Result<usize, String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let dev = ok!(ImportDevice::open());
                    let mut total = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        // The device may be gone between opening its node and
                        // importing, or mid-way: ENODEV (and ENOENT for the
                        // uio node) are the documented outcomes.
                        let Ok(uio) = Uio::for_device(&pci) else {
                            continue;
                        };
                        total += churn(&dev, &uio, 4, &[libc::ENODEV])?;
                    }
                    Ok(total)
                })
            })
            .collect();
        let mut cycle = Ok(());
        for _ in 0..4 {
            std::thread::sleep(std::time::Duration::from_millis(400));
            cycle = unbind(&pci).and_then(|()| {
                std::thread::sleep(std::time::Duration::from_millis(200));
                bind(&pci)
            });
            if cycle.is_err() {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(400));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut results: Vec<Result<usize, String>> = workers
            .into_iter()
            .map(|w| w.join().unwrap_or(Err("worker panicked".into())))
            .collect();
        results.push(cycle.map(|()| 0));
        results
    });
    for r in results {
        r?;
    }
    check!(
        attachments_of(&pci)? == 0,
        "attachments left after unbind cycles"
    );
    // The device works after the last rebind.
    let (dev, uio) = open_device(&pci)?;
    check!(ok!(churn(&dev, &uio, 2, &[])) == 2, "imports after rebind");
    Ok(())
}

pub(crate) fn t_released_handle_answers_enoent(env: &Env) -> Outcome {
    // Readers loop SEGMENTS and SYNC on whatever handle is current while
    // another thread releases it and imports the buffer again: a released
    // handle is ENOENT however the race falls, never ENODEV (reserved for an
    // unbound device). The buffer has 1,024 scattered pages, so one reader's
    // SYNC holds the import for a while and the other's SEGMENTS queues up
    // behind it, where the RELEASE can overtake it. Readers idle on a handle
    // found released until the next import, so the CPUs go to the race.
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let buf = ok!(buffers::udmabuf(1024 * page_size(), true));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(8);
    let current = AtomicU32::new(0);
    let stop = AtomicBool::new(false);
    let results: Vec<Result<(u64, u64), String>> = std::thread::scope(|s| {
        let readers: Vec<_> = (0..2)
            .map(|r| {
                let (dev, current, stop) = (&dev, &current, &stop);
                s.spawn(move || {
                    let (mut ok_calls, mut gone) = (0u64, 0u64);
                    let mut segs = [uapi::uio_dmabuf_segment::default(); 2];
                    while !stop.load(Relaxed) {
                        let h = current.load(Relaxed);
                        let r = if r == 0 {
                            dev.sync(h, true)
                        } else {
                            dev.segments_into(h, 0, &mut segs).map(|_| ())
                        };
                        match r {
                            Ok(()) => ok_calls += 1,
                            Err(e) if e.errno == libc::ENOENT => {
                                gone += 1;
                                while current.load(Relaxed) == h && !stop.load(Relaxed) {
                                    std::thread::yield_now();
                                }
                            }
                            Err(e) => return Err(format!("handle {h}: {e}")),
                        }
                    }
                    Ok((ok_calls, gone))
                })
            })
            .collect();
        let churn = (|| {
            let mut rounds = 0;
            while std::time::Instant::now() < deadline {
                rounds += 1;
                let imp =
                    ok!(dev.import(&uio, &buf, Direction::Bidirectional, ImportFlags::default()));
                current.store(imp.handle(), Relaxed);
                std::thread::sleep(std::time::Duration::from_micros(500));
                ok!(imp.release());
            }
            Ok((0, rounds))
        })();
        stop.store(true, Relaxed);
        let mut all: Vec<_> = readers
            .into_iter()
            .map(|r| r.join().unwrap_or(Err("reader panicked".into())))
            .collect();
        all.push(churn);
        all
    });
    let (mut ok_calls, mut gone, mut rounds) = (0, 0, 0);
    let last = results.len() - 1;
    for (i, r) in results.into_iter().enumerate() {
        let (o, g) = r?;
        if i == last {
            rounds = g;
        } else {
            ok_calls += o;
            gone += g;
        }
    }
    check!(
        ok_calls > 0 && gone > 0,
        "the race never happened both ways ({ok_calls} calls succeeded, {gone} found the handle released)"
    );
    println!("    {rounds} releases: {ok_calls} calls succeeded, {gone} found the handle released");
    ERROR_CASES.fetch_add(1, Ordering::Relaxed);
    Ok(())
}
