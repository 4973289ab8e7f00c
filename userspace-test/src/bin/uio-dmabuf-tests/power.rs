// SPDX-License-Identifier: MIT OR Apache-2.0

//! Clocks and runtime PM of a bound device-tree platform device (the zcu102
//! guest's GDMA channels): the driver holds every clock of the node enabled
//! while bound, and keeps the device resumed exactly while some file of its
//! `/dev/uioN` is open, as uio_pdrv_genirq does.

use crate::common::*;

/// The clocks in the clock framework's debugfs summary that list `consumer`
/// (a device-tree node name such as `dma-controller@fd500000`): for each, its
/// enable count and how many of its consumers are that node.
fn clocks_of(consumer: &str) -> Result<Vec<(String, u64, usize)>, String> {
    let summary = fs::read_to_string("/sys/kernel/debug/clk/clk_summary")
        .map_err(|e| format!("clk_summary: {e}"))?;
    let mut clocks: Vec<(String, u64, usize)> = Vec::new();
    // A clock's row: name, enable count, prepare count, ... then its first
    // consumer and connection ID; further consumers on rows of their own.
    for line in summary.lines().skip(3) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let consumer_here = if words.len() > 2 {
            let count = words[1]
                .parse()
                .map_err(|_| format!("clk_summary row {line:?}"))?;
            clocks.push((words[0].to_string(), count, 0));
            words.get(words.len().wrapping_sub(2)).copied()
        } else {
            words.first().copied()
        };
        if consumer_here == Some(consumer) {
            if let Some(last) = clocks.last_mut() {
                last.2 += 1;
            }
        }
    }
    clocks.retain(|c| c.2 > 0);
    Ok(clocks)
}

/// The runtime-PM status of platform device `name`.
fn runtime_status(name: &str) -> Result<String, String> {
    let path = format!("/sys/bus/platform/devices/{name}/power/runtime_status");
    fs::read_to_string(&path)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("{path}: {e} (a kernel without CONFIG_PM?)"))
}

pub(crate) fn t_platform_clocks_and_runtime_pm(env: &Env) -> Outcome {
    let name = env.first()?.to_string();
    let dir = format!("/sys/bus/platform/devices/{name}");
    let node = fs::canonicalize(format!("{dir}/of_node"))
        .map_err(|e| format!("{name}: no device-tree node ({e})"))?;
    let node_name = node
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or("of_node without a name")?;
    // Our device trees' clocks have #clock-cells = 0: one phandle per clock.
    let listed = fs::metadata(node.join("clocks")).map_or(0, |m| m.len() / 4) as usize;
    check!(listed > 0, "{node_name} has no clocks in the device tree");

    // Clocks: every one of the node's held while bound, none after unbind.
    let bound = clocks_of(&node_name)?;
    let held: usize = bound.iter().map(|c| c.2).sum();
    check!(
        held == listed,
        "{node_name}: {held} clock consumers while bound, the node lists {listed}: {bound:?}"
    );
    unbind(&name)?;
    let after = clocks_of(&node_name);
    let enables_after = clocks_of_names(&bound);
    bind(&name)?;
    check!(
        after.as_ref().is_ok_and(Vec::is_empty),
        "{node_name}: clocks still held after unbind: {after:?}"
    );
    for ((clock, count, mine), after) in bound.iter().zip(&enables_after?) {
        check!(
            *after + *mine as u64 == *count,
            "{clock}: enable count {count} while bound, {after} after unbind ({mine} of ours)"
        );
    }
    let again = clocks_of(&node_name)?;
    check!(
        again == bound,
        "after rebinding {again:?}, before {bound:?}"
    );

    // Runtime PM: suspended while no file of /dev/uioN is open, resumed from
    // the first open to the last close.
    check!(
        runtime_status(&name)? == "suspended",
        "{name} {} with /dev/uioN closed",
        runtime_status(&name)?
    );
    let first = ok!(Uio::for_device(&name));
    check!(
        runtime_status(&name)? == "active",
        "{name} {} with /dev/uioN open",
        runtime_status(&name)?
    );
    let second = ok!(Uio::for_device(&name));
    drop(first);
    check!(
        runtime_status(&name)? == "active",
        "{name} {} after one of two files closed",
        runtime_status(&name)?
    );
    drop(second);
    check!(
        runtime_status(&name)? == "suspended",
        "{name} {} after the last close",
        runtime_status(&name)?
    );
    Ok(())
}

/// The enable counts now of the clocks named in `clocks`.
fn clocks_of_names(clocks: &[(String, u64, usize)]) -> Result<Vec<u64>, String> {
    let summary = fs::read_to_string("/sys/kernel/debug/clk/clk_summary")
        .map_err(|e| format!("clk_summary: {e}"))?;
    clocks
        .iter()
        .map(|(name, _, _)| {
            summary
                .lines()
                .find_map(|l| {
                    let mut w = l.split_whitespace();
                    (w.next() == Some(name)).then(|| w.next()?.parse().ok())?
                })
                .ok_or(format!("clock {name} not in clk_summary"))
        })
        .collect()
}
