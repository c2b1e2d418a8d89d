"""Herald's core: campaign logic, storage and data, free of any UI."""
