"""A generic Modbus device described by a register-map YAML file.

Energy meters, flow computers and reference meters differ mostly in their register
tables, and those tables change between models and firmware versions (the SDM630 V1.7
map differs from the classic one). So the table is data, versioned per model, in a file
(shipped examples in ``drivers/maps/``)::

    device: Eastron SDM120            # free text, reported as the identity's model
    registers:
      - name: voltage                 # [A-Za-z0-9_.-]+, unique; probed as register:voltage
        address: 0                    # PDU address (0-based, as on the wire), 0..65535
        function: input               # input (FC 04) or holding (FC 03)
        type: float32                 # int16, uint16, int32, uint32, float32
        word_order: big               # big (high word first) or little; 32-bit types only,
                                      #   and required for them: it is never guessed
        scale: 1                      # value = decoded number × scale (optional, default 1)
        unit: V                       # unit of the scaled value
        description: L-N voltage      # optional

Every mistake is refused when the file is loaded, with the file, the line and the key at
fault (:class:`RegisterMapError`), so a wrong map never reaches an instrument. Bytes
within a register are big-endian, as Modbus specifies.

The map is given by :attr:`~drivers.driver.DriverOptions.map_file` (``--map`` on the
command line) or, for simulators, by a ``map=PATH`` option in the address, which is
taken out before the address reaches the Modbus transport; when both are given they must
name the same file.
"""

from __future__ import annotations

import math
import os
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Final, Literal, Self, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml

from drivers.capabilities import Capability, Direction, DriverCapabilities, Function, Span
from drivers.driver import DriverOptions
from drivers.errors import AddressError, DriverError, GarbledResponse, IdentityMismatch, OutOfRange
from drivers.iolog import IOLog
from drivers.reading import Identity, Reading, utc_now
from drivers.transports.modbus import ModbusTransport

__all__ = [
    "TYPES",
    "ModbusMapDevice",
    "RegisterEntry",
    "RegisterMap",
    "RegisterMapError",
    "decode",
    "encode",
    "load_register_map",
    "split_map_option",
]

RegisterType = Literal["int16", "uint16", "int32", "uint32", "float32"]
TYPES: Final[dict[str, tuple[int, str]]] = {
    "int16": (1, ">h"),
    "uint16": (1, ">H"),
    "int32": (2, ">i"),
    "uint32": (2, ">I"),
    "float32": (2, ">f"),
}
"""Register type → (number of 16-bit registers, struct format, big-endian)."""

_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_ENTRY_KEYS = frozenset(
    {"name", "address", "function", "type", "word_order", "scale", "unit", "description"}
)
_TOP_KEYS = frozenset({"device", "registers", "notes"})
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_STR = "tag:yaml.org,2002:str"


class RegisterMapError(DriverError, ValueError):
    """A register-map file that cannot be used: ``file``, ``line`` (1-based) and ``key``
    say where."""

    def __init__(self, message: str, *, file: str, line: int | None, key: str | None) -> None:
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: " + (f"{key}: " if key else "") + message)
        self.file = file
        self.line = line
        self.key = key


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    """One mapped quantity: its registers, how to decode them and its unit."""

    name: str
    address: int
    function: Literal["holding", "input"]
    type: RegisterType
    word_order: Literal["big", "little"]
    scale: float
    unit: str
    description: str = ""

    @property
    def count(self) -> int:
        """Number of 16-bit registers the value occupies."""
        return TYPES[self.type][0]


@dataclass(frozen=True, slots=True)
class RegisterMap:
    """A loaded register map: ``device`` name, ``entries`` by name, ``path`` of the file."""

    device: str
    entries: Mapping[str, RegisterEntry]
    path: str


def decode(entry: RegisterEntry, words: tuple[int, ...] | list[int]) -> float:
    """The scaled value of ``entry`` from its registers (in ``entry.unit``).

    GarbledResponse when a float32 is NaN or infinite (not a reading).
    """
    ordered = list(words) if entry.word_order == "big" else list(reversed(words))
    data = b"".join(w.to_bytes(2, "big") for w in ordered)
    (number,) = struct.unpack(TYPES[entry.type][1], data)
    value = float(number) * entry.scale
    if not math.isfinite(value):
        raise GarbledResponse(
            f"register {entry.name} does not hold a finite number",
            expected="a finite number",
            received=data.hex(" "),
        )
    return value


def encode(entry: RegisterEntry, value: float) -> list[int]:
    """The registers holding ``value`` (in ``entry.unit``): the inverse of :func:`decode`.

    Integer types round ``value / scale`` to the nearest integer (a simulated device's own
    quantisation); ValueError when it does not fit the type.
    """
    number = value / entry.scale
    fmt = TYPES[entry.type][1]
    try:
        data = struct.pack(fmt, number if entry.type == "float32" else round(number))
    except struct.error as err:
        raise ValueError(
            f"{value!r} {entry.unit} does not fit {entry.name} ({entry.type})"
        ) from err
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return words if entry.word_order == "big" else list(reversed(words))


# -- loading ---------------------------------------------------------------------------------


