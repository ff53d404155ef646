"""A position's meter as read through its optical port, in the run record: kept as the
meter stated it (registers to their own resolution, as decimal text), and refused with
the field at fault when it cannot be the position's meter or is not what a meter states."""

from __future__ import annotations

import json
from typing import Any

import pytest

from procedures.record import MeterIdentity, MeterRegister, Position, RecordError

IDENTITY: dict[str, Any] = {
    "protocol": "iec62056-21",
    "port": "socket://192.0.2.9:4001",
    "serial": "EM-25-004501",
    "serial_code": "C.1.0",
    "registers": [
        {"code": "1.8.0", "value": "1234.50", "unit": "kWh"},
        {"code": "2.8.0", "value": "0", "unit": "Wh"},
    ],
    "read_at": "2026-12-06T08:00:00+00:00",
}


def position(**identity: Any) -> dict[str, Any]:
    return {
        "position": 1,
        "instrument": {"serial": "EM-25-004501", "type": "electricity-meter", "parameters": {}},
        "state": "skipped",
        "reason": "not mounted",
        "points": [],
        "identity": {**IDENTITY, **identity},
    }


def test_the_identity_read_is_kept_as_the_meter_stated_it() -> None:
    read = Position.from_json(position(), "positions[0]")
    assert read.identity == MeterIdentity(
        protocol="iec62056-21",
        port="socket://192.0.2.9:4001",
        serial="EM-25-004501",
        serial_code="C.1.0",
        registers=(MeterRegister("1.8.0", "1234.50", "kWh"), MeterRegister("2.8.0", "0", "Wh")),
        read_at="2026-12-06T08:00:00+00:00",
    )
    # the trailing zero of a register of two decimals stays: an indication is not rounded
    assert json.loads(json.dumps(read.to_json())) == position()
    assert "identity" not in Position.from_json({**position(), "identity": None}).to_json()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"serial": "EM-25-009999"}, "positions[0].identity.serial", "states serial EM-25-009999"),
        ({"protocol": "modbus"}, "positions[0].identity.protocol", "must be one of"),
        (
            {"registers": [{"code": "1.8.0", "value": 1234.5, "unit": "kWh"}]},
            "positions[0].identity.registers[0].value",
            "must be decimal text",
        ),
        (
            {"registers": [{"code": "1.8.0", "value": "1.2e3", "unit": "kWh"}]},
            "positions[0].identity.registers[0].value",
            "not a plain decimal number",
        ),
        ({"registers": []}, "positions[0].identity.registers", "must not be empty"),
        ({"read_at": "2026-12-06T08:00:00"}, "positions[0].identity.read_at", "UTC offset"),
    ],
)
def test_an_identity_that_cannot_be_the_position_s_meter_is_refused_naming_the_field(
    change: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(RecordError, match=message) as caught:
        Position.from_json(position(**change), "positions[0]")
    assert caught.value.field == field
