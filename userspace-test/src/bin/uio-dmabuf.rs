// SPDX-License-Identifier: MIT OR Apache-2.0

//! `uio-dmabuf`: command-line front-end of the uio_dmabuf userspace library.

use std::process::ExitCode;

use serde::Serialize;
use serde_json::{json, Map, Value};

use uio_dmabuf::affinity;
use uio_dmabuf::bench::{self, whole, Stats};
use uio_dmabuf::edu;
use uio_dmabuf::selftest::{self, Exporter, Syncs};
use uio_dmabuf::uio::Uio;
use uio_dmabuf::vfio::Container;
use uio_dmabuf::zdma::Zdma;
use uio_dmabuf::{buffers, sysfs, Direction, ImportDevice, ImportFlags, Segment};

const USAGE: &str = "usage: uio-dmabuf <command> [options]

commands:
  list [--json]
      devices bound to the uio_dmabuf driver: name (PCI address or platform
      device), bus, ID (PCI vendor:device or device-tree compatible), UIO node,
      DMA mask, whether their DMA is cache-coherent and whether an IOMMU
      translates it
  import [--device DEV] [--heap system|udmabuf] [--size N[K|M|G]]
         [--direction bidirectional|to-device|from-device] [--contiguous] [--json]
      allocate a buffer from an exporter, import it into the device DEV (a PCI
      address or a platform device's name as `list` shows it; default: the
      first bound one) and print its segment table
  edu-selftest [--device PCI] [--size N[K|M]] [--skip-cpu-sync | --importer-sync-only]
               [--skip-segment N] [--json]
  zdma-selftest [--device DEV] [same options]
      for the system heap and udmabuf: fill a buffer, import it and a zeroed one,
      let the device copy every segment (QEMU's edu: RAM -> device -> RAM; a
      ZynqMP ZDMA channel: RAM -> RAM in simple mode), waiting for each
      completion by interrupt through /dev/uioN, SYNC, verify byte for byte,
      print a table and PASS or FAIL. The default device is the first bound edu
      (PCI 1234:11e8) or ZDMA channel (compatible xlnx,zynqmp-dma-1.0).
      --skip-cpu-sync leaves out every CPU-side sync of the destination, our
      SYNC FOR_CPU and the system heap's DMA_BUF_IOCTL_SYNC (the negative
      check: with bounce buffers the data is then stale); --importer-sync-only
      reads the system-heap destination through its mmap after SYNC FOR_CPU
      alone; --skip-segment N programs no DMA for destination segment N (a run
      that must FAIL)
  trace-import [--device PCI] [--size 4K] [--iters 200]
      where an import's time goes: IMPORT and RELEASE of a system-heap buffer
      traced by ftrace's function_graph (the benchmark kernel has it), each
      summed up as its mean duration, the C functions the driver calls from
      it (time and calls per ioctl), and the rest, the driver's own code
  bench [--quick] [--device PCI] [--peer PCI]
      measure the import path (see docs/benchmarks.md): import+release per size,
      the syscall floor, segment readout, scaling with live imports, threads,
      memory per import, the interrupt round trip against uio_pci_generic on the
      --peer device (default: the second bound device), behind an IOMMU VFIO
      type1 map+unmap and time to a first device address beside ours (the peer
      handed to vfio-pci meanwhile), edu DMA rate. Prints a table and one line
      'BENCH-JSON {...}'";

/// Parses `4096`, `64K`, `1M`, `1G`.
fn parse_size(s: &str) -> Option<usize> {
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let n: usize = digits.parse().ok()?;
    let shift = match unit {
        "" => 0,
        "K" | "k" | "KiB" => 10,
        "M" | "MiB" => 20,
        "G" | "GiB" => 30,
        _ => return None,
    };
    n.checked_mul(1 << shift).filter(|&v| v > 0)
}

/// Command-line options after the subcommand.
struct Opts {
    args: Vec<String>,
}

impl Opts {
    fn flag(&mut self, name: &str) -> bool {
        let found = self.args.iter().position(|a| a == name);
        found.map(|i| self.args.remove(i)).is_some()
    }

    fn value(&mut self, name: &str) -> Result<Option<String>, String> {
        match self.args.iter().position(|a| a == name) {
            None => Ok(None),
            Some(i) if i + 1 < self.args.len() => {
                let v = self.args.remove(i + 1);
                self.args.remove(i);
                Ok(Some(v))
            }
            Some(_) => Err(format!("{name} needs a value")),
        }
    }

    fn finish(self) -> Result<(), String> {
        match self.args.first() {
            Some(a) => Err(format!("unexpected argument '{a}'\n\n{USAGE}")),
            None => Ok(()),
        }
    }
}

/// One device of `list --json`; `uio` is null before the driver registered a
/// UIO node, `dma_mask`, `coherent` and `iommu` when INFO could not be asked.
#[derive(Debug, Serialize)]
struct ListRow {
    device: String,
    bus: &'static str,
    id: String,
    uio: Option<String>,
    dma_mask: Option<u64>,
    coherent: Option<bool>,
    iommu: Option<bool>,
}

