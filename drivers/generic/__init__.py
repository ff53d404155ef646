"""Drivers described by data rather than code (Modbus register maps)."""
