// SPDX-License-Identifier: GPL-2.0

//! What a driver may need to know about the calling task, and giving the CPU up.
//!
//! C header: [`include/linux/sched.h`](srctree/include/linux/sched.h)

use crate::{
    bindings,
    task::Task, //
};

/// Whether the calling task is exiting (`do_exit` is closing its files) or is a
/// kernel thread (dropping a file's last reference on behalf of nobody, e.g. a
/// deferred `fput`): a file released here was not closed by a live process on
/// purpose.
pub fn current_is_exiting() -> bool {
    // SAFETY: `current` is always a valid task, and its `flags` change only in
    // the task itself.
    let flags = unsafe { (*Task::current_raw()).flags };
    flags & (bindings::PF_EXITING | bindings::PF_KTHREAD) != 0
}

/// Gives the CPU up if a reschedule is due (`cond_resched`): returns whether it
/// did. To be called only where sleeping is allowed.
pub fn cond_resched() -> bool {
    // SAFETY: Always safe to call; sleeping where it is not allowed is a bug the
    // kernel reports, not undefined behaviour.
    unsafe { bindings::cond_resched() != 0 }
}
