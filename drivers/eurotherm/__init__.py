"""Eurotherm instruments."""
