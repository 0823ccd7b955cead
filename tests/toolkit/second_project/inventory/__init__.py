"""A second, minimal project: proof that the migration toolkit serves more than bookshelf."""