/// `list`'s table: a header and a line per device (`?` where INFO could not
/// be asked), columns as wide as their longest entry.
fn list_table(rows: &[ListRow]) -> Vec<String> {
    let yes_no = |v: Option<bool>| v.map_or("?", |v| if v { "yes" } else { "no" });
    let cells: Vec<[String; 7]> = std::iter::once(
        [
            "DEVICE", "BUS", "ID", "UIO", "DMA MASK", "COHERENT", "IOMMU",
        ]
        .map(String::from),
    )
    .chain(rows.iter().map(|r| {
        [
            r.device.clone(),
            r.bus.into(),
            r.id.clone(),
            r.uio.clone().unwrap_or("-".into()),
            r.dma_mask.map_or("?".into(), |m| format!("{m:#x}")),
            yes_no(r.coherent).into(),
            yes_no(r.iommu).into(),
        ]
    }))
    .collect();
    let widths: Vec<usize> = (0..7)
        .map(|c| cells.iter().map(|row| row[c].len()).max().unwrap_or(0))
        .collect();
    cells
        .iter()
        .map(|row| {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            line.join("  ").trim_end().to_string()
        })
        .collect()
}

fn list(mut opts: Opts) -> Result<(), String> {
    let json = opts.flag("--json");
    opts.finish()?;
    let devices = sysfs::bound_devices().map_err(|e| format!("reading sysfs: {e}"))?;
    let front = ImportDevice::open().ok();
    let mut rows = Vec::new();
    for d in devices {
        let info = match (&front, &d.uio) {
            (Some(front), Some(node)) => Uio::open(node).and_then(|u| front.info(&u)).ok(),
            _ => None,
        };
        rows.push(ListRow {
            device: d.name,
            bus: d.bus.name(),
            id: d.id,
            uio: d.uio,
            dma_mask: info.as_ref().map(|i| i.dma_mask),
            coherent: info.as_ref().map(|i| !i.noncoherent),
            iommu: info.as_ref().map(|i| i.iommu),
        });
    }
    if json {
        println!("{}", to_json(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no device bound to {}", sysfs::DRIVER_NAME);
        return Ok(());
    }
    for line in list_table(&rows) {
        println!("{line}");
    }
    Ok(())
}

/// One line of JSON.
fn to_json(value: &impl Serialize) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| format!("JSON output: {e}"))
}

/// `import --json`.
#[derive(Debug, Serialize)]
struct ImportReport {
    device: String,
    uio: String,
    heap: String,
    size: u64,
    handle: u32,
    nr_segments: usize,
    segments: Vec<SegmentRow>,
}

/// One segment of `import --json`.
#[derive(Debug, Serialize)]
struct SegmentRow {
    dma_addr: u64,
    len: u64,
}

/// The header of `import`'s segment table.
fn segment_header() -> String {
    format!("{:>6}  {:<18}  {:>10}", "#", "DMA ADDRESS", "LENGTH")
}

/// Row `i` of `import`'s segment table.
fn segment_line(i: usize, s: &Segment) -> String {
    format!("{i:>6}  {:#018x}  {:>10}", s.dma_addr, s.len)
}

fn import(mut opts: Opts) -> Result<(), String> {
    let json = opts.flag("--json");
    let contiguous = opts.flag("--contiguous");
    let heap = opts.value("--heap")?.unwrap_or_else(|| "system".into());
    let size_arg = opts.value("--size")?.unwrap_or_else(|| "1M".into());
    let size = parse_size(&size_arg).ok_or(format!("bad size '{size_arg}'"))?;
    let dir_arg = opts
        .value("--direction")?
        .unwrap_or_else(|| "bidirectional".into());
    let dir = Direction::parse(&dir_arg).ok_or(format!("bad direction '{dir_arg}'"))?;
    let device = opts.value("--device")?;
    opts.finish()?;

    let device = device_or_first(device)?;
    let buf = match heap.as_str() {
        "system" => buffers::system_heap(size),
        "udmabuf" => buffers::udmabuf(size, false),
        other => return Err(format!("unknown heap '{other}' (system, udmabuf)")),
    }
    .map_err(|e| e.to_string())?;
    let uio = Uio::for_device(&device).map_err(|e| format!("{device}: {e}"))?;
    let front = ImportDevice::open().map_err(|e| e.to_string())?;
    let imp = front
        .import(&uio, &buf, dir, ImportFlags { contiguous })
        .map_err(|e| e.to_string())?;
    if json {
        let report = ImportReport {
            device: device.clone(),
            uio: uio.name().to_string(),
            heap,
            size: imp.size(),
            handle: imp.handle(),
            nr_segments: imp.segments().len(),
            segments: imp
                .segments()
                .iter()
                .map(|s| SegmentRow {
                    dma_addr: s.dma_addr,
                    len: s.len,
                })
                .collect(),
        };
        println!("{}", to_json(&report)?);
    } else {
        let source = if heap == "system" {
            "the system heap".to_string()
        } else {
            heap.clone()
        };
        println!(
            "imported {} bytes from {source} into {device} ({}): handle {}, {} segment(s)",
            imp.size(),
            uio.name(),
            imp.handle(),
            imp.segments().len()
        );
        println!("{}", segment_header());
        for (i, s) in imp.segments().iter().enumerate() {
            println!("{}", segment_line(i, s));
        }
    }
    imp.release().map_err(|e| e.to_string())
}

fn us(ns: f64) -> String {
    format!("{:.1}", ns / 1000.0)
}

fn row(name: &str, s: &Stats) {
    println!(
        "  {name:<44} {:>10} {:>10} {:>7}",
        us(s.median_ns),
        us(s.p99_ns),
        s.samples
    );
}

/// The buffer sizes the benchmarks measure, each with its number of samples.
fn bench_sizes(quick: bool) -> &'static [(usize, usize)] {
    if quick {
        &[
            (4 << 10, 100),
            (64 << 10, 100),
            (1 << 20, 50),
            (16 << 20, 10),
        ]
    } else {
        &[
            (4 << 10, 400),
            (64 << 10, 400),
            (1 << 20, 200),
            (16 << 20, 50),
            (256 << 20, 20),
        ]
    }
}