def load_register_map(path: str | os.PathLike[str]) -> RegisterMap:
    """Load and validate a register-map YAML file; RegisterMapError naming file, line, key."""
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RegisterMapError(
            f"cannot read the file: {err}", file=file, line=None, key=None
        ) from err
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(err, "problem", None) or str(err)
        raise RegisterMapError(
            f"not valid YAML: {problem}", file=file, line=line, key=None
        ) from err
    return _Loader(file).load(root)


class _Loader:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, node: yaml.Node | None, key: str | None, message: str) -> RegisterMapError:
        line = node.start_mark.line + 1 if node is not None else None
        return RegisterMapError(message, file=self.file, line=line, key=key)

    def mapping(
        self, node: yaml.Node, what: str, allowed: frozenset[str], key: str | None
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, key, f"{what} must be a mapping")
        found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(name, str) or key_node.tag != _STR:
                raise self.fail(key_node, None, f"{what} keys must be plain names")
            if name in found:
                raise self.fail(key_node, name, "given twice")
            if name not in allowed:
                raise self.fail(
                    key_node, name, f"unknown key (allowed: {', '.join(sorted(allowed))})"
                )
            found[name] = (key_node, value_node)
        return found

    def load(self, root: yaml.Node | None) -> RegisterMap:
        if root is None:
            raise self.fail(None, None, "the file is empty")
        top = self.mapping(root, "the map", _TOP_KEYS, None)
        for required in ("device", "registers"):
            if required not in top:
                raise self.fail(root, required, "missing")
        device = self.text(top["device"][1], "device")
        registers = top["registers"][1]
        if not isinstance(registers, yaml.SequenceNode) or not registers.value:
            raise self.fail(registers, "registers", "must be a non-empty list of registers")
        entries: dict[str, RegisterEntry] = {}
        for item in registers.value:
            entry = self.entry(item)
            if entry.name in entries:
                raise self.fail(item, "name", f"register {entry.name!r} is mapped twice")
            entries[entry.name] = entry
        return RegisterMap(device, entries, self.file)

    def entry(self, node: yaml.Node) -> RegisterEntry:
        fields = self.mapping(node, "a register", _ENTRY_KEYS, None)
        for required in ("name", "address", "function", "type", "unit"):
            if required not in fields:
                raise self.fail(node, required, "missing")
        name = self.text(fields["name"][1], "name")
        if not _NAME.fullmatch(name):
            raise self.fail(fields["name"][1], "name", "use letters, digits, '_', '.', '-'")
        function = self.choice(fields["function"][1], "function", ("holding", "input"))
        kind = self.choice(fields["type"][1], "type", tuple(TYPES))
        count = TYPES[kind][0]
        address_node = fields["address"][1]
        address = self.integer(address_node, "address")
        if not 0 <= address <= 0x10000 - count:
            raise self.fail(address_node, "address", f"must be 0..{0x10000 - count} for a {kind}")
        if "word_order" in fields:
            order = self.choice(fields["word_order"][1], "word_order", ("big", "little"))
            if count == 1:
                raise self.fail(fields["word_order"][0], "word_order", f"a {kind} has one word")
        elif count == 2:
            raise self.fail(node, "word_order", f"missing: a {kind} needs big or little")
        else:
            order = "big"
        scale = 1.0
        if "scale" in fields:
            scale_node = fields["scale"][1]
            scale = self.number(scale_node, "scale")
            if scale == 0 or not math.isfinite(scale):
                raise self.fail(scale_node, "scale", "must be a finite non-zero number")
        unit = self.text(fields["unit"][1], "unit")
        description = (
            self.text(fields["description"][1], "description") if ("description" in fields) else ""
        )
        return RegisterEntry(
            name,
            address,
            cast(Literal["holding", "input"], function),
            cast(RegisterType, kind),
            cast(Literal["big", "little"], order),
            scale,
            unit,
            description,
        )

    def text(self, node: yaml.Node, key: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR or not node.value.strip():
            raise self.fail(node, key, "must be non-empty text")
        return str(node.value).strip()

    def choice(self, node: yaml.Node, key: str, allowed: tuple[str, ...]) -> str:
        value = node.value if isinstance(node, yaml.ScalarNode) else None
        if value not in allowed or node.tag != _STR:
            raise self.fail(node, key, f"must be one of {', '.join(allowed)}, got {value!r}")
        return str(value)

    def integer(self, node: yaml.Node, key: str) -> int:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _INT:
            raise self.fail(node, key, f"must be an integer, got {getattr(node, 'value', '?')!r}")
        value: object = yaml.SafeLoader("").construct_object(node)
        assert isinstance(value, int)
        return value

    def number(self, node: yaml.Node, key: str) -> float:
        if not isinstance(node, yaml.ScalarNode) or node.tag not in {_INT, _FLOAT}:
            raise self.fail(node, key, f"must be a number, got {getattr(node, 'value', '?')!r}")
        value: object = yaml.SafeLoader("").construct_object(node)
        assert isinstance(value, int | float)
        return float(value)


# -- the driver ------------------------------------------------------------------------------


def split_map_option(address: str) -> tuple[str, str | None]:
    """Split a ``map=PATH`` option out of ``address``: (Modbus address, path or None)."""
    parts = urlsplit(address)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    paths = [v for k, v in pairs if k == "map"]
    if len(paths) > 1 or (paths and not paths[0]):
        raise AddressError("one non-empty map=PATH option at most", address=address)
    rest = urlencode([(k, v) for k, v in pairs if k != "map"])
    return urlunsplit(parts._replace(query=rest)), (paths[0] if paths else None)


class ModbusMapDevice:
    """A Modbus device read through a register map.

    Implements :class:`~drivers.capabilities.RegisterReader`: each mapped name reads as
    one :class:`~drivers.reading.Reading` in the map's unit for it.
    """

    name: ClassVar[str] = "modbus-map"
    capabilities: ClassVar[DriverCapabilities] = DriverCapabilities(
        (
            Capability(
                Function.REGISTER,
                "mapped register value",
                "as mapped",
                Direction.MEASURE,
                (Span(-3.4028234663852886e38, 3.4028234663852886e38),),
                notes="quantities, units and resolution come from the register-map file "
                "(--map); probe one as register:NAME",
            ),
        )
    )

    def __init__(self, transport: ModbusTransport, register_map: RegisterMap, address: str):
        self._transport = transport
        self._map = register_map
        self._address = address
        self._identity = Identity(
            "", register_map.device, "", "", raw=f"register map {register_map.path}"
        )

    @classmethod
    def open(cls, address: str, options: DriverOptions | None = None) -> Self:
        """Load and validate the map, then connect and read the first mapped entry (the
        device must answer it); nothing is sent before the map is valid.

        AddressError without a map; IdentityMismatch when an expected serial is configured
        (a map has no serial-number register to check yet).
        """
        options = options or DriverOptions()
        modbus_address, in_address = split_map_option(address)
        given = options.map_file
        if (
            given is not None
            and in_address is not None
            and Path(given).resolve() != Path(in_address).resolve()
        ):
            raise AddressError(
                "the address and the options name different register maps",
                address=address,
            )
        path = given if given is not None else in_address
        if path is None:
            raise AddressError(
                "the modbus-map driver needs a register-map file",
                address=address,
                expected="--map FILE (DriverOptions.map_file) or map=FILE in the address",
            )
        register_map = load_register_map(path)
        if options.expected_serial is not None:
            raise IdentityMismatch(
                "a register map has no serial number to check",
                expected_identity=options.expected_serial,
                actual_identity="unknown",
                address=address,
            )
        transport = ModbusTransport(modbus_address, settings=options.transport_settings())
        driver = cls(transport, register_map, address)
        try:
            driver._check_presence()
        except BaseException:
            transport.close()
            raise
        return driver

    def _check_presence(self) -> None:
        """Read the first mapped entry's registers (undecoded) before the driver is handed
        out.

        Kept for its own sake: a Modbus TCP gateway accepts the connection even when the
        meter behind it is off or has another unit id, so only an answer shows that the
        device is there and that the map's first address and function fit it. (It once
        also hid a simulator bug, a socket left open when a client connected and sent
        nothing; that is fixed in :class:`~drivers.transports.modbus.RegisterServer`.)
        """
        entry = next(iter(self._map.entries.values()))
        self._words(entry)

    def _words(self, entry: RegisterEntry) -> tuple[int, ...]:
        try:
            if entry.function == "input":
                return self._transport.read_input_registers(entry.address, entry.count)
            return self._transport.read_holding_registers(entry.address, entry.count)
        except DriverError as err:
            err.address = self._address
            raise

    @property
    def address(self) -> str:
        """The address as given."""
        return self._address

    @property
    def io_log(self) -> IOLog:
        """Every Modbus request and response, timestamped."""
        return self._transport.io_log

    @property
    def identity(self) -> Identity:
        """The map's device name (no identity register is read)."""
        return self._identity

    @property
    def register_map(self) -> RegisterMap:
        """The loaded map."""
        return self._map

    @property
    def register_names(self) -> tuple[str, ...]:
        """The mapped names, in file order."""
        return tuple(self._map.entries)

    def read_register(self, name: str) -> Reading:
        """Read register ``name``: its scaled value in its mapped unit.

        OutOfRange for a name the map does not have; Modbus faults raise their typed error.
        """
        entry = self._map.entries.get(name)
        if entry is None:
            raise OutOfRange(
                f"the map has no register {name!r}",
                parameter="register",
                value=name,
                allowed=", ".join(self._map.entries),
                address=self._address,
            )
        words = self._words(entry)
        try:
            raw = f"{entry.function} {entry.address} x{entry.count} = " + " ".join(
                f"{w:04x}" for w in words
            )
            value = decode(entry, words)
        except DriverError as err:
            err.address = self._address
            err.last_command = self._transport.last_command
            raise
        return Reading(
            value, entry.unit, utc_now(), raw=raw, function=f"{Function.REGISTER.value}:{name}"
        )

    def close(self) -> None:
        """Release the link; idempotent."""
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
