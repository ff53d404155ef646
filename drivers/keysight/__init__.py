"""Keysight Technologies instruments."""
