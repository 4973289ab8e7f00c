// SPDX-License-Identifier: MIT OR Apache-2.0

//! CPU placement: the calling thread and device interrupts on one CPU.
//!
//! Under QEMU's TCG, a wake-up that crosses vCPUs (an interrupt on one, its
//! waiter on the other) costs several times one that does not, and which case
//! a run gets depends on where the scheduler happened to put the waiter: the
//! interrupt benchmarks put both on CPU 0.

use std::fs;
use std::io;

/// Pins the calling thread (and the children it forks) to CPU 0.
pub fn pin_thread_to_cpu0() -> io::Result<()> {
    // SAFETY: A zeroed cpu_set_t is a valid empty set; CPU_SET and
    // sched_setaffinity only touch it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        if libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Lets the calling thread run on every CPU again.
pub fn unpin_thread() {
    // SAFETY: As in `pin_thread_to_cpu0`, with every CPU in the set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in 0..libc::CPU_SETSIZE as usize {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The interrupts of some PCI devices on CPU 0 until dropped (then each on its
/// former CPUs again).
pub struct IrqsOnCpu0 {
    irqs: Vec<(String, String)>,
}

impl IrqsOnCpu0 {
    /// Pins the interrupt line of each of `pci_devices`
    /// (`/sys/bus/pci/devices/*/irq`, through `/proc/irq/N/smp_affinity_list`).
    pub fn new(pci_devices: &[&str]) -> io::Result<Self> {
        let mut this = Self { irqs: Vec::new() };
        for pci in pci_devices {
            let irq = fs::read_to_string(format!("/sys/bus/pci/devices/{pci}/irq"))?;
            let path = format!("/proc/irq/{}/smp_affinity_list", irq.trim());
            let old = fs::read_to_string(&path)?;
            fs::write(&path, "0")?;
            this.irqs.push((path, old.trim().to_string()));
        }
        Ok(this)
    }
}

impl Drop for IrqsOnCpu0 {
    fn drop(&mut self) {
        for (path, old) in &self.irqs {
            let _ = fs::write(path, old);
        }
    }
}
