// SPDX-License-Identifier: GPL-2.0
/* The driver's C helpers, compiled into this module too (a Kbuild object
 * cannot be part of two modules). */
#include "../../driver/oot/helpers.c"