/// Whether a buffer of `size` bytes takes at most half the IOVA space;
/// says that `what` skips it if not.
fn fits_iova(size: usize, iova_space: u64, what: &str) -> bool {
    let fits = size as u64 <= iova_space / 2;
    if !fits {
        println!(
            "  {what} {} KiB: skipped, more than half the IOVA space",
            size >> 10
        );
    }
    fits
}

fn trace_import(mut opts: Opts) -> Result<(), String> {
    let device = opts.value("--device")?;
    let size_arg = opts.value("--size")?.unwrap_or_else(|| "4K".into());
    let size = parse_size(&size_arg).ok_or(format!("bad size '{size_arg}'"))?;
    let iters_arg = opts.value("--iters")?.unwrap_or_else(|| "200".into());
    let iters: usize = iters_arg
        .parse()
        .map_err(|_| format!("bad --iters '{iters_arg}'"))?;
    opts.finish()?;
    let e = |e: uio_dmabuf::Error| e.to_string();
    let pci = device_or_first(device)?;
    let uio = Uio::for_device(&pci).map_err(e)?;
    let dev = ImportDevice::open().map_err(e)?;
    let (imports, releases) = bench::trace_import_release(&dev, &uio, size, iters).map_err(e)?;
    println!(
        "traced: {iters} IMPORT and RELEASE of a {size}-byte system-heap buffer on {pci} \
         (function_graph, 2 levels; tracing slows every traced call)"
    );
    for (name, calls) in [("IMPORT", &imports), ("RELEASE", &releases)] {
        let (total, rows, rest) = bench::trace::summary(calls);
        println!("{name}: {total:.2} us per call");
        println!(
            "  {:<40} {:>9} {:>7}",
            "C FUNCTION CALLED", "us/ioctl", "calls"
        );
        for (f, us, n) in &rows {
            println!("  {f:<40} {us:>9.2} {n:>7.1}");
        }
        println!(
            "  {:<40} {rest:>9.2}",
            "(the rest: syscall entry, driver code)"
        );
    }
    Ok(())
}

