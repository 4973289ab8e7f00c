// SPDX-License-Identifier: GPL-2.0
/* The driver's out-of-tree C helpers, compiled into this module too (a Kbuild
 * object cannot be part of two modules), under the same module-private names
 * (Kbuild). */
#include "../../driver/oot/helpers.c"
