"""The council's view: dashboard per plan and measure finder."""