fn bench_cmd(mut opts: Opts) -> Result<(), String> {
    let quick = opts.flag("--quick");
    let device = opts.value("--device")?;
    let peer = opts.value("--peer")?;
    opts.finish()?;
    let e = |e: uio_dmabuf::Error| e.to_string();
    let pci = device_or_first(device)?;
    let peer = match peer {
        Some(p) => Some(p),
        None => sysfs::bound_devices()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|d| d.name)
            .find(|a| *a != pci),
    };
    let uio = Uio::for_device(&pci).map_err(e)?;
    let dev = ImportDevice::open().map_err(e)?;
    let info = dev.info(&uio).map_err(e)?;
    // Holding 10,000 buffers at once needs more descriptors than the default.
    let nofile = libc::rlimit {
        rlim_cur: 1 << 17,
        rlim_max: 1 << 17,
    };
    // SAFETY: Plain syscall on this process.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &nofile) };
    // Behind an IOMMU the device's IOVA space is its mask: larger buffers, or
    // more live imports than fit, cannot be mapped at all.
    let iova_space = if info.iommu {
        info.dma_mask.saturating_add(1)
    } else {
        u64::MAX
    };
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find_map(|l| {
                l.strip_prefix("MemTotal:")
                    .map(|v| v.trim().trim_end_matches(" kB").to_string())
            })
        })
        .unwrap_or_default();
    let mut json = Map::new();
    println!(
        "uio-dmabuf bench on {pci} ({}): IOMMU {}, DMA mask {:#x}, {} KiB RAM{}",
        uio.name(),
        if info.iommu { "yes" } else { "no" },
        info.dma_mask,
        mem_kib,
        if quick { ", quick" } else { "" }
    );
    json.insert("device".into(), json!(pci));
    json.insert("iommu".into(), json!(info.iommu));
    json.insert("dma_mask".into(), json!(info.dma_mask));
    json.insert("mem_kib".into(), json!(mem_kib.parse::<u64>().ok()));
    json.insert("cmdline".into(), json!(cmdline.trim()));
    json.insert("quick".into(), json!(quick));
    println!(
        "  {:<44} {:>10} {:>10} {:>7}",
        "MEASUREMENT (per operation)", "MEDIAN us", "P99 us", "N"
    );

    // Single-threaded measurements run on CPU 0 (see `affinity`): where the
    // scheduler happens to put the thread otherwise moves ratios between runs.
    affinity::pin_thread_to_cpu0().map_err(|err| format!("pinning to CPU 0: {err}"))?;

    // 2a. The syscall floor.
    let floor = bench::measure(100, if quick { 500 } else { 3000 }, || {
        bench::noop_ioctl(&dev)
    })
    .map_err(e)?;
    row("no-op ioctl (syscall floor)", &floor);
    json.insert("noop_ioctl".into(), floor.json());

    // Where the time of a small import goes, ioctl by ioctl.
    let parts = bench::path_breakdown(&dev, &uio, if quick { 100 } else { 400 }).map_err(e)?;
    let mut parts_json = Vec::new();
    for (name, s) in &parts {
        row(name, s);
        parts_json.push(json!({"name": name, "stats": s.json()}));
    }
    json.insert("path".into(), json!(parts_json));

    // 1. Import + release per size, without and with the segment list read out.
    let mut rows = Vec::new();
    for &(size, iters) in bench_sizes(quick) {
        if !fits_iova(size, iova_space, "import+release") {
            continue;
        }
        let r = bench::import_release(&dev, &uio, size, iters).map_err(e)?;
        row(&format!("import+release {} KiB", size >> 10), &r.bare);
        row(
            &format!("import+release {} KiB, segments read out", size >> 10),
            &r.readout,
        );
        row(
            &format!("no-op ioctl, same rounds, {} KiB", size >> 10),
            &r.syscall,
        );
        if let Some(k) = &r.kernel_floor {
            row(
                &format!(
                    "floor: in-kernel get+attach+map+unmap+detach+put {} KiB",
                    size >> 10
                ),
                k,
            );
        }
        if let Some(ratio) = r.overhead() {
            println!(
                "  {:<44} {ratio:>10.2}",
                format!(
                    "overhead = ours / (2 syscalls + in-kernel), {} KiB",
                    size >> 10
                )
            );
        }
        rows.push(json!({
            "size": size,
            "bare": r.bare.json(),
            "readout": r.readout.json(),
            "syscall": r.syscall.json(),
            "kernel_floor": r.kernel_floor.map(|k| k.json()),
            "overhead": r.overhead(),
        }));
    }
    json.insert("import_release".into(), json!(rows));

    // 3. Segment readout.
    let pages = if quick { 2048 } else { 12288 };
    let r = bench::segment_readout(&dev, &uio, pages, if quick { 5 } else { 20 }).map_err(e)?;
    let n = r.segments;
    let per_s = |ns: f64| n as f64 / (ns / 1e9);
    println!("  segment readout, {n} segments of a {pages}-page udmabuf:");
    row(
        "  IMPORT+RELEASE writing every segment",
        &r.import_with_array,
    );
    row("  IMPORT+RELEASE writing none", &r.import_bare);
    let net = r.array_net_ns();
    match net {
        Some(ns) => println!(
            "    the array's share: {:.1} us, {:.0} segments/s",
            ns / 1e3,
            per_s(ns)
        ),
        None => println!(
            "    the array's share: not resolved (the difference of the medians, {:.1} us, is within \
             the bare import's spread, {:.1} us)",
            (r.import_with_array.median_ns - r.import_bare.median_ns) / 1e3,
            (r.import_bare.p99_ns - r.import_bare.median_ns) / 1e3
        ),
    }
    row("  paged SEGMENTS (1024 a call), readout only", &r.paged);
    row(
        "  floor: read() of the same bytes from a memfd",
        &r.copy_floor,
    );
    json.insert(
        "segment_readout".into(),
        json!({
            "segments": n,
            "import_with_array": r.import_with_array.json(),
            "import_bare": r.import_bare.json(),
            "import_array_net_ns": net.and_then(whole),
            "paged": r.paged.json(),
            "copy_floor": r.copy_floor.json(),
            "segments_per_s_import_array": net.and_then(|ns| whole(per_s(ns))),
            "segments_per_s_paged": whole(per_s(r.paged.median_ns)),
        }),
    );

    // 4. Scaling with live imports, and threads.
    let lives: &[usize] = if quick {
        &[1, 100, 2000]
    } else {
        &[1, 100, 10000, 65000]
    };
    let lives: Vec<usize> = lives
        .iter()
        .copied()
        .filter(|&n| (n as u64) * 4096 <= iova_space / 2)
        .collect();
    let base_device = peer
        .as_deref()
        .and_then(|p| Some((ImportDevice::open().ok()?, Uio::for_device(p).ok()?)));
    let scale = match &base_device {
        Some((base_dev, base_uio)) => {
            scaling_beside(&dev, &uio, (base_dev, base_uio), &lives, quick).map_err(e)?
        }
        None => scaling_in_sequence(&dev, &uio, &lives, quick, &mut json).map_err(e)?,
    };
    json.insert("scaling".into(), json!(scale));
    let ms = if quick { 1000 } else { 4000 };
    affinity::unpin_thread();
    let one_fd = bench::threads_throughput(&uio, 8, true, ms).map_err(e)?;
    let many_fd = bench::threads_throughput(&uio, 8, false, ms).map_err(e)?;
    affinity::pin_thread_to_cpu0().map_err(|err| format!("pinning to CPU 0: {err}"))?;
    println!(
        "  8 threads: {one_fd:.0} import+release/s on one fd, {many_fd:.0}/s on 8 fds ({:.2}x)",
        one_fd / many_fd
    );
    json.insert(
        "threads".into(),
        json!({"one_fd_per_s": whole(one_fd), "eight_fds_per_s": whole(many_fd)}),
    );

    // 5. Memory per import.
    let count = if quick { 1000 } else { 10000 };
    let mem = bench::memory_per_import(&dev, &uio, count).map_err(e)?;
    println!(
        "  kernel slab objects per live import ({count} imports): {:.0} bytes in all",
        mem.total
    );
    if let (Some(floor), Some(driver)) = (mem.floor, mem.driver()) {
        println!(
            "    {floor:.0} bytes of it for the bare attach+map (benchmark module), {driver:.0} bytes the driver's own"
        );
    }
    json.insert(
        "memory".into(),
        json!({
            "imports": count,
            "total_per_import": whole(mem.total),
            "floor_per_import": mem.floor.and_then(whole),
            "driver_per_import": mem.driver().and_then(whole),
        }),
    );

    // 6. Interrupt round trip: ours vs uio_pci_generic, in alternating rounds,
    // with the interrupts on this thread's CPU 0.
    let irq_iters = if quick { 50 } else { 300 };
    let side_by_side = peer.as_deref().and_then(|peer| {
        peer_irq(&uio, &pci, peer, irq_iters)
            .map_err(|msg| println!("  IRQ round trip, uio_pci_generic: not measured ({msg})"))
            .ok()
    });
    let (ours, generic) = match side_by_side {
        Some((ours, generic)) => (ours, Some(generic)),
        None => {
            let _on_cpu0 = irqs_on_cpu0(&[&pci]);
            (
                bench::irq_round_trip(&uio, irq_iters, || uio.enable_irq()).map_err(e)?,
                None,
            )
        }
    };
    row("IRQ round trip, uio_dmabuf (write 1 to re-enable)", &ours);
    let mut irq_json = Map::new();
    irq_json.insert("uio_dmabuf".into(), ours.json());
    if let Some(generic) = generic {
        row("IRQ round trip, uio_pci_generic (config write)", &generic);
        irq_json.insert("uio_pci_generic".into(), generic.json());
        irq_json.insert("ratio".into(), json!(ours.median_ns / generic.median_ns));
    }
    json.insert("irq".into(), Value::Object(irq_json));

    // VFIO type1 beside the driver: behind an IOMMU, with the peer handed to
    // vfio-pci.
    match peer.as_deref() {
        Some(peer) if info.iommu => {
            let v = vfio_section(&dev, &uio, peer, quick, iova_space)?;
            json.insert("vfio".into(), v);
        }
        _ => println!("  VFIO type1: not measured (needs an IOMMU and a second device)"),
    }

    // SYNC of large imports: one call over the whole mapping (page by page
    // behind an IOMMU where the DMA API wants syncs at all).
    let mut syncs = Vec::new();
    let sync_sizes: &[usize] = if quick {
        &[1 << 20, 16 << 20]
    } else {
        &[1 << 20, 16 << 20, 64 << 20]
    };
    for &size in sync_sizes {
        if size as u64 > iova_space / 2 {
            continue;
        }
        let [to_dev, to_cpu] =
            bench::sync_cost(&dev, &uio, size, if quick { 20 } else { 100 }).map_err(e)?;
        row(
            &format!("SYNC FOR_DEVICE, {} MiB import", size >> 20),
            &to_dev,
        );
        row(&format!("SYNC FOR_CPU, {} MiB import", size >> 20), &to_cpu);
        syncs.push(json!({"size": size, "for_device": to_dev.json(), "for_cpu": to_cpu.json()}));
    }
    json.insert("sync".into(), json!(syncs));

    // 7. edu DMA rate (QEMU-bound: edu's engine runs off a 100 ms timer).
    let edu = edu::Edu::new(&uio).map_err(e)?;
    let buf = buffers::system_heap(4096).map_err(e)?;
    let imp = dev
        .import(&uio, &buf, Direction::Bidirectional, ImportFlags::default())
        .map_err(e)?;
    let addr = match imp.segments().first() {
        Some(s) if s.len >= edu::MAX_TRANSFER as u64 => s.dma_addr,
        _ => return Err("a one-page import without a whole first segment".into()),
    };
    let mut dma = Vec::new();
    for len in [64usize, 512, 4095] {
        let s = bench::measure(1, if quick { 3 } else { 10 }, || {
            edu.dma(addr, 0, len, false)
        })
        .map_err(e)?;
        let rate = len as f64 / (s.median_ns / 1e9);
        println!(
            "  edu DMA of {len} bytes RAM->device: {:.1} ms median, {rate:.0} bytes/s",
            s.median_ns / 1e6
        );
        dma.push(json!({"bytes": len, "stats": s.json(), "bytes_per_s": whole(rate)}));
    }
    json.insert("edu_dma".into(), json!(dma));
    println!("BENCH-JSON {}", Value::Object(json));
    Ok(())
}

