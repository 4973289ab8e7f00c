// SPDX-License-Identifier: MIT OR Apache-2.0

//! Where an import's time goes, from ftrace's `function_graph` tracer (the
//! benchmark kernel has it; the test kernel does not).
//!
//! Only `ioctl(2)` of this process is traced, two levels deep: the syscall
//! and the C functions the driver calls from it (the driver's Rust code is
//! not instrumented, so its own work is what the syscall's time leaves after
//! the calls it makes). Tracing slows every traced call, so the figures say
//! where the time goes, not how long it takes untraced.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::path::Path;

use crate::error::{Error, Result};

const TRACEFS: &str = "/sys/kernel/tracing";

/// The functions function_graph may start from, best first: the syscall's
/// body (where the syscall wrappers leave it out of line, as with this
/// kernel's configuration), else the architecture's entry point.
#[cfg(target_arch = "x86_64")]
const ROOTS: [&str; 2] = ["__se_sys_ioctl", "__x64_sys_ioctl"];
#[cfg(target_arch = "aarch64")]
const ROOTS: [&str; 2] = ["__se_sys_ioctl", "__arm64_sys_ioctl"];

fn write(file: &str, value: &str) -> Result<()> {
    fs::write(Path::new(TRACEFS).join(file), value)
        .map_err(|e| Error::from_io("write to tracefs (function_graph tracer built in?)", &e))
}

/// The function_graph tracer set up for this process's ioctls; off and
/// reset on drop.
pub struct IoctlTrace {
    root: &'static str,
}

impl IoctlTrace {
    /// Mounts tracefs if needed and sets the tracer up, not yet on.
    pub fn new() -> Result<Self> {
        if !Path::new(TRACEFS).join("trace").exists() {
            let (src, dir, fs) = (c"nodev", CString::new(TRACEFS).unwrap(), c"tracefs");
            // SAFETY: Valid C strings; no mount data.
            let r = unsafe {
                libc::mount(src.as_ptr(), dir.as_ptr(), fs.as_ptr(), 0, std::ptr::null())
            };
            if r != 0 {
                return Err(Error::last("mount tracefs"));
            }
        }
        write("tracing_on", "0")?;
        write("current_tracer", "nop")?;
        write("trace", "")?;
        let traceable = fs::read_to_string(Path::new(TRACEFS).join("available_filter_functions"))
            .map_err(|e| Error::from_io("read available_filter_functions", &e))?;
        let root = ROOTS
            .into_iter()
            .find(|f| {
                traceable
                    .lines()
                    .any(|l| l.split_whitespace().next() == Some(*f))
            })
            .ok_or(Error::new("no ioctl entry point to trace", libc::ENOENT))?;
        write("set_ftrace_pid", &std::process::id().to_string())?;
        write("set_graph_function", root)?;
        write("max_graph_depth", "2")?;
        write("options/funcgraph-irqs", "0")?;
        write("buffer_size_kb", "8192")?;
        write("current_tracer", "function_graph")?;
        Ok(Self { root })
    }

    /// Runs `f` with tracing on.
    pub fn record(&self, f: impl FnOnce() -> Result<()>) -> Result<()> {
        write("trace", "")?;
        write("tracing_on", "1")?;
        let r = f();
        write("tracing_on", "0")?;
        r
    }

    /// The syscalls recorded so far.
    pub fn calls(&self) -> Result<Vec<Call>> {
        let text = fs::read_to_string(Path::new(TRACEFS).join("trace"))
            .map_err(|e| Error::from_io("read the trace", &e))?;
        Ok(parse(&text, self.root))
    }
}

impl Drop for IoctlTrace {
    fn drop(&mut self) {
        let _ = write("tracing_on", "0");
        let _ = write("current_tracer", "nop");
        let _ = write("set_graph_function", "");
        let _ = write("set_ftrace_pid", "");
        let _ = write("trace", "");
    }
}

/// One traced syscall: its duration and its direct C callees' (name, µs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Call {
    pub total_us: f64,
    pub callees: Vec<(String, f64)>,
}

/// The duration in a function_graph line's duration column, if any
/// (`  0.512 us`, `+ 12.345 us`, `! 101.2 us`).
fn duration(col: &str) -> Option<f64> {
    let t = col
        .trim()
        .trim_start_matches(['+', '!', '#', '*', '@', '$'])
        .trim();
    t.strip_suffix("us")?.trim().parse().ok()
}

/// The calls of `root` in a function_graph trace, in order.
pub fn parse(text: &str, root: &str) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut open: Option<Call> = None;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some((left, right)) = line.split_once('|') else {
            continue;
        };
        // The CPU column, then the duration.
        let left = left.split_once(')').map_or(left, |(_, d)| d);
        let body = right.trim_end();
        let depth = (body.len() - body.trim_start().len()) / 2;
        let body = body.trim();
        if depth <= 1 && body.ends_with(" {") && body.starts_with(root) {
            open = Some(Call::default());
        } else if depth <= 1 && body.starts_with('}') {
            if let (Some(mut call), Some(d)) = (open.take(), duration(left)) {
                call.total_us = d;
                calls.push(call);
            }
        } else if let (Some(call), Some(d)) = (open.as_mut(), duration(left)) {
            // A leaf (`name();`), or a callee's closing brace (`} /* name */`).
            let name = body
                .trim_end_matches(';')
                .trim_start_matches('}')
                .trim()
                .trim_start_matches("/*")
                .trim_end_matches("*/")
                .trim()
                .trim_end_matches("()")
                .to_string();
            call.callees.push((name, d));
        }
    }
    calls
}

/// Per-call means over `calls`: the syscall, each callee (its time per
/// syscall, all its calls summed, and its calls per syscall), sorted by time,
/// and what is left, the time in code that is not traced.
pub fn summary(calls: &[Call]) -> (f64, Vec<(String, f64, f64)>, f64) {
    let n = calls.len().max(1) as f64;
    let total = calls.iter().map(|c| c.total_us).sum::<f64>() / n;
    let mut by: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
    for c in calls {
        for (name, d) in &c.callees {
            let e = by.entry(name).or_default();
            e.0 += d;
            e.1 += 1;
        }
    }
    let mut rows: Vec<_> = by
        .into_iter()
        .map(|(name, (t, k))| (name.to_string(), t / n, k as f64 / n))
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let traced: f64 = rows.iter().map(|r| r.1).sum();
    (total, rows, total - traced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_two_levels() {
        let text = concat!(
            "# tracer: function_graph\n\
             #\n\
             # CPU  DURATION                  FUNCTION CALLS\n\
              0)               |  __se_sys_ioctl() {\n\
              0)   0.500 us    |    __fget_light();\n\
              0)   1.250 us    |    kmalloc_trace();\n\
              0)   0.250 us    |    __fget_light();\n\
              0) + 10.000 us   |  }\n\
              1)               |  __se_sys_ioctl() {\n\
              1)   2.000 us    |    dma_buf_put();\n\
              1)   4.000 us    |  }\n"
        );
        let calls = parse(text, "__se_sys_ioctl");
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].total_us, 10.0);
        assert_eq!(calls[0].callees.len(), 3);
        assert_eq!(calls[1].callees, vec![("dma_buf_put".to_string(), 2.0)]);
        let (total, rows, rest) = summary(&calls[..1]);
        assert_eq!(total, 10.0);
        assert_eq!(rows[0], ("kmalloc_trace".to_string(), 1.25, 1.0));
        assert_eq!(rows[1], ("__fget_light".to_string(), 0.75, 2.0));
        assert!((rest - 8.0).abs() < 1e-9);
    }
}
