// SPDX-License-Identifier: GPL-2.0

#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>

__rust_helper void rust_helper_dma_sync_single_for_cpu(struct device *dev,
						       dma_addr_t addr,
						       size_t size,
						       enum dma_data_direction dir)
{
	dma_sync_single_for_cpu(dev, addr, size, dir);
}

__rust_helper void rust_helper_dma_sync_single_for_device(struct device *dev,
							  dma_addr_t addr,
							  size_t size,
							  enum dma_data_direction dir)
{
	dma_sync_single_for_device(dev, addr, size, dir);
}

__rust_helper bool rust_helper_dma_dev_need_sync(const struct device *dev)
{
	return dma_dev_need_sync(dev);
}

__rust_helper bool rust_helper_dma_need_sync(struct device *dev,
					     dma_addr_t dma_addr)
{
	return dma_need_sync(dev, dma_addr);
}

__rust_helper u64 rust_helper_dma_get_mask(struct device *dev)
{
	return dma_get_mask(dev);
}

__rust_helper unsigned int rust_helper_dma_get_max_seg_size(struct device *dev)
{
	return dma_get_max_seg_size(dev);
}

__rust_helper bool rust_helper_dev_is_dma_coherent(struct device *dev)
{
	return dev_is_dma_coherent(dev);
}
