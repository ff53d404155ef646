"""Customers' requests for a calibration or a verification, and the center's answers."""
