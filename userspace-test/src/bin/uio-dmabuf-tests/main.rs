// SPDX-License-Identifier: MIT OR Apache-2.0

//! Guest tests of the uio_dmabuf driver: every ioctl and errno, lifetimes
//! (close, unbind, rmmod), and a smoke DMA through edu. Runs inside the test
//! guest as root; prints one `PASS name` or `FAIL name` line per test (with the
//! reason indented below a failure), `SKIP name: reason` for a test the first
//! bound device cannot take (an edu test on a ZynqMP DMA channel), and exits
//! non-zero if any failed.
//!
//!   uio-dmabuf-tests [--list] [NAME...]

#[macro_use]
mod common;
mod binding;
mod cli;
mod concurrency;
mod control;
mod dma;
mod errors;
mod imports;
mod lifetimes;
mod platform;
mod power;
mod processes;

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use binding::*;
use cli::*;
use common::{summary, Env, Needs, Outcome, ERROR_CASES, FAULTS};
use concurrency::*;
use control::*;
use dma::*;
use errors::*;
use imports::*;
use lifetimes::*;
use platform::*;
use power::*;
use processes::*;

/// Every test: its name, what it needs of the first bound device (a guest
/// whose first device lacks it prints `SKIP name: reason`; see
/// [`Env::lacks`]), and the test.
type Test = (&'static str, Needs, fn(&Env) -> Outcome);

const TESTS: &[Test] = &[
    ("bound-with-uio-maps", Needs::Pci, t_bound_with_uio_maps),
    ("bar0-mmap-registers", Needs::Edu, t_bar0_mmap_registers),
    ("irq-through-uio", Needs::Edu, t_irq_through_uio),
    (
        "bus-master-follows-uio-files",
        Needs::Pci,
        t_bus_master_follows_uio_files,
    ),
    ("info", Needs::Any, t_info),
    ("import-system-heap", Needs::Any, t_import_system_heap),
    (
        "import-udmabuf-scattered",
        Needs::Any,
        t_import_udmabuf_scattered,
    ),
    (
        "import-every-direction",
        Needs::Any,
        t_import_every_direction,
    ),
    ("contiguous-flag", Needs::Any, t_contiguous_flag),
    (
        "handles-small-and-per-file",
        Needs::Any,
        t_handles_are_small_and_per_file,
    ),
    (
        "same-buffer-once-per-device",
        Needs::Any,
        t_same_buffer_once_per_device,
    ),
    (
        "dmabuf-outlives-its-fd",
        Needs::Any,
        t_dmabuf_outlives_its_fd,
    ),
    ("close-without-release", Needs::Any, t_close_without_release),
    ("import-errors", Needs::Any, t_import_errors),
    (
        "import-needs-a-writable-uio-fd",
        Needs::Any,
        t_import_needs_a_writable_uio_fd,
    ),
    (
        "output-fault-undoes-import",
        Needs::Any,
        t_argument_struct_fault_after_import,
    ),
    (
        "outputs-are-fully-written",
        Needs::Any,
        t_outputs_are_fully_written,
    ),
    ("other-ioctl-errors", Needs::Any, t_other_ioctl_errors),
    ("smoke-dma-one-page", Needs::Edu, t_smoke_dma_one_page),
    (
        "dma-stopped-when-the-importer-dies",
        Needs::Edu,
        t_dma_stopped_when_the_importer_dies,
    ),
    (
        "memory-beyond-the-mask",
        Needs::Any,
        t_memory_beyond_the_mask,
    ),
    ("debugfs-counters", Needs::Any, t_debugfs_counters),
    (
        "unprivileged-needs-the-uio-node",
        Needs::Any,
        t_unprivileged_needs_the_uio_node,
    ),
    (
        "kill-9-releases-everything",
        Needs::Any,
        t_kill_9_releases_everything,
    ),
    (
        "memory-back-to-baseline",
        Needs::Any,
        t_memory_back_to_baseline,
    ),
    (
        "binds-only-what-it-is-given",
        Needs::Edu,
        t_binds_only_what_it_is_given,
    ),
    (
        "new-id-binds-another-device",
        Needs::Pci,
        t_new_id_binds_another_device,
    ),
    (
        "foreign-uio-device-is-refused",
        Needs::Pci,
        t_foreign_uio_device_is_refused,
    ),
    ("threads-share-one-fd", Needs::Any, t_threads_share_one_fd),
    (
        "released-handle-answers-enoent",
        Needs::Any,
        t_released_handle_answers_enoent,
    ),
    (
        "unbind-with-imports-alive",
        Needs::Any,
        t_unbind_with_imports_alive,
    ),
    (
        "stale-uio-fd-stays-stale",
        Needs::Any,
        t_stale_uio_fd_stays_stale,
    ),
    ("unbind-during-imports", Needs::Any, t_unbind_during_imports),
    (
        "irqcontrol-cannot-undo-unbind",
        Needs::Edu,
        t_irqcontrol_cannot_undo_unbind,
    ),
    (
        "fds-closed-and-dup-ed-under-importers",
        Needs::Any,
        t_fds_closed_and_dup_ed_under_importers,
    ),
    (
        "rmmod-refused-while-open",
        Needs::Any,
        t_rmmod_refused_while_open,
    ),
    ("per-file-limits", Needs::Any, t_per_file_limits),
    ("per-device-limits", Needs::Any, t_per_device_limits),
    ("many-segments-paged", Needs::Any, t_many_segments_paged),
    ("max-segment-size", Needs::Any, t_max_segment_size),
    (
        "segments-are-the-physical-pages",
        Needs::Any,
        t_segments_are_the_physical_pages,
    ),
    (
        "driver-override-binds-another-device",
        Needs::Pci,
        t_driver_override_binds_another_device,
    ),
    (
        "unbind-restores-dma-settings",
        Needs::Pci,
        t_unbind_restores_dma_settings,
    ),
    (
        "probe-failure-leaves-nothing",
        Needs::Pci,
        t_probe_failure_leaves_nothing,
    ),
    ("cli-list", Needs::Any, t_cli_list),
    ("cli-import", Needs::Any, t_cli_import),
    (
        "platform-clocks-and-runtime-pm",
        Needs::DeviceTree,
        t_platform_clocks_and_runtime_pm,
    ),
];

/// Tests of x86 guests only, run with the others there: the platform test
/// device's registers lie in unassigned physical address space, which x86
/// reads without a fault where arm64 would take an external abort.
const X86_TESTS: &[Test] = if cfg!(target_arch = "x86_64") {
    &[("platform-device", Needs::Any, t_platform_device)]
} else {
    &[]
};

/// The tests run when none is named.
fn default_tests() -> impl Iterator<Item = &'static Test> {
    TESTS.iter().chain(X86_TESTS)
}

