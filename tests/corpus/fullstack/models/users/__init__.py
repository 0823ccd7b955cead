"""Users and their API schemas (a subpackage: found like any top-level module)."""
