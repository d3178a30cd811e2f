"""`station bench`: the session benchmark (background saving against a synchronous baseline) and commit cost."""
