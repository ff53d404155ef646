"""Instruments read by eye: the operator types the value at a prompt (manual entry)."""

from drivers.manual.entry import (
    EntryAborted,
    EntryRefused,
    ManualEntry,
    ManualEntryConfig,
    ManualLengthGauge,
    ManualPressureGauge,
    ManualThermometer,
    ManualVolumeRegister,
    parse_manual_address,
    parse_typed_number,
)

__all__ = [
    "EntryAborted",
    "EntryRefused",
    "ManualEntry",
    "ManualEntryConfig",
    "ManualLengthGauge",
    "ManualPressureGauge",
    "ManualThermometer",
    "ManualVolumeRegister",
    "parse_manual_address",
    "parse_typed_number",
]
