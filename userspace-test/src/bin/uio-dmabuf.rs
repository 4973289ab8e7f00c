// SPDX-License-Identifier: MIT OR Apache-2.0

//! `uio-dmabuf`: command-line front-end of the uio_dmabuf userspace library.

use std::process::ExitCode;

use uio_dmabuf::selftest::{self, Exporter, Syncs};
use uio_dmabuf::uio::Uio;
use uio_dmabuf::{buffers, sysfs, Direction, ImportDevice, ImportFlags};

const USAGE: &str = "usage: uio-dmabuf <command> [options]

commands:
  list [--json]
      devices bound to the uio_dmabuf driver: PCI address, ID, UIO node,
      DMA mask, whether an IOMMU translates their DMA
  import [--device PCI] [--heap system|udmabuf] [--size N[K|M|G]]
         [--direction bidirectional|to-device|from-device] [--contiguous] [--json]
      allocate a buffer from an exporter, import it into the device (default:
      the first bound one) and print its segment table
  edu-selftest [--device PCI] [--size N[K|M]] [--skip-cpu-sync] [--json]
      for the system heap and udmabuf: fill a buffer, import it and a zeroed one,
      let QEMU's edu DMA every segment RAM -> device -> RAM (completion by
      interrupt through /dev/uioN), verify byte for byte, print a table and PASS
      or FAIL. --skip-cpu-sync leaves out the destination's SYNC FOR_CPU (the
      negative check: with bounce buffers the data is then stale)";

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

fn list(mut opts: Opts) -> Result<(), String> {
    let json = opts.flag("--json");
    opts.finish()?;
    let devices = sysfs::bound_devices().map_err(|e| format!("reading sysfs: {e}"))?;
    let front = ImportDevice::open().ok();
    let mut rows = Vec::new();
    for d in &devices {
        let info = match (&front, &d.uio) {
            (Some(front), Some(node)) => Uio::open(node).and_then(|u| front.info(&u)).ok(),
            _ => None,
        };
        rows.push((d, info));
    }
    if json {
        let items: Vec<String> = rows
            .iter()
            .map(|(d, info)| {
                format!(
                    "{{\"device\":\"{}\",\"vendor\":{},\"device_id\":{},\"uio\":{},\"dma_mask\":{},\"iommu\":{}}}",
                    d.address,
                    d.vendor,
                    d.device,
                    d.uio.as_ref().map_or("null".into(), |u| format!("\"{u}\"")),
                    info.as_ref().map_or("null".into(), |i| i.dma_mask.to_string()),
                    info.as_ref().map_or("null".into(), |i| i.iommu.to_string()),
                )
            })
            .collect();
        println!("[{}]", items.join(","));
        return Ok(());
    }
    if rows.is_empty() {
        println!("no device bound to {}", sysfs::DRIVER_NAME);
        return Ok(());
    }
    println!("{:<14} {:<10} {:<6} {:<20} IOMMU", "DEVICE", "ID", "UIO", "DMA MASK");
    for (d, info) in rows {
        println!(
            "{:<14} {:04x}:{:04x}  {:<6} {:<20} {}",
            d.address,
            d.vendor,
            d.device,
            d.uio.as_deref().unwrap_or("-"),
            info.as_ref().map_or("?".into(), |i| format!("{:#x}", i.dma_mask)),
            info.as_ref().map_or("?", |i| if i.iommu { "yes" } else { "no" }),
        );
    }
    Ok(())
}

fn import(mut opts: Opts) -> Result<(), String> {
    let json = opts.flag("--json");
    let contiguous = opts.flag("--contiguous");
    let heap = opts.value("--heap")?.unwrap_or_else(|| "system".into());
    let size_arg = opts.value("--size")?.unwrap_or_else(|| "1M".into());
    let size = parse_size(&size_arg).ok_or(format!("bad size '{size_arg}'"))?;
    let dir_arg = opts.value("--direction")?.unwrap_or_else(|| "bidirectional".into());
    let dir = Direction::parse(&dir_arg).ok_or(format!("bad direction '{dir_arg}'"))?;
    let device = opts.value("--device")?;
    opts.finish()?;

    let pci = device_or_first(device)?;
    let buf = match heap.as_str() {
        "system" => buffers::system_heap(size),
        "udmabuf" => buffers::udmabuf(size, false),
        other => return Err(format!("unknown heap '{other}' (system, udmabuf)")),
    }
    .map_err(|e| e.to_string())?;
    let uio = Uio::for_pci_device(&pci).map_err(|e| e.to_string())?;
    let front = ImportDevice::open().map_err(|e| e.to_string())?;
    let imp = front
        .import(&uio, &buf, dir, ImportFlags { contiguous })
        .map_err(|e| e.to_string())?;
    if json {
        let segs: Vec<String> = imp
            .segments()
            .iter()
            .map(|s| format!("{{\"dma_addr\":{},\"len\":{}}}", s.dma_addr, s.len))
            .collect();
        println!(
            "{{\"device\":\"{pci}\",\"heap\":\"{heap}\",\"size\":{},\"handle\":{},\"segments\":[{}]}}",
            imp.size(),
            imp.handle(),
            segs.join(",")
        );
    } else {
        let source = if heap == "system" { "the system heap".to_string() } else { heap.clone() };
        println!(
            "imported {} bytes from {source} into {pci} ({}): handle {}, {} segment(s)",
            imp.size(),
            uio.name(),
            imp.handle(),
            imp.segments().len()
        );
        println!("{:>6}  {:<18}  {:>10}", "#", "DMA ADDRESS", "LENGTH");
        for (i, s) in imp.segments().iter().enumerate() {
            println!("{i:>6}  {:#018x}  {:>10}", s.dma_addr, s.len);
        }
    }
    imp.release().map_err(|e| e.to_string())
}

