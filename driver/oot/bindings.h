/* SPDX-License-Identifier: GPL-2.0 */
/* What bindgen generates module-local Rust bindings for (see Kbuild). */
#include <linux/uio_driver.h>
#include "helpers.h"
#include "../uio_dmabuf/of_id.h"
#include "../../uapi/uio_dmabuf.h"