/// Tests that need a guest set up for them (see qemu/suite): run only when
/// named.
const ON_DEMAND: &[Test] = &[
    (
        "interrupt-not-connected",
        Needs::Edu,
        t_interrupt_not_connected,
    ),
    ("sub-page-bar", Needs::Pci, t_sub_page_bar),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--list") {
        for (name, _, _) in default_tests().chain(ON_DEMAND) {
            println!("{name}");
        }
        return ExitCode::SUCCESS;
    }
    if let Some(unknown) = args.iter().find(|a| {
        !default_tests()
            .chain(ON_DEMAND)
            .any(|(name, _, _)| name == a)
    }) {
        eprintln!("uio-dmabuf-tests: no test named {unknown:?} (--list lists them)");
        return ExitCode::FAILURE;
    }
    let mut failed = 0;
    let named = |name: &str| args.iter().any(|a| a == name);
    let chosen = default_tests()
        .filter(|(name, _, _)| args.is_empty() || named(name))
        .chain(ON_DEMAND.iter().filter(|(name, _, _)| named(name)));
    for (name, needs, test) in chosen {
        let start = std::time::Instant::now();
        let env = match Env::detect() {
            Ok(env) => env,
            Err(e) => {
                failed += 1;
                println!("FAIL {name}\n    | {e}");
                continue;
            }
        };
        if let Some(reason) = env.lacks(*needs) {
            println!("SKIP {name}: {reason}");
            continue;
        }
        // Every test must leave nothing mapped behind.
        let outcome = test(&env).and_then(|()| match summary() {
            Ok(s)
                if s.iter()
                    .any(|(k, v)| (k == "imports_alive" || k == "bytes_mapped") && *v != 0) =>
            {
                Err(format!("left imports behind: {s:?}"))
            }
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        });
        let took = start.elapsed().as_secs();
        match outcome {
            Ok(()) => println!("PASS {name} ({took} s)"),
            Err(msg) => {
                failed += 1;
                println!("FAIL {name} ({took} s)");
                for line in msg.lines() {
                    println!("    | {line}");
                }
            }
        }
    }
    println!("COUNT error-cases {}", ERROR_CASES.load(Ordering::Relaxed));
    println!("COUNT faults {}", FAULTS.load(Ordering::Relaxed));
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