/// The PCI address given with --device, or the first bound device.
fn device_or_first(device: Option<String>) -> Result<String, String> {
    match device {
        Some(d) => Ok(d),
        None => sysfs::bound_devices()
            .map_err(|e| format!("reading sysfs: {e}"))?
            .into_iter()
            .next()
            .map(|d| d.address)
            .ok_or("no device bound to uio_dmabuf".into()),
    }
}

fn edu_selftest(mut opts: Opts) -> Result<bool, String> {
    let json = opts.flag("--json");
    let syncs = if opts.flag("--skip-cpu-sync") { Syncs::SkipCpu } else { Syncs::All };
    let size_arg = opts.value("--size")?.unwrap_or_else(|| "32K".into());
    let size = parse_size(&size_arg).ok_or(format!("bad size '{size_arg}'"))?;
    let device = opts.value("--device")?;
    opts.finish()?;
    let pci = device_or_first(device)?;
    let uio = Uio::for_pci_device(&pci).map_err(|e| e.to_string())?;
    let front = ImportDevice::open().map_err(|e| e.to_string())?;
    let mut reports = Vec::new();
    for exporter in [Exporter::SystemHeap, Exporter::Udmabuf] {
        reports.push(selftest::run(&front, &uio, exporter, size, syncs).map_err(|e| format!("{}: {e}", exporter.name()))?);
    }
    let pass = reports.iter().all(|r| r.mismatches == 0);
    if json {
        let rows: Vec<String> = reports
            .iter()
            .map(|r| {
                format!(
                    "{{\"buffer\":\"{}\",\"size\":{},\"src_segments\":{},\"dst_segments\":{},\"bytes_moved\":{},\"mismatches\":{}}}",
                    r.exporter.name(),
                    r.size,
                    r.src_segments,
                    r.dst_segments,
                    r.bytes_moved,
                    r.mismatches
                )
            })
            .collect();
        println!("{{\"device\":\"{pci}\",\"pass\":{pass},\"runs\":[{}]}}", rows.join(","));
    } else {
        println!("edu DMA self-test on {pci} ({}), {size} bytes per buffer{}", uio.name(),
            if syncs == Syncs::SkipCpu { ", WITHOUT the destination's SYNC FOR_CPU" } else { "" });
        println!("{:<12} {:>9} {:>9} {:>12} {:>11}  RESULT", "BUFFER", "SIZE", "SEGMENTS", "BYTES MOVED", "MISMATCHES");
        for r in &reports {
            println!(
                "{:<12} {:>9} {:>4}/{:<4} {:>12} {:>11}  {}",
                r.exporter.name(),
                r.size,
                r.src_segments,
                r.dst_segments,
                r.bytes_moved,
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
    let cmd = if args.is_empty() { String::new() } else { args.remove(0) };
    let opts = Opts { args };
    let result = match cmd.as_str() {
        "list" => list(opts),
        "import" => import(opts),
        "edu-selftest" => match edu_selftest(opts) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
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

    #[test]
    fn options_are_taken_and_leftovers_rejected() {
        let mut o = Opts { args: vec!["--size".into(), "4K".into(), "--json".into(), "extra".into()] };
        assert!(o.flag("--json"));
        assert_eq!(o.value("--size").unwrap(), Some("4K".into()));
        assert_eq!(o.value("--heap").unwrap(), None);
        assert!(o.finish().is_err());
        let mut o = Opts { args: vec!["--size".into()] };
        assert!(o.value("--size").is_err());
    }
}
