"""Business rules of REFERENCE_RULES.md §3 as pure PySpark functions: DataFrames in, DataFrame out, no I/O."""
