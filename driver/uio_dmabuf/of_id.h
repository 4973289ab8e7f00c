/* SPDX-License-Identifier: GPL-2.0 */
/* The of_id module parameter's match table (see of_id.c). */
#ifndef UIO_DMABUF_OF_ID_H
#define UIO_DMABUF_OF_ID_H

struct of_device_id;

/*
 * The platform driver's OF match table: a zero-terminated array, in module
 * data, written only by the parameter parser before module init.
 */
const struct of_device_id *uio_dmabuf_of_id_table(void);

#endif
