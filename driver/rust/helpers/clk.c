// SPDX-License-Identifier: GPL-2.0

#include <linux/clk.h>

#ifndef CONFIG_HAVE_CLK
__rust_helper int rust_helper_clk_bulk_get_all(struct device *dev,
					       struct clk_bulk_data **clks)
{
	return clk_bulk_get_all(dev, clks);
}

__rust_helper void rust_helper_clk_bulk_put_all(int num_clks,
						struct clk_bulk_data *clks)
{
	clk_bulk_put_all(num_clks, clks);
}
#endif

__rust_helper int
rust_helper_clk_bulk_prepare_enable(int num_clks,
				    const struct clk_bulk_data *clks)
{
	return clk_bulk_prepare_enable(num_clks, clks);
}

__rust_helper void
rust_helper_clk_bulk_disable_unprepare(int num_clks,
				       const struct clk_bulk_data *clks)
{
	clk_bulk_disable_unprepare(num_clks, clks);
}
