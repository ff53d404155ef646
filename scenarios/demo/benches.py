"""The demo's bench agents, their bench files and jobs: ``benches.yaml``.

Each agent is registered with a new Ed25519 key; its private key (``<org>-<name>.pem``) and
its token (``<org>-<name>.token``) are written to the keys folder, with the bench
configuration of a bench (``<org>-<name>.yaml``, the format of :mod:`agent.config`) beside
them, naming the instrument or standard in each role its procedure has.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from labserver.accounts import services as accounts
from labserver.accounts.models import Agent, Organization, User

from .instruments import InstrumentSpec
from .reader import Value
from .standards import StandardSpec
from .where import Where

_ROLE_KEYS = ("driver", "address", "asset_id", "serial", "options")
_STANDARD_SERIAL = "$standard"
_INSTRUMENT_SERIAL = "$instrument"

_BENCH_FILE_HEADER = """\
# DEMO bench configuration of {org} {bench}, written by `manage.py loaddemo` (read by
# caltrace-agent; format: agent/config.py). Key, token and outbox are relative to this
# file. The addresses are those of a bench on this computer; with --simulate every role
# is served by its simulator instead. Options: `registers` maps a function the procedure
# reads to a register of the device's map; the others describe the simulated instrument
# (a real bench ignores them).
#   caltrace-agent run --job NUMBER --bench {path} [--simulate]   (from this directory)
"""


@dataclass(frozen=True)
class AgentSpec:
    where: Where
    organization: str
    name: str


@dataclass(frozen=True)
class BenchSpec:
    """A bench: its agent, its bench file's roles (serials filled in), its procedure's job;
    a bench with positions: the instrument at each (its serial one of ``instruments.yaml``
    mounted on this bench), each with its own job of the procedure on the bench."""

    where: Where
    organization: str
    name: str
    procedure: str
    roles: dict[str, dict[str, Any]]
    positions: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def serials(self) -> list[str]:
        """The serials of the instruments whose jobs are on this bench."""
        return [str(p["serial"]) for _, p in sorted(self.positions.items())]


@dataclass(frozen=True)
class Benches:
    agents: list[AgentSpec]
    benches: list[BenchSpec]
    lims: str
    due_in_days: int
    notes: str
    assignee: str


def read_benches(
    top: Value,
    organizations: set[str],
    standards: list[StandardSpec],
    instruments: list[InstrumentSpec],
    usernames: set[str],
) -> Benches:
    """The agents, then the benches of one organization, each running the procedure of one
    of its ``instruments``, its standard roles naming standards of that organization."""
    f = top.fields(("agents", "organization", "lims", "jobs", "benches"))
    agents = []
    for item in f["agents"].items():
        a = item.fields(("organization", "name"))
        organization = a["organization"].one_of(organizations, "organization")
        agents.append(AgentSpec(item.where, organization, a["name"].text()))
    org = f["organization"].one_of(organizations, "organization")
    jobs = f["jobs"].fields(("due_in_days", "notes", "assignee"))
    serials = {s.asset_id: s.serial for s in standards if s.organization == org}
    under_test = {
        i.procedure: i.serial for i in instruments if i.organization == org and i.bench is None
    }
    benches = []
    for item in f["benches"].items():
        b = item.fields(("name", "procedure", "roles"), ("positions",))
        name = b["name"].text()
        procedure = b["procedure"].one_of(under_test, f"instrument of {org} under test in")
        roles = {
            role_name: _role(role, serials, under_test[procedure])
            for role_name, role in b["roles"].entries().items()
        }
        positions = {}
        if "positions" in b:
            mounted = {
                i.serial: i
                for i in instruments
                if i.organization == org and i.bench == name and i.procedure == procedure
            }
            positions = _positions(b["positions"], mounted)
        benches.append(BenchSpec(item.where, org, name, procedure, roles, positions))
    for i in instruments:
        if i.bench is not None and not any(
            i.serial in b.serials and i.bench == b.name for b in benches
        ):
            raise i.where.error(f"instrument {i.serial} is mounted at no position of {i.bench}")
    return Benches(
        agents=agents,
        benches=benches,
        lims=f["lims"].text(),
        due_in_days=jobs["due_in_days"].integer(),
        notes=jobs["notes"].text(),
        assignee=jobs["assignee"].one_of(usernames, "person"),
    )


def _positions(value: Value, mounted: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """A bench's positions by number from 1, each the role of the instrument under test
    mounted there: its serial one of ``mounted`` (the instruments registered for this
    bench and procedure), each once; ``optical``: its meter's optical port, as the bench
    file takes it."""
    out: dict[int, dict[str, Any]] = {}
    for key, item in value.entries().items():
        r = item.fields(("driver", "address", "serial"), ("options", "optical"))
        if not key.isdigit() or int(key) != len(out) + 1:
            item.fail(f"positions are numbered 1, 2, ... in order, got {key}")
        serial = r["serial"].one_of(mounted, "instrument of instruments.yaml on this bench")
        if any(p["serial"] == serial for p in out.values()):
            r["serial"].fail(f"{serial} is at one position only")
        out[int(key)] = {
            k: v.mapping() if k in ("options", "optical") else v.text() for k, v in r.items()
        }
    if not out:
        value.fail("a bench with positions has at least one")
    return out


def _role(value: Value, serials: dict[str, str], instrument_serial: str) -> dict[str, Any]:
    """A role of the bench file, its ``$standard`` or ``$instrument`` serial filled in."""
    r = value.fields(("driver",), _ROLE_KEYS[1:])
    role: dict[str, Any] = {
        key: item.mapping() if key == "options" else item.text() for key, item in r.items()
    }
    if "asset_id" in r:
        r["asset_id"].one_of(serials, "standard of the bench's organization")
    if role.get("serial") == _STANDARD_SERIAL:
        if "asset_id" not in r:
            r["serial"].fail(f"{_STANDARD_SERIAL} is the serial of asset_id's standard: none")
        role["serial"] = serials[role["asset_id"]]
    elif role.get("serial") == _INSTRUMENT_SERIAL:
        role["serial"] = instrument_serial
    return role


def create_agent(
    org: Organization, name: str, actor: User, keys_dir: Path
) -> tuple[Agent, str, Path]:
    """Register agent ``name`` of ``org`` with a new key, written with its token to
    ``keys_dir``; returns the agent, its token (shown once) and its private key's file."""
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    agent, token = accounts.register_agent(
        actor=actor, organization=org, name=name, public_key=base64.b64encode(public).decode()
    )
    keys_dir.mkdir(parents=True, exist_ok=True)
    key_path = keys_dir / f"{org.code}-{name}.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    token_path = keys_dir / f"{org.code}-{name}.token"
    token_path.write_text(token + "\n", encoding="ascii")
    token_path.chmod(0o600)
    return agent, token, key_path


def write_bench_file(bench: BenchSpec, lims: str, keys_dir: Path) -> Path:
    """Write the bench configuration of ``bench`` next to its agent's key and token."""
    org, name = bench.organization, bench.name
    repo = quote_plus(str(settings.REPO_DIR), safe="/")
    roles = {
        role: {k: v.replace("{repo}", repo) if k == "address" else v for k, v in r.items()}
        for role, r in bench.roles.items()
    }
    body: dict[str, Any] = {
        "bench": name,
        "organization": org,
        "lims": lims,
        "key": f"{org}-{name}.pem",
        "token": f"{org}-{name}.token",
        "outbox": f"../agent/{org}-{name}.sqlite3",
        "roles": roles,
    }
    if bench.positions:
        body["positions"] = {"count": len(bench.positions), "each": dict(bench.positions)}
    path = keys_dir / f"{org}-{name}.yaml"
    header = _BENCH_FILE_HEADER.format(org=org, bench=name, path=path.name)
    path.write_text(
        header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return path
