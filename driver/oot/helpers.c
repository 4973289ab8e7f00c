// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-tree build only. The C helpers that the in-tree series adds to
 * rust/helpers/ (driver/rust/helpers/, the same files), compiled into the
 * module as rust/helpers/helpers.c compiles them into the kernel; and the
 * function the series adds to the UIO core (compat.c). Kbuild renames every
 * one of them to a module-private uio_dmabuf_oot_ name, which bindgen hands
 * to Rust under the in-tree name.
 */

#define __rust_helper

#include "../rust/helpers/clk.c"
#include "../rust/helpers/dma.c"
#include "../rust/helpers/iommu.c"
#include "../rust/helpers/irq.c"
#include "../rust/helpers/pci.c"
#include "../rust/helpers/pm_runtime.c"
#include "../rust/helpers/task.c"

#include "compat.c"
