"""Druck (Baker Hughes, formerly GE) pressure instruments."""
