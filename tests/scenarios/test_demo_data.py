"""The demo data set declared in ``scenarios/demo/*.yaml``: what it declares, and how a
mistake in it is reported (the file, the line and the key, before anything is created; what
the LIMS refuses at the place that declared it, with nothing left behind)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from labserver.accounts.models import Organization
from labserver.standards.models import ReferenceStandard
from procedures.definition import library
from scenarios.demo import DATA_DIR, DemoDataError, load_demo, read_demo
from tests.support.deploy import manage, production_env


def test_the_shipped_data_declares_the_ladder_the_people_and_a_bench_per_procedure():
    data = read_demo()
    assert [o.code for o in data.organizations][:4] == ["DIR", "NMI", "HN", "DN"]
    assert data.marker == "DIR"
    # Five people in each of the three organizations with staff, a customer, HN's reception
    # desk and HN's organization administrator.
    assert len(data.people) == 18
    assert data.registrars() == {
        "NMI": "nmi-quality-manager",
        "HN": "hn-quality-manager",
        "DN": "dn-quality-manager",
    }
    levels = [s.level for s in data.standards]
    assert levels.count("national") == 6
    assert next(s.asset_id for s in data.standards if s.organization == "DN") == "DN-M-E2"
    # Every shipped procedure is registered, runs on one bench, for one instrument.
    procedures = {pid for _, pid in data.catalog.procedures}
    assert procedures == set(library())
    single = [b for b in data.benches.benches if not b.positions]
    assert sorted(b.procedure for b in single) == sorted(procedures)
    assert sorted(i.procedure for i in data.instruments if i.bench is None) == sorted(procedures)
    # The benches with positions: four water meters in series, six electricity meters on
    # the meter test bench, three three-phase ones on it, each registered for its bench
    # (its job there).
    batches = [b for b in data.benches.benches if b.positions]
    assert [(b.name, b.procedure, sorted(b.positions)) for b in batches] == [
        ("bench-flow-4", "water-meter-r49", [1, 2, 3, 4]),
        ("bench-meters-6", "electricity-meter-r46", [1, 2, 3, 4, 5, 6]),
        ("bench-meters-3ph", "electricity-meter-r46", [1, 2, 3]),
    ]
    for batch in batches:
        assert batch.serials == [i.serial for i in data.instruments if i.bench == batch.name]
    # A bench's serials are those of its standard and of its instrument under test.
    electrical = data.benches.benches[0]
    assert electrical.roles["source"]["serial"] == "HN5522-1188"
    assert electrical.roles["uut"]["serial"] == "MY59001234"
    calibrator = next(s for s in data.standards if s.asset_id == "HN-E-5522A")
    assert calibrator.certificate.values[0] == {
        "quantity": "dcv",
        "nominal": -10.0,
        "value": -10.0 * (1 + 0.21e-6),
        "unit": "V",
        "U": 1.5e-6 + 3.5e-6 * 10,
        "k": 2,
        "coverage_probability": 0.95,
    }


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the demo's YAML files, to spoil."""
    copy = tmp_path / "demo"
    copy.mkdir()
    for path in DATA_DIR.glob("*.yaml"):
        shutil.copy(path, copy / path.name)
    return copy


def spoil(folder: Path, name: str, old: str, new: str) -> int:
    """Replace the one ``old`` of ``folder/name`` by ``new``; returns its line number."""
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def refused(folder: Path) -> str:
    with pytest.raises(DemoDataError) as caught:
        read_demo(folder)
    return str(caught.value)


def test_a_number_yaml_reads_as_text_is_refused_at_its_file_line_and_key(folder):
    line = spoil(folder, "standards.yaml", "min: 1.0e-6", "min: 1e-6")
    message = refused(folder)
    assert message.startswith(
        f"{folder / 'standards.yaml'}:{line}: groups[1].standards[0].functions[0].min: "
        "expected a number, got text '1e-6'"
    )
    assert "write 1.0e-6, not 1e-6" in message


def test_a_text_yaml_reads_as_a_number_is_refused_with_how_to_write_it(folder):
    line = spoil(folder, "catalog.yaml", 'model: "232.50"', "model: 232.50")
    message = refused(folder)
    assert message == (
        f"{folder / 'catalog.yaml'}:{line}: pattern_approvals[2].model: expected text, "
        "got a number '232.50' (quote it to make it text)"
    )


