"""Instrument types, approved patterns, and customers' instruments."""
