// SPDX-License-Identifier: GPL-2.0

#include <linux/device.h>
#include <linux/iommu.h>

__rust_helper bool rust_helper_device_iommu_mapped(struct device *dev)
{
	return device_iommu_mapped(dev);
}

__rust_helper bool rust_helper_iommu_is_dma_domain(struct iommu_domain *domain)
{
	return iommu_is_dma_domain(domain);
}

#ifndef CONFIG_IOMMU_API
__rust_helper struct iommu_domain *
rust_helper_iommu_get_domain_for_dev(struct device *dev)
{
	return iommu_get_domain_for_dev(dev);
}

__rust_helper phys_addr_t
rust_helper_iommu_iova_to_phys(struct iommu_domain *domain, dma_addr_t iova)
{
	return iommu_iova_to_phys(domain, iova);
}
#endif