/// VFIO_IOMMU_MAP_DMA + UNMAP_DMA beside IMPORT + RELEASE per size, and the
/// time to a first device address for a fresh buffer, with `peer` handed to
/// vfio-pci for the while (bench::vfio).
fn vfio_section(
    dev: &ImportDevice,
    uio: &Uio,
    peer: &str,
    quick: bool,
    iova_space: u64,
) -> Result<Value, String> {
    sysfs::pci_hand_to(peer, "vfio-pci").map_err(|e| e.to_string())?;
    let result = (|| {
        let e = |e: uio_dmabuf::Error| e.to_string();
        let vfio = Container::for_device(peer).map_err(e)?;
        let mut rows = Vec::new();
        for &(size, iters) in bench_sizes(quick) {
            if !fits_iova(size, iova_space, "VFIO vs import") {
                continue;
            }
            let kib = size >> 10;
            let m = bench::vfio::map_vs_import(&vfio, dev, uio, size, iters).map_err(e)?;
            row(
                &format!("VFIO map+unmap, anonymous {kib} KiB"),
                &m.vfio_anon,
            );
            row(&format!("VFIO map+unmap, memfd {kib} KiB"), &m.vfio_memfd);
            row(
                &format!("import+release, system heap {kib} KiB"),
                &m.import_heap,
            );
            row(
                &format!("import+release, udmabuf {kib} KiB"),
                &m.import_udmabuf,
            );
            let f = bench::vfio::first_address(&vfio, dev, uio, size, iters.min(100)).map_err(e)?;
            row(
                &format!("first address: mmap+VFIO map {kib} KiB"),
                &f.vfio_anon,
            );
            row(
                &format!("first address: memfd+VFIO map {kib} KiB"),
                &f.vfio_memfd,
            );
            row(
                &format!("first address: heap alloc+import {kib} KiB"),
                &f.import_heap,
            );
            row(
                &format!("first address: udmabuf+import {kib} KiB"),
                &f.import_udmabuf,
            );
            rows.push(json!({
                "size": size,
                "map": {
                    "vfio_anon": m.vfio_anon.json(),
                    "vfio_memfd": m.vfio_memfd.json(),
                    "import_heap": m.import_heap.json(),
                    "import_udmabuf": m.import_udmabuf.json(),
                },
                "first_address": {
                    "vfio_anon": f.vfio_anon.json(),
                    "vfio_memfd": f.vfio_memfd.json(),
                    "import_heap": f.import_heap.json(),
                    "import_udmabuf": f.import_udmabuf.json(),
                },
            }));
        }
        Ok(json!(rows))
    })();
    sysfs::pci_hand_back(peer).map_err(|e| format!("{peer} back to uio_dmabuf: {e}"))?;
    result
}

