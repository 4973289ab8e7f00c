// SPDX-License-Identifier: MIT OR Apache-2.0

//! The CLI, run as a user would.

use crate::common::*;

/// Runs the installed `uio-dmabuf` with `args`: (exit code, stdout, stderr).
pub(crate) fn cli(args: &[&str]) -> Result<(i32, String, String), String> {
    let out = Command::new("uio-dmabuf")
        .args(args)
        .output()
        .map_err(|e| format!("running uio-dmabuf: {e}"))?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Runs `uio-dmabuf args`, which must succeed; its stdout.
pub(crate) fn cli_ok(args: &[&str]) -> Result<String, String> {
    let (code, out, err) = cli(args)?;
    check!(
        code == 0,
        "uio-dmabuf {} exited {code}: {}",
        args.join(" "),
        err.trim()
    );
    Ok(out)
}

/// Parses one JSON document printed by the CLI.
pub(crate) fn parse_json(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text.trim()).map_err(|e| format!("invalid JSON ({e}): {text}"))
}

pub(crate) fn t_cli_list(env: &Env) -> Outcome {
    let dev = ok!(ImportDevice::open());
    let bound = ok!(sysfs::bound_devices());
    check!(!bound.is_empty(), "no device bound");
    let json = parse_json(&cli_ok(&["list", "--json"])?)?;
    let rows = json.as_array().ok_or(format!("not an array: {json}"))?;
    check!(
        rows.len() == bound.len(),
        "{} rows for {} bound devices",
        rows.len(),
        bound.len()
    );
    let text = cli_ok(&["list"])?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    check!(
        header == ["DEVICE", "BUS", "ID", "UIO", "DMA", "MASK", "COHERENT", "IOMMU"],
        "list header {header:?}"
    );
    let lines: Vec<&str> = lines.collect();
    check!(lines.len() == bound.len(), "list printed {lines:?}");
    for ((d, row), line) in bound.iter().zip(rows).zip(&lines) {
        let node = d.uio.as_deref().ok_or(format!("{}: no uio node", d.name))?;
        let info = ok!(dev.info(&ok!(Uio::open(node))));
        check!(info.iommu == env.iommu, "library iommu {}", info.iommu);
        let path = d.sysfs_path();
        let coherent = Env::dma_coherent(&path.to_string_lossy());
        check!(
            info.noncoherent != coherent,
            "{}: INFO says non-coherent {}, the device tree coherent {coherent}",
            d.name,
            info.noncoherent
        );
        // The ID as sysfs spells it, read here rather than through the library.
        let attr = |name: &str| fs::read(path.join(name)).unwrap_or_default();
        let text = |name: &str| String::from_utf8_lossy(&attr(name)).trim().to_string();
        let (bus, id) = if path.starts_with("/sys/bus/pci") {
            let hex = |name: &str| text(name).trim_start_matches("0x").to_string();
            ("pci", format!("{}:{}", hex("vendor"), hex("device")))
        } else {
            let compatible = attr("of_node/compatible");
            let first = compatible.split(|&b| b == 0).next().unwrap_or_default();
            let first = String::from_utf8_lossy(first).into_owned();
            (
                "platform",
                if first.is_empty() { "-".into() } else { first },
            )
        };
        let want = serde_json::json!({
            "device": d.name,
            "bus": bus,
            "id": id,
            "uio": node,
            "dma_mask": info.dma_mask,
            "coherent": coherent,
            "iommu": info.iommu,
        });
        check!(*row == want, "list --json row {row}, expected {want}");
        let cols: Vec<&str> = line.split_whitespace().collect();
        let mask = format!("{:#x}", info.dma_mask);
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        check!(
            cols == [
                d.name.as_str(),
                bus,
                &id,
                node,
                &mask,
                yes_no(coherent),
                yes_no(info.iommu)
            ],
            "list row {cols:?}"
        );
    }
    Ok(())
}

pub(crate) fn t_cli_import(env: &Env) -> Outcome {
    let pci = env.first()?;
    let (dev, uio) = open_device(pci)?;
    let info = ok!(dev.info(&uio));
    let mut size: u64 = 1 << 20;
    if env.swiotlb || info.unreachable_memory {
        // 1 MiB heap chunks cannot be bounced (EIO); RAM beyond the mask
        // without an IOMMU is refused (ERANGE): the CLI reports the errno.
        let errno = if info.unreachable_memory {
            "ERANGE"
        } else {
            "EIO"
        };
        let (code, _, err) = cli(&["import", "--heap", "system", "--size", "1M"])?;
        check!(
            code == 2 && err.contains("UIO_DMABUF_IOC_IMPORT") && err.contains(errno),
            "1 MiB import: exit {code}, stderr {err:?}, expected {errno}"
        );
        ERROR_CASES.fetch_add(1, Ordering::Relaxed);
        if info.unreachable_memory {
            return Ok(());
        }
        size = SWIOTLB_MAX_MAPPING as u64;
    }
    let size_arg = format!("{}K", size >> 10);
    let args = ["import", "--heap", "system", "--size", &size_arg];
    let json = parse_json(&cli_ok(&[&args[..], &["--json"]].concat())?)?;
    let field = |k: &str| json.get(k).ok_or(format!("no {k} in {json}"));
    check!(field("device")? == pci, "device {}", field("device")?);
    check!(field("uio")? == uio.name(), "uio {}", field("uio")?);
    check!(field("heap")? == "system", "heap {}", field("heap")?);
    check!(field("size")? == size, "size {}", field("size")?);
    check!(
        field("handle")? == 1,
        "handle {} in a fresh file",
        field("handle")?
    );
    let segs: Vec<Segment> = field("segments")?
        .as_array()
        .ok_or("segments is not an array")?
        .iter()
        .map(|s| {
            Some(Segment {
                dma_addr: s.get("dma_addr")?.as_u64()?,
                len: s.get("len")?.as_u64()?,
            })
        })
        .collect::<Option<_>>()
        .ok_or(format!("malformed segments in {json}"))?;
    check!(
        field("nr_segments")? == segs.len(),
        "nr_segments {} for {} segments",
        field("nr_segments")?,
        segs.len()
    );
    check_segments(&segs, size, info.dma_mask, info.max_segment_size)?;

    let text = cli_ok(&args)?;
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let prefix = format!(
        "imported {size} bytes from the system heap into {pci} ({}): handle 1, ",
        uio.name()
    );
    let n: usize = first
        .strip_prefix(&prefix)
        .and_then(|r| r.strip_suffix(" segment(s)"))
        .and_then(|n| n.parse().ok())
        .ok_or(format!("first line {first:?}"))?;
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    check!(
        header == ["#", "DMA", "ADDRESS", "LENGTH"],
        "table header {header:?}"
    );
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let parsed = match cols.as_slice() {
            [idx, addr, len] if *idx == i.to_string() && addr.len() == 18 => addr
                .strip_prefix("0x")
                .and_then(|a| u64::from_str_radix(a, 16).ok())
                .zip(len.parse().ok()),
            _ => None,
        };
        let (dma_addr, len) = parsed.ok_or(format!("table row {i}: {line:?}"))?;
        rows.push(Segment { dma_addr, len });
    }
    check!(
        rows.len() == n,
        "{n} segment(s) announced, {} rows",
        rows.len()
    );
    check_segments(&rows, size, info.dma_mask, info.max_segment_size)?;
    Ok(())
}
