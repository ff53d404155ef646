"""The bench configuration: which LIMS, which key and token, which outbox, which instruments.

A YAML file such as::

    bench: bench-electrical        # the agent's name in the LIMS
    organization: HN
    lims: http://127.0.0.1:8000    # base URL
    key: HN-bench-electrical.pem   # relative paths are relative to this file
    token: HN-bench-electrical.token     # file holding the agent token (cta_...)
    outbox: ../agent/HN-bench-electrical.sqlite3
    roles:
      source: {driver: fluke-5522a, address: "TCPIP::10.0.0.5::5025::SOCKET", asset_id: HN-E-5522A}
      uut:    {driver: keysight-34465a, address: "TCPIP::10.0.0.6::5025::SOCKET", serial: MY123}
      weights: {driver: none, asset_id: HN-M-F2-01}   # a passive standard: no instrument

A multi-position bench (meters in series) names its positions instead of a ``uut``
role: how many, and the instrument each holds (``positions: {count: 3, each: {1: {...},
2: {...}, 3: {...}}}``), each with the keys of a role and its serial number. A position
whose meter is read through its optical port says where the probe is: ``optical: {port:
"/dev/ttyUSB3", device_address: "12345678"}`` (the device address is optional).

Every mistake is refused with the file, the line and the key: unknown keys, a driver
that is not registered, a missing address, positions that disagree with their count.
The token is read from its file (or from the ``CALTRACE_AGENT_TOKEN`` environment
variable, which wins) and is never printed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from drivers.errors import AddressError
from drivers.optical.addresses import is_dlms_address
from drivers.optical.iec62056_21 import check_device_address
from drivers.registry import names as driver_names
from procedures.bench import POSITION_ROLE, BenchPosition, BenchRole, optical_role
from procedures.record import PositionInstrument

from .keys import KeyFileError, check_private_file

__all__ = [
    "NO_DRIVER",
    "TOKEN_ENV",
    "BenchConfig",
    "ConfigError",
    "OpticalPort",
    "load_bench",
]

TOKEN_ENV = "CALTRACE_AGENT_TOKEN"
NO_DRIVER = "none"  # a passive standard (weights, a gauge block): nothing to open
TOKEN_PREFIX = "cta_"

_TOP_KEYS = {
    "bench": True,
    "organization": True,
    "lims": True,
    "key": True,
    "token": False,  # may come from the environment instead
    "outbox": True,
    "roles": True,
    "positions": False,
}
_ROLE_KEYS = {"driver", "address", "asset_id", "serial", "options"}
_POSITIONS_KEYS = {"count", "each"}
_OPTICAL_KEYS = {"port", "device_address"}


class ConfigError(ValueError):
    """A bench configuration that cannot be used; names the file, line and key."""

    def __init__(self, path: Path, message: str, *, line: int | None = None, key: str = "") -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {key + ': ' if key else ''}{message}")
        self.path = path
        self.line = line
        self.key = key


@dataclass(frozen=True, slots=True)
class OpticalPort:
    """Where a position's meter is read through its optical port: the probe's ``port``
    (a device path, ``serial://`` or ``socket://`` URL for IEC 62056-21; ``dlms+hdlc://``
    or ``dlms+tcp://`` for DLMS/COSEM) and the meter's IEC 62056-21 ``device_address``
    ("" for whichever meter is on the probe)."""

    port: str
    device_address: str = ""


@dataclass(frozen=True)
class BenchConfig:
    """A loaded bench configuration; paths are absolute."""

    path: Path
    bench: str
    organization: str
    lims: str
    key: Path
    outbox: Path
    roles: dict[str, BenchRole]
    token: str = field(repr=False)
    positions: dict[int, BenchRole] = field(default_factory=dict)
    """A multi-position bench's instrument under test at each position, by number from 1
    (role ``uut@N``); empty for a bench of one."""
    optical: dict[int, OpticalPort] = field(default_factory=dict)
    """The optical port of the positions that have one, by position number."""
    lines: dict[str, int] = field(default_factory=dict)
    """The line of the file where ``positions`` and each ``positions.each.N`` are given,
    so that a refusal found later (against the job or the procedure) names it."""

    def where(self, key: str) -> str:
        """``FILE:LINE: KEY`` of ``key`` (``positions``, ``positions.each.3``), for a
        refusal that names the place in the bench file."""
        line = self.lines.get(key)
        return f"{self.path}:{line}: {key}" if line is not None else f"{self.path}: {key}"

    @property
    def bench_roles(self) -> dict[str, BenchRole]:
        """Every role the bench opens: its roles, each position's and each position's
        optical port (:attr:`optical_roles`). A position's serial is its instrument's
        identity; a register read by eye reports none, so its driver is not asked to
        check it."""
        opened = {
            r.role: replace(r, serial=None) if r.driver == "manual" else r
            for r in self.positions.values()
        }
        return {**self.roles, **opened, **self.optical_roles}

    @property
    def optical_roles(self) -> dict[str, BenchRole]:
        """The optical port of each position that has one, as a role of the bench
        (``optical@N``): driver ``dlms-cosem`` for a ``dlms+`` port, else ``iec62056-21``
        (the meter's device address as ``#device=``), the position's serial (the meter
        states it when opened) and options."""
        out: dict[str, BenchRole] = {}
        for number, port in sorted(self.optical.items()):
            position = self.positions[number]
            dlms = is_dlms_address(port.port)
            device = f"#device={port.device_address}" if port.device_address and not dlms else ""
            name = optical_role(position.role)
            out[name] = BenchRole(
                role=name,
                driver="dlms-cosem" if dlms else "iec62056-21",
                address=port.port + device,
                serial=position.serial,
                options=position.options,
            )
        return out

    def bench_positions(
        self, instrument_type: str, parameters: Mapping[str, Any]
    ) -> list[BenchPosition]:
        """The runner's positions: each position's instrument by its serial number, of
        ``instrument_type`` with the specification ``parameters``."""
        return [
            BenchPosition(
                number=n,
                role=role.role,
                instrument=PositionInstrument(str(role.serial), instrument_type, dict(parameters)),
            )
            for n, role in sorted(self.positions.items())
        ]

    def public_dict(self) -> dict[str, Any]:
        """The configuration without the token, for display."""
        return {
            "path": str(self.path),
            "bench": self.bench,
            "organization": self.organization,
            "lims": self.lims,
            "key": str(self.key),
            "outbox": str(self.outbox),
            "roles": {
                name: {
                    "driver": r.driver,
                    "address": r.address,
                    "asset_id": r.asset_id,
                    "serial": r.serial,
                }
                for name, r in self.roles.items()
            },
            "positions": {
                number: {
                    "driver": r.driver,
                    "address": r.address,
                    "serial": r.serial,
                    **({"optical": self.optical[number].port} if number in self.optical else {}),
                }
                for number, r in self.positions.items()
            },
        }


def load_bench(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> BenchConfig:
    """Read and check the bench configuration at ``path``."""
    file = Path(path).resolve()
    env = os.environ if environ is None else environ
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(file, "no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(file, f"cannot be read ({err})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise ConfigError(
            file, f"not valid YAML: {err}", line=mark.line + 1 if mark else None
        ) from None
    if root is None:
        raise ConfigError(file, "the file is empty")
    top = _mapping(file, root, "")
    for name, (key_node, _) in top.items():
        if name not in _TOP_KEYS:
            raise ConfigError(
                file,
                f"unknown key (expected one of {', '.join(_TOP_KEYS)})",
                line=_line(key_node),
                key=name,
            )
    for name, required in _TOP_KEYS.items():
        if required and name not in top:
            raise ConfigError(file, "missing", line=_line(root), key=name)

    base = file.parent
    bench = _text(file, top, "bench")
    organization = _text(file, top, "organization")
    lims = _text(file, top, "lims").rstrip("/")
    parts = urlsplit(lims)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            file,
            f"not an http(s) URL with a host: {lims!r}",
            line=_line(top["lims"][1]),
            key="lims",
        )
    key = base / _text(file, top, "key")
    outbox = base / _text(file, top, "outbox")
    token = _token(file, top, base, env)
    roles = _roles(file, top["roles"])
    lines: dict[str, int] = {}
    positions, optical = (
        _positions(file, top["positions"], lines) if "positions" in top else ({}, {})
    )
    if positions and POSITION_ROLE in roles:
        raise ConfigError(
            file,
            "a bench with positions holds its instruments under test at its positions",
            line=_line(_mapping(file, top["roles"][1], "roles")[POSITION_ROLE][0]),
            key=f"roles.{POSITION_ROLE}",
        )
    return BenchConfig(
        path=file,
        bench=bench,
        organization=organization,
        lims=lims,
        key=key.resolve(),
        outbox=outbox.resolve(),
        roles=roles,
        token=token,
        positions=positions,
        optical=optical,
        lines=lines,
    )


def _token(file: Path, top: dict[str, tuple[Any, Any]], base: Path, env: Mapping[str, str]) -> str:
    if env.get(TOKEN_ENV, "").strip():
        token = env[TOKEN_ENV].strip()
        source = f"the {TOKEN_ENV} environment variable"
        line = None
    elif "token" in top:
        token_file = (base / _text(file, top, "token")).resolve()
        line = _line(top["token"][1])
        try:
            token = token_file.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            raise ConfigError(
                file, f"token file {token_file} does not exist", line=line, key="token"
            ) from None
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(
                file, f"token file {token_file} cannot be read ({err})", line=line, key="token"
            ) from None
        try:
            check_private_file(token_file, "the token file")
        except KeyFileError as err:
            raise ConfigError(file, err.problem, line=line, key="token") from None
        source = f"token file {token_file}"
    else:
        raise ConfigError(
            file, f"missing (or set the {TOKEN_ENV} environment variable)", key="token"
        )
    # Say where the token came from, never what it is.
    if not token.startswith(TOKEN_PREFIX) or any(c.isspace() for c in token):
        raise ConfigError(
            file,
            f"{source} does not hold an agent token ({TOKEN_PREFIX}...)",
            line=line,
            key="token",
        )
    return token


def _roles(file: Path, item: tuple[Any, Any]) -> dict[str, BenchRole]:
    _, node = item
    known = set(driver_names()) | {NO_DRIVER}
    roles: dict[str, BenchRole] = {}
    for role, (key_node, value_node) in _mapping(file, node, "roles").items():
        roles[role] = _role(file, role, key_node, value_node, f"roles.{role}", known)
    if not roles:
        raise ConfigError(file, "no role is configured", line=_line(node), key="roles")
    return roles


def _positions(
    file: Path, item: tuple[Any, Any], lines: dict[str, int]
) -> tuple[dict[int, BenchRole], dict[int, OpticalPort]]:
    """The positions: ``count`` of them, each described once under ``each`` by its number
    (1 to count) as a role of the instrument under test, with its serial number (one
    instrument at one position only); and the optical ports of those that have one.
    ``lines`` gets the line of each."""
    key_node, node = item
    lines["positions"] = _line(key_node)
    holders: dict[str, int] = {}
    fields = _known(file, node, "positions", _POSITIONS_KEYS)
    for name in sorted(_POSITIONS_KEYS):
        if name not in fields:
            raise ConfigError(file, "missing", line=_line(key_node), key=f"positions.{name}")
    count_node = fields["count"][1]
    count = _whole(count_node)
    if count is None or count < 1:
        raise ConfigError(
            file,
            "must be a whole number of positions, at least 1",
            line=_line(count_node),
            key="positions.count",
        )
    known = set(driver_names())
    out: dict[int, BenchRole] = {}
    optical: dict[int, OpticalPort] = {}
    for name, (k, value_node) in _mapping(file, fields["each"][1], "positions.each").items():
        where = f"positions.each.{name}"
        number = _whole(k)
        if number is None or not 1 <= number <= count:
            raise ConfigError(
                file,
                f"position {name}: the bench has {count} positions (1 to {count})",
                line=_line(k),
                key=where,
            )
        role = _role(file, f"{POSITION_ROLE}@{number}", k, value_node, where, known, optical=True)
        if role.asset_id is not None or role.serial is None:
            raise ConfigError(
                file,
                f"position {number} holds an instrument under test: its serial, no asset_id",
                line=_line(k),
                key=f"{where}.{'asset_id' if role.asset_id is not None else 'serial'}",
            )
        entry = _mapping(file, value_node, where)
        if "optical" in entry:
            optical[number] = _optical(file, entry["optical"], f"{where}.optical")
        if role.serial in holders:
            raise ConfigError(
                file,
                f"position {number} holds {role.serial}, as position {holders[role.serial]} "
                "does: an instrument is mounted at one position",
                line=_line(k),
                key=f"{where}.serial",
            )
        holders[str(role.serial)] = number
        lines[where] = _line(k)
        out[number] = role
    missing = [n for n in range(1, count + 1) if n not in out]
    if missing:
        raise ConfigError(
            file,
            f"position {missing[0]} of {count} is not described",
            line=_line(fields["each"][1]),
            key="positions.each",
        )
    return out, optical


def _optical(file: Path, item: tuple[Any, Any], where: str) -> OpticalPort:
    """A position's optical port: its probe's ``port`` and the meter's ``device_address``."""
    key_node, node = item
    fields = _known(file, node, where, _OPTICAL_KEYS)
    if "port" not in fields:
        raise ConfigError(file, "missing", line=_line(key_node), key=f"{where}.port")
    port = _text(file, fields, "port", where)
    device = _text(file, fields, "device_address", where) if "device_address" in fields else ""
    try:
        check_device_address(device)
    except AddressError as err:
        raise ConfigError(
            file,
            err.message,
            line=_line(fields["device_address"][1]),
            key=f"{where}.device_address",
        ) from None
    return OpticalPort(port, device)


def _known(file: Path, node: Any, where: str, keys: set[str]) -> dict[str, tuple[Any, Any]]:
    """The entries of the mapping at ``where``, each key one of ``keys``."""
    fields = _mapping(file, node, where)
    for name, (k, _) in fields.items():
        if name not in keys:
            raise ConfigError(
                file,
                f"unknown key (expected one of {', '.join(sorted(keys))})",
                line=_line(k),
                key=f"{where}.{name}",
            )
    return fields


def _whole(node: Any) -> int | None:
    """The whole number a scalar node holds, or None."""
    if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:int":
        return None
    return int(node.value)


def _role(
    file: Path,
    role: str,
    key_node: Any,
    value_node: Any,
    where: str,
    known: set[str],
    *,
    optical: bool = False,
) -> BenchRole:
    """One role's instrument (``where``: its place in the file); ``optical``: whether it
    may name an optical port (a position's meter), read by the caller."""
    fields = _known(file, value_node, where, _ROLE_KEYS | ({"optical"} if optical else set()))
    if "driver" not in fields:
        raise ConfigError(file, "missing", line=_line(key_node), key=f"{where}.driver")
    driver = _text(file, fields, "driver", where)
    if driver not in known:
        raise ConfigError(
            file,
            f"unknown driver {driver!r} (known: {', '.join(sorted(known))})",
            line=_line(fields["driver"][1]),
            key=f"{where}.driver",
        )
    address = _text(file, fields, "address", where) if "address" in fields else ""
    asset_id = _text(file, fields, "asset_id", where) if "asset_id" in fields else None
    serial = _text(file, fields, "serial", where) if "serial" in fields else None
    if driver == NO_DRIVER:
        if address:
            raise ConfigError(
                file,
                "a role without a driver has no address",
                line=_line(fields["address"][1]),
                key=f"{where}.address",
            )
        if asset_id is None:
            raise ConfigError(
                file,
                "a passive standard (driver: none) needs its asset_id",
                line=_line(key_node),
                key=f"{where}.asset_id",
            )
    elif not address:
        raise ConfigError(file, "missing", line=_line(key_node), key=f"{where}.address")
    options: dict[str, Any] = {}
    if "options" in fields:
        loaded = yaml.safe_load(yaml.serialize(fields["options"][1]))
        if not isinstance(loaded, dict):
            raise ConfigError(
                file,
                "must be a mapping",
                line=_line(fields["options"][1]),
                key=f"{where}.options",
            )
        options = loaded
    return BenchRole(
        role=role,
        driver=driver,
        address=address,
        asset_id=asset_id,
        serial=serial,
        options=options,
    )


def _mapping(file: Path, node: Any, where: str) -> dict[str, tuple[Any, Any]]:
    """A mapping node's entries by key text; duplicate and non-text keys are refused."""
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(file, "must be a mapping", line=_line(node), key=where)
    entries: dict[str, tuple[Any, Any]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise ConfigError(file, "a key must be a plain name", line=_line(key_node), key=where)
        name = str(key_node.value)
        if name in entries:
            raise ConfigError(
                file, "given twice", line=_line(key_node), key=f"{where}.{name}" if where else name
            )
        entries[name] = (key_node, value_node)
    return entries


def _text(file: Path, entries: dict[str, tuple[Any, Any]], name: str, where: str = "") -> str:
    key = f"{where}.{name}" if where else name
    node = entries[name][1]
    if not isinstance(node, yaml.ScalarNode) or node.tag not in (
        "tag:yaml.org,2002:str",
        "tag:yaml.org,2002:int",
    ):
        raise ConfigError(file, "must be a text", line=_line(node), key=key)
    value = str(node.value).strip()
    if not value:
        raise ConfigError(file, "must not be empty", line=_line(node), key=key)
    return value


def _line(node: Any) -> int:
    return int(node.start_mark.line) + 1
