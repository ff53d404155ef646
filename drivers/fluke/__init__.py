"""Fluke Calibration instruments."""