def test_an_unknown_key_and_a_missing_one_are_named(folder):
    line = spoil(folder, "organizations.yaml", "    kind: lab\n", "    sort: lab\n")
    assert refused(folder) == (
        f"{folder / 'organizations.yaml'}:{line}: organizations[1].sort: unknown key "
        "(expected code, name, kind, parent, accreditation, region, address)"
    )
    spoil(folder, "organizations.yaml", "    sort: lab\n", "")
    assert re.fullmatch(
        r".*organizations\.yaml:\d+: organizations\[1\]\.kind: missing", refused(folder)
    )


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        ("organizations.yaml", "    parent: DN\n", "    parent: QT\n",
         r"organizations\[7\]\.parent: no organization above 'QT'"),
        ("standards.yaml", "used: [NMI-P-001]", "used: [NMI-P-009]",
         r"groups\[1\]\.standards\[4\]\.certificate\.used\[0\]: no standard NMI-P-009 "
         r"declared before this one"),
        ("standards.yaml", 'asset_id: "{code}-M-E2"', 'asset_id: "{centre}-M-E2"',
         r"groups\[1\]\.standards\[0\]\.asset_id: a placeholder that is not one of "
         r"\['accreditation', 'code', 'name'\]"),
        ("benches.yaml", "asset_id: HN-M-M1", "asset_id: DN-M-M1",
         r"benches\[1\]\.roles\.weights\.asset_id: no standard of the bench's organization "
         r"'DN-M-M1'"),
        ("benches.yaml", "  assignee: hn-metrologist", "  assignee: hn-nobody",
         r"jobs\.assignee: no person 'hn-nobody'"),
        ("catalog.yaml", "  - water-meter-r49-hot\n", "  - water-meter-r50\n",
         r"procedures\[5\]: no shipped procedure 'water-meter-r50'"),
        ("benches.yaml", "        serial: ITR-20-100103\n", "        serial: ITR-20-100109\n",
         r"benches\[5\]\.positions\.3\.serial: no instrument of instruments\.yaml on this "
         r"bench 'ITR-20-100109'"),
    ],
)  # fmt: skip
def test_a_reference_to_nothing_declared_is_refused(folder, name, old, new, expected):
    line = spoil(folder, name, old, new)
    message = refused(folder)
    assert re.match(re.escape(f"{folder / name}:") + r"\d+: " + expected, message), message
    assert message.startswith(f"{folder / name}:{line}: ")


@pytest.mark.django_db
def test_what_the_lims_refuses_is_reported_where_it_was_declared_and_nothing_is_kept(
    folder, tmp_path
):
    line = spoil(folder, "organizations.yaml", "    kind: lab\n", "    kind: laboratory\n")
    data = read_demo(folder)
    with pytest.raises(DemoDataError) as caught:
        load_demo(tmp_path / "keys", data)
    assert str(caught.value).startswith(
        f"{folder / 'organizations.yaml'}:{line}: organizations[1].kind: refused by the LIMS: "
        "kind: expected one of"
    )
    assert not Organization.objects.exists()
    assert not ReferenceStandard.objects.exists()


def test_production_has_no_scenarios_and_no_loaddemo(tmp_path):
    result = manage("loaddemo", "--help", env=production_env(tmp_path))
    assert result.returncode != 0
    assert "Unknown command: 'loaddemo'" in result.stderr


@pytest.mark.django_db
def test_the_ladder_is_plausible_in_house_certificates_go_through_their_standards(tmp_path):
    """An in-house certificate names the standards that calibrated it, and its chain goes
    through them: only an outside laboratory's certificate is linked to the SI. Every
    standard's chain holds today, but the overdue one's (it is there to be refused)."""
    from django.utils import timezone

    from labserver.standards.models import StandardCertificate
    from labserver.traceability.queries import chain_of_standard

    load_demo(tmp_path / "keys")
    in_house = StandardCertificate.objects.filter(internal=True)
    assert {c.standard.asset_id for c in in_house} >= {"HN-M-M1", "DN-M-M1", "HN-E-34401A"}
    for certificate in in_house:
        assert certificate.reference_standards.exists(), certificate.number
    today = timezone.localdate()
    for standard in ReferenceStandard.objects.all():
        chain = chain_of_standard(standard, today)
        nodes = {node["id"]: node for node in chain["nodes"]}
        for edge in chain["edges"]:
            if edge["kind"] == "traceable_to":
                assert not nodes[edge["from"]]["internal"], (standard.asset_id, edge)
        if standard.asset_id != "HN-E-34401A":
            assert chain["unbroken"], (standard.asset_id, chain["breaks"])
    old = chain_of_standard(ReferenceStandard.objects.get(asset_id="HN-E-34401A"), today)
    numbers = {node.get("number") for node in old["nodes"]}
    # through the calibrator's certificate in force when the DMM was calibrated
    assert {"HN-DEMO-INT-E-2024-003", "NMI-DEMO-E-HN-2024-187", "BIPM-DEMO-2025-077"} <= numbers
    # its one break is its own overdue certificate, not a missing link above it
    reasons = [reason for b in old["breaks"] for reason in b["reasons"]]
    assert len(reasons) == 1
    assert reasons[0].startswith("overdue: certificate HN-DEMO-INT-E-2024-003 of HN-E-34401A")
