"""Mettler Toledo instruments."""