/// Import+release with each of `lives` imports alive in its file, beside the
/// same on a second device with nothing alive (`base`), in alternating
/// rounds (see `bench::with_live_imports_beside`): each ratio is to the
/// second device in the same rounds. The JSON rows of the report.
fn scaling_beside(
    dev: &ImportDevice,
    uio: &Uio,
    base: (&ImportDevice, &Uio),
    lives: &[usize],
    quick: bool,
) -> uio_dmabuf::Result<Vec<Value>> {
    let (rounds, per_round) = if quick { (5, 20) } else { (10, 30) };
    let mut scale = Vec::new();
    for &live in lives {
        let (s, b) = bench::with_live_imports_beside((dev, uio), base, live, rounds, per_round)?;
        let ratio = s.median_ns / b.median_ns;
        row(
            &format!("import+release with {live} live imports ({ratio:.2}x)"),
            &s,
        );
        row("  ... on the second device, same rounds", &b);
        scale.push(json!({"live": live, "stats": s.json(), "base": b.json(), "ratio": ratio}));
    }
    Ok(scale)
}

/// Without a second device: each of `lives` in turn, then the 1-import
/// baseline again; the ratios are to the faster of the two baselines, so
/// that drift over the run cannot make growth look smaller than it is.
fn scaling_in_sequence(
    dev: &ImportDevice,
    uio: &Uio,
    lives: &[usize],
    quick: bool,
    json: &mut Map<String, Value>,
) -> uio_dmabuf::Result<Vec<Value>> {
    let iters = if quick { 100 } else { 300 };
    // Warm up the path (allocator caches) so that the baseline is not cold.
    bench::with_live_imports(dev, uio, 1, iters)?;
    let mut measured = Vec::new();
    for &live in lives {
        measured.push((live, bench::with_live_imports(dev, uio, live, iters)?));
    }
    let again = bench::with_live_imports(dev, uio, 1, iters)?;
    let base = measured
        .first()
        .map_or(again.median_ns, |(_, s)| s.median_ns.min(again.median_ns));
    let mut scale = Vec::new();
    for (live, s) in &measured {
        let ratio = s.median_ns / base;
        row(
            &format!("import+release with {live} live imports ({ratio:.2}x)"),
            s,
        );
        scale.push(json!({"live": live, "stats": s.json(), "ratio": ratio}));
    }
    row(
        "import+release with 1 live import, again at the end",
        &again,
    );
    json.insert("scaling_baseline_again".into(), again.json());
    Ok(scale)
}

/// The interrupt round trip of `uio` (ours) and of `peer` rebound to
/// `uio_pci_generic`, in alternating rounds; `peer` goes back to uio_dmabuf
/// afterwards.
/// The interrupts of `pci_devices` on CPU 0 (see `affinity`), or a note why
/// not.
fn irqs_on_cpu0(pci_devices: &[&str]) -> Option<affinity::IrqsOnCpu0> {
    affinity::IrqsOnCpu0::new(pci_devices)
        .map_err(|err| println!("  IRQ round trip: interrupts not on CPU 0 ({err})"))
        .ok()
}

fn peer_irq(uio: &Uio, ours: &str, peer: &str, iters: usize) -> Result<(Stats, Stats), String> {
    sysfs::pci_hand_to(peer, "uio_pci_generic").map_err(|e| e.to_string())?;
    // Placed once both drivers have requested their interrupts.
    let on_cpu0 = irqs_on_cpu0(&[ours, peer]);
    let result = (|| {
        let generic = Uio::for_device(peer).map_err(|e| e.to_string())?;
        let unmask = bench::pci_unmask_intx(peer).map_err(|e| e.to_string())?;
        let [ours, generic] = bench::interleaved(
            10,
            iters.div_ceil(10),
            &mut [
                &mut |n| bench::irq_round_trip_samples(uio, n, || uio.enable_irq()),
                &mut |n| bench::irq_round_trip_samples(&generic, n, &unmask),
            ],
        )
        .map_err(|e| e.to_string())?;
        Ok((ours, generic))
    })();
    drop(on_cpu0);
    sysfs::pci_hand_back(peer).map_err(|e| format!("{peer} back to uio_dmabuf: {e}"))?;
    result
}

/// The device given with --device, or the first bound device.
fn device_or_first(device: Option<String>) -> Result<String, String> {
    device_or_first_of(device, |_| true)
}

/// The device given with --device, or the first bound device `wanted`
/// accepts, or the first bound one.
fn device_or_first_of(
    device: Option<String>,
    wanted: impl Fn(&sysfs::BoundDevice) -> bool,
) -> Result<String, String> {
    if let Some(d) = device {
        return Ok(d);
    }
    let bound = sysfs::bound_devices().map_err(|e| format!("reading sysfs: {e}"))?;
    bound
        .iter()
        .find(|d| wanted(d))
        .or(bound.first())
        .map(|d| d.name.clone())
        .ok_or("no device bound to uio_dmabuf".into())
}

/// The copy engines `selftest` drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EngineKind {
    Edu,
    Zdma,
}

