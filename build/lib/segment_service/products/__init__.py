"""Product Service (a subset): `/product/{tenant}/products…`, and product look-ups for segments and categories."""
