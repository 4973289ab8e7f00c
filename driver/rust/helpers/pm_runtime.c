// SPDX-License-Identifier: GPL-2.0

#include <linux/pm_runtime.h>

#ifndef CONFIG_PM
__rust_helper void rust_helper_pm_runtime_enable(struct device *dev)
{
	pm_runtime_enable(dev);
}
#endif

__rust_helper void rust_helper_pm_runtime_disable(struct device *dev)
{
	pm_runtime_disable(dev);
}

__rust_helper int rust_helper_pm_runtime_resume_and_get(struct device *dev)
{
	return pm_runtime_resume_and_get(dev);
}

__rust_helper int rust_helper_pm_runtime_put_sync(struct device *dev)
{
	return pm_runtime_put_sync(dev);
}
