// SPDX-License-Identifier: GPL-2.0

#include <linux/irq.h>

__rust_helper struct irq_chip *rust_helper_irq_get_chip(unsigned int irq)
{
	return irq_get_chip(irq);
}

__rust_helper u32 rust_helper_irq_get_trigger_type(unsigned int irq)
{
	return irq_get_trigger_type(irq);
}

__rust_helper void rust_helper_irq_set_status_flags(unsigned int irq,
						    unsigned long set)
{
	irq_set_status_flags(irq, set);
}
