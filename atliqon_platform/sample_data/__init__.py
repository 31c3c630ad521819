"""Data to run the platform on: the real reference dataset, or synthetic data at any scale."""
