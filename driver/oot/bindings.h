/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Out-of-tree build only: what bindgen reads for oot/bindings.rs. In-tree,
 * these headers are in rust/bindings/bindings_helper.h and the helpers in
 * rust/helpers/helpers.c.
 */
#include <linux/clk.h>
#include <linux/dma-buf.h>
#include <linux/iommu.h>
#include <linux/irq.h>
#include <linux/pm_runtime.h>
#include <linux/uio_driver.h>
#include "helpers.c"