impl EngineKind {
    /// The engine's name in titles and JSON.
    fn name(self) -> &'static str {
        match self {
            EngineKind::Edu => "edu",
            EngineKind::Zdma => "ZDMA",
        }
    }

    /// Whether a bound device is this engine (the default `--device`).
    fn is(self, d: &sysfs::BoundDevice) -> bool {
        match self {
            EngineKind::Edu => d.bus == sysfs::Bus::Pci && d.id == "1234:11e8",
            EngineKind::Zdma => d.bus == sysfs::Bus::Platform && d.id == "xlnx,zynqmp-dma-1.0",
        }
    }
}

/// `edu-selftest --json`, `zdma-selftest --json`.
#[derive(Debug, Serialize)]
struct SelftestReport {
    engine: &'static str,
    device: String,
    pass: bool,
    runs: Vec<SelftestRun>,
}

/// One exporter's run of `*-selftest --json`.
#[derive(Debug, Serialize)]
struct SelftestRun {
    buffer: &'static str,
    size: usize,
    src_segments: usize,
    dst_segments: usize,
    bytes_moved: usize,
    transfers: usize,
    mismatches: usize,
    bytes_skipped: usize,
}

/// What a self-test leaves out, for its title line.
fn selftest_mode(syncs: Syncs, skip_segment: Option<usize>) -> String {
    let mut mode = match syncs {
        Syncs::All => String::new(),
        Syncs::SkipCpu => ", WITHOUT any CPU sync of the destination".into(),
        Syncs::ImporterOnly => ", the destination synced by SYNC FOR_CPU alone".into(),
    };
    if let Some(n) = skip_segment {
        mode += &format!(", WITHOUT DMA into destination segment {n}");
    }
    mode
}

