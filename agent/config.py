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

Every mistake is refused with the file, the line and the key: unknown keys, a driver
that is not registered, a missing address. The token is read from its file (or from the
``CALTRACE_AGENT_TOKEN`` environment variable, which wins) and is never printed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from drivers.registry import names as driver_names
from procedures.bench import BenchRole

from .keys import KeyFileError, check_private_file

__all__ = ["NO_DRIVER", "TOKEN_ENV", "BenchConfig", "ConfigError", "load_bench"]

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
}
_ROLE_KEYS = {"driver", "address", "asset_id", "serial", "options"}


class ConfigError(ValueError):
    """A bench configuration that cannot be used; names the file, line and key."""

    def __init__(self, path: Path, message: str, *, line: int | None = None, key: str = "") -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {key + ': ' if key else ''}{message}")
        self.path = path
        self.line = line
        self.key = key


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
    return BenchConfig(
        path=file,
        bench=bench,
        organization=organization,
        lims=lims,
        key=key.resolve(),
        outbox=outbox.resolve(),
        roles=roles,
        token=token,
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
        where = f"roles.{role}"
        fields = _mapping(file, value_node, where)
        for name, (k, _) in fields.items():
            if name not in _ROLE_KEYS:
                raise ConfigError(
                    file,
                    f"unknown key (expected one of {', '.join(sorted(_ROLE_KEYS))})",
                    line=_line(k),
                    key=f"{where}.{name}",
                )
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
        roles[role] = BenchRole(
            role=role,
            driver=driver,
            address=address,
            asset_id=asset_id,
            serial=serial,
            options=options,
        )
    if not roles:
        raise ConfigError(file, "no role is configured", line=_line(node), key="roles")
    return roles


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
