// SPDX-License-Identifier: GPL-2.0

#include <linux/pci.h>

__rust_helper struct resource *rust_helper_pci_resource_n(struct pci_dev *dev,
							  int bar)
{
	return pci_resource_n(dev, bar);
}

__rust_helper bool rust_helper_pci_intx_mask_supported(struct pci_dev *pdev)
{
	return pci_intx_mask_supported(pdev);
}