fn selftest_cmd(mut opts: Opts, kind: EngineKind) -> Result<bool, String> {
    let json = opts.flag("--json");
    let syncs = match (
        opts.flag("--skip-cpu-sync"),
        opts.flag("--importer-sync-only"),
    ) {
        (false, false) => Syncs::All,
        (true, false) => Syncs::SkipCpu,
        (false, true) => Syncs::ImporterOnly,
        (true, true) => {
            return Err("--skip-cpu-sync and --importer-sync-only exclude each other".into())
        }
    };
    let skip_segment = match opts.value("--skip-segment")? {
        Some(n) => Some(n.parse().map_err(|_| format!("bad segment index '{n}'"))?),
        None => None,
    };
    let size_arg = opts.value("--size")?.unwrap_or_else(|| "32K".into());
    let size = parse_size(&size_arg).ok_or(format!("bad size '{size_arg}'"))?;
    let device = opts.value("--device")?;
    opts.finish()?;
    let device = device_or_first_of(device, |d| kind.is(d))?;
    let uio = Uio::for_device(&device).map_err(|e| format!("{device}: {e}"))?;
    let front = ImportDevice::open().map_err(|e| e.to_string())?;
    let on = |e: uio_dmabuf::Error| format!("{device} is not a working {}: {e}", kind.name());
    let (edu, zdma);
    let engine: &dyn selftest::CopyEngine = match kind {
        EngineKind::Edu => {
            edu = edu::Edu::new(&uio).map_err(on)?;
            &edu
        }
        EngineKind::Zdma => {
            zdma = Zdma::new(&uio).map_err(on)?;
            &zdma
        }
    };
    let mut reports = Vec::new();
    for exporter in [Exporter::SystemHeap, Exporter::Udmabuf] {
        reports.push(
            selftest::run(
                &front,
                &uio,
                engine,
                exporter,
                size,
                selftest::Options {
                    syncs,
                    skip_segment,
                },
            )
            .map_err(|e| format!("{}: {e}", exporter.name()))?,
        );
    }
    let pass = reports.iter().all(|r| r.mismatches == 0);
    if json {
        let out = SelftestReport {
            engine: kind.name(),
            device,
            pass,
            runs: reports
                .iter()
                .map(|r| SelftestRun {
                    buffer: r.exporter.name(),
                    size: r.size,
                    src_segments: r.src_segments,
                    dst_segments: r.dst_segments,
                    bytes_moved: r.bytes_moved,
                    transfers: r.transfers,
                    mismatches: r.mismatches,
                    bytes_skipped: r.bytes_skipped,
                })
                .collect(),
        };
        println!("{}", to_json(&out)?);
    } else {
        println!(
            "{} DMA self-test on {device} ({}), {size} bytes per buffer{}",
            kind.name(),
            uio.name(),
            selftest_mode(syncs, skip_segment)
        );
        println!(
            "{:<12} {:>9} {:>9} {:>12} {:>10} {:>11}  RESULT",
            "BUFFER", "SIZE", "SEGMENTS", "BYTES MOVED", "TRANSFERS", "MISMATCHES"
        );
        for r in &reports {
            println!(
                "{:<12} {:>9} {:>4}/{:<4} {:>12} {:>10} {:>11}  {}",
                r.exporter.name(),
                r.size,
                r.src_segments,
                r.dst_segments,
                r.bytes_moved,
                r.transfers,
                r.mismatches,
                if r.mismatches == 0 { "ok" } else { "DIFFERS" }
            );
        }
        println!("{}", if pass { "PASS" } else { "FAIL" });
    }
    Ok(pass)
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let cmd = if args.is_empty() {
        String::new()
    } else {
        args.remove(0)
    };
    let opts = Opts { args };
    let result = match cmd.as_str() {
        "list" => list(opts),
        "import" => import(opts),
        "bench" => bench_cmd(opts),
        "trace-import" => trace_import(opts),
        "edu-selftest" | "zdma-selftest" => {
            let kind = if cmd == "edu-selftest" {
                EngineKind::Edu
            } else {
                EngineKind::Zdma
            };
            match selftest_cmd(opts, kind) {
                Ok(true) => Ok(()),
                Ok(false) => return ExitCode::FAILURE,
                Err(e) => Err(e),
            }
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("uio-dmabuf: {msg}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("64K"), Some(64 << 10));
        assert_eq!(parse_size("1M"), Some(1 << 20));
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("1T"), None);
        assert_eq!(parse_size("M"), None);
        assert_eq!(parse_size(""), None);
    }

    fn row(uio: Option<&str>, mask: Option<u64>, iommu: Option<bool>) -> ListRow {
        ListRow {
            device: "0000:00:04.0".into(),
            bus: "pci",
            id: "1234:11e8".into(),
            uio: uio.map(String::from),
            dma_mask: mask,
            coherent: iommu.map(|_| true),
            iommu,
        }
    }

    #[test]
    fn list_json_has_every_field_and_nulls_for_unknowns() {
        let rows = [
            row(Some("uio0"), Some(0xfff_ffff), Some(false)),
            row(None, None, None),
        ];
        assert_eq!(
            to_json(&rows).unwrap(),
            "[{\"device\":\"0000:00:04.0\",\"bus\":\"pci\",\"id\":\"1234:11e8\",\
             \"uio\":\"uio0\",\"dma_mask\":268435455,\"coherent\":true,\"iommu\":false},\
             {\"device\":\"0000:00:04.0\",\"bus\":\"pci\",\"id\":\"1234:11e8\",\
             \"uio\":null,\"dma_mask\":null,\"coherent\":null,\"iommu\":null}]"
        );
    }

    #[test]
    fn list_table_columns_line_up() {
        let zdma = ListRow {
            device: "fd500000.dma-controller".into(),
            bus: "platform",
            id: "xlnx,zynqmp-dma-1.0".into(),
            uio: Some("uio12".into()),
            dma_mask: Some(0xffff_ffff),
            coherent: Some(false),
            iommu: Some(false),
        };
        let lines = list_table(&[
            row(Some("uio0"), Some(0xfff_ffff), Some(true)),
            row(None, None, None),
            zdma,
        ]);
        let words = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(
            words(&lines[0]),
            ["DEVICE", "BUS", "ID", "UIO", "DMA", "MASK", "COHERENT", "IOMMU"]
        );
        assert_eq!(
            words(&lines[1]),
            [
                "0000:00:04.0",
                "pci",
                "1234:11e8",
                "uio0",
                "0xfffffff",
                "yes",
                "yes"
            ]
        );
        assert_eq!(
            words(&lines[2]),
            ["0000:00:04.0", "pci", "1234:11e8", "-", "?", "?", "?"]
        );
        assert_eq!(
            words(&lines[3]),
            [
                "fd500000.dma-controller",
                "platform",
                "xlnx,zynqmp-dma-1.0",
                "uio12",
                "0xffffffff",
                "no",
                "no"
            ]
        );
        let (header, zdma) = (&lines[0], &lines[3]);
        for (col, cell) in [
            ("BUS", "platform"),
            ("ID", "xlnx"),
            ("UIO", "uio12"),
            ("DMA MASK", "0xffffffff"),
            ("COHERENT", "no"),
        ] {
            assert_eq!(
                zdma.find(cell),
                header.find(col),
                "{col} misaligned: {zdma}"
            );
        }
        assert_eq!(zdma.rfind("no"), header.find("IOMMU"));
    }

    #[test]
    fn segment_table_and_import_json() {
        let s = Segment {
            dma_addr: 0x1234000,
            len: 8192,
        };
        let (header, line) = (segment_header(), segment_line(3, &s));
        assert_eq!(header, "     #  DMA ADDRESS             LENGTH");
        assert_eq!(line, "     3  0x0000000001234000        8192");
        assert_eq!(line.find("0x"), header.find("DMA ADDRESS"));
        assert_eq!(line.len(), header.len(), "lengths end under LENGTH");
        let report = ImportReport {
            device: "0000:00:04.0".into(),
            uio: "uio0".into(),
            heap: "system".into(),
            size: 8192,
            handle: 1,
            nr_segments: 1,
            segments: vec![SegmentRow {
                dma_addr: s.dma_addr,
                len: s.len,
            }],
        };
        assert_eq!(
            to_json(&report).unwrap(),
            "{\"device\":\"0000:00:04.0\",\"uio\":\"uio0\",\"heap\":\"system\",\
             \"size\":8192,\"handle\":1,\"nr_segments\":1,\
             \"segments\":[{\"dma_addr\":19087360,\"len\":8192}]}"
        );
    }

    #[test]
    fn selftest_title_names_what_is_left_out() {
        assert_eq!(selftest_mode(Syncs::All, None), "");
        assert!(selftest_mode(Syncs::SkipCpu, None).contains("WITHOUT any CPU sync"));
        assert!(selftest_mode(Syncs::ImporterOnly, None).contains("SYNC FOR_CPU alone"));
        assert_eq!(
            selftest_mode(Syncs::All, Some(3)),
            ", WITHOUT DMA into destination segment 3"
        );
    }

    #[test]
    fn options_are_taken_and_leftovers_rejected() {
        let mut o = Opts {
            args: vec![
                "--size".into(),
                "4K".into(),
                "--json".into(),
                "extra".into(),
            ],
        };
        assert!(o.flag("--json"));
        assert_eq!(o.value("--size").unwrap(), Some("4K".into()));
        assert_eq!(o.value("--heap").unwrap(), None);
        assert!(o.finish().is_err());
        let mut o = Opts {
            args: vec!["--size".into()],
        };
        assert!(o.value("--size").is_err());
    }
}
