"""The backup configuration and tools of ``deploy/backup/``, and the parts of ``make drill``
that can be proved in milliseconds (the whole drill takes about a minute: CI runs it after
the suite, ``.ci/run``).

The media scripts are run for real on real files: a restore gives every file back byte for
byte, and refuses an archive or a file changed since the backup rather than restoring it.
The configuration holds what the runbook (``docs/operators/backup-and-recovery.md``) says it
does. The drill's restore target is the instant T, never earlier; its quarantine moves only
the files of the certificates issued after T; without its tools it skips, except in CI.
"""

from __future__ import annotations

import configparser
import hashlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "backup"
RUNBOOK = ROOT / "docs" / "operators" / "backup-and-recovery.md"


def _drill() -> ModuleType:
    spec = importlib.util.spec_from_file_location("caltrace_drill", ROOT / "scripts" / "drill.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up by name while the class is made.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


drill = _drill()


def _media(root: Path) -> dict[str, bytes]:
    files = {
        "certificates/HN/HN-HC-2026-000001.pdf": b"%PDF-1.7\n" + bytes(range(256)) * 40,
        "certificates/HN/HN-HC-2026-000001.xml": "<dcc>Hà Nội</dcc>".encode(),
        "certificates/QT/a name with spaces.pdf": b"%PDF-1.7\nspaces\n",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def _backup(media: Path, dest: Path) -> Path:
    out = subprocess.run(
        [str(DEPLOY / "media-backup.sh"), str(media), str(dest)],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def _restore(archive: Path, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DEPLOY / "media-restore.sh"), str(archive), str(target)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_media_backup_restores_every_file_byte_for_byte(tmp_path: Path) -> None:
    files = _media(tmp_path / "media")
    archive = _backup(tmp_path / "media", tmp_path / "backup")
    manifest = archive.with_suffix(".sha256").read_text(encoding="utf-8")
    for name, data in files.items():
        assert f"{hashlib.sha256(data).hexdigest()}  ./{name}" in manifest

    result = _restore(archive, tmp_path / "restored")
    assert result.returncode == 0, result.stderr
    assert "3 file(s) restored" in result.stdout
    for name, data in files.items():
        assert (tmp_path / "restored" / name).read_bytes() == data


def test_a_media_restore_refuses_an_archive_changed_since_the_backup(tmp_path: Path) -> None:
    _media(tmp_path / "media")
    archive = _backup(tmp_path / "media", tmp_path / "backup")
    data = bytearray(archive.read_bytes())
    data[700] ^= 0x01
    archive.write_bytes(bytes(data))

    result = _restore(archive, tmp_path / "restored")
    assert result.returncode == 1
    assert "does not match its recorded SHA-256" in result.stderr
    assert not (tmp_path / "restored").exists()


def test_a_media_restore_refuses_a_file_that_differs_from_its_manifest(tmp_path: Path) -> None:
    # An archive rebuilt with one file changed, and its own digest recomputed to match:
    # the per-file manifest still names the file at fault.
    _media(tmp_path / "media")
    archive = _backup(tmp_path / "media", tmp_path / "backup")
    (tmp_path / "media" / "certificates/HN/HN-HC-2026-000001.pdf").write_bytes(b"%PDF forged")
    subprocess.run(
        ["tar", "--create", "--file", str(archive), "."], cwd=tmp_path / "media", check=True
    )
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    Path(f"{archive}.sha256").write_text(f"{digest}  {archive.name}\n", encoding="utf-8")

    result = _restore(archive, tmp_path / "restored")
    assert result.returncode == 1
    assert "HN-HC-2026-000001.pdf: FAILED" in result.stdout + result.stderr
    assert "differ from the manifest" in result.stderr


def test_a_media_restore_never_writes_over_files(tmp_path: Path) -> None:
    _media(tmp_path / "media")
    archive = _backup(tmp_path / "media", tmp_path / "backup")
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / "kept.pdf").write_bytes(b"not ours to replace")

    result = _restore(archive, tmp_path / "live")
    assert result.returncode == 2
    assert "is not empty" in result.stderr
    assert sorted(p.name for p in (tmp_path / "live").iterdir()) == ["kept.pdf"]


def test_the_configuration_holds_what_the_runbook_says() -> None:
    config = configparser.ConfigParser(interpolation=None)
    config.read(DEPLOY / "pgbackrest.conf", encoding="utf-8")
    assert config["global"]["repo1-cipher-type"] == "aes-256-cbc"
    assert int(config["global"]["repo1-retention-full"]) >= 2
    # The passphrase comes from the environment, never from the file.
    assert "cipher-pass" not in (DEPLOY / "pgbackrest.conf").read_text(encoding="utf-8")
    assert config.has_section("caltrace")

    settings = dict(
        re.findall(
            r"^(\w+)\s*=\s*(.+?)\s*$",
            (DEPLOY / "postgresql-archiving.conf").read_text(encoding="utf-8"),
            flags=re.MULTILINE,
        )
    )
    assert settings["archive_mode"] == "on"
    assert settings["wal_level"] == "replica"
    assert settings["archive_command"] == "'pgbackrest --stanza=caltrace archive-push %p'"
    # The loss bound the runbook states is the one configured.
    runbook = RUNBOOK.read_text(encoding="utf-8")
    assert f"archive_timeout = {settings['archive_timeout']}" in runbook
    assert f"`repo1-retention-full={config['global']['repo1-retention-full']}`" in runbook


@pytest.mark.parametrize(
    ("at", "target"),
    [
        # Rounded up to the next millisecond, in UTC: never before T.
        ("2026-12-06T14:56:12.158001+07:00", "2026-12-06 07:56:12.159+00"),
        ("2026-12-06T07:56:12.159000+00:00", "2026-12-06 07:56:12.159+00"),
        ("2026-12-06T07:56:59.999500+00:00", "2026-12-06 07:57:00.000+00"),
    ],
)
def test_the_restore_target_is_t_in_utc_to_the_millisecond_never_earlier(
    at: str, target: str
) -> None:
    assert drill.recovery_target(at) == target


def test_the_quarantine_moves_only_the_files_of_certificates_issued_after_t(
    tmp_path: Path,
) -> None:
    media = tmp_path / "media"
    late = ["certificates/HN/HN-HC-2026-000003.pdf", "certificates/HN/HN-HC-2026-000003.xml"]
    for name in [*late, "certificates/HN/HN-HC-2026-000001.pdf"]:
        (media / name).parent.mkdir(parents=True, exist_ok=True)
        (media / name).write_bytes(name.encode())
    after = {"issued": ["HN-HC-2026-000003"]}
    orphans = [{"kind": "orphan", "path": name} for name in late]

    assert drill.quarantine(orphans, after, media, tmp_path / "quarantine") == 2
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.*")) == [
        "media/certificates/HN/HN-HC-2026-000001.pdf",
        *(f"quarantine/{name}" for name in late),
    ]

    # A file of a certificate issued before T missing or altered is a loss, not an orphan;
    # an orphan that the work after T does not explain is one too.
    for problems in (
        [{"kind": "missing", "path": "certificates/HN/HN-HC-2026-000001.pdf"}],
        [{"kind": "orphan", "path": "certificates/HN/HN-HC-2026-000009.pdf"}],
    ):
        with pytest.raises(drill.DrillFailed):
            drill.quarantine(problems, after, media, tmp_path / "quarantine")


@pytest.mark.parametrize(("ci", "status", "said"), [("true", 1, "FAILED"), ("", 0, "skipped")])
def test_without_pgbackrest_the_drill_skips_except_in_ci(
    tmp_path: Path, ci: str, status: int, said: str
) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "drill.py")],
        env={"PATH": str(tmp_path), "CI": ci},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == status, result.stdout + result.stderr
    assert f"drill: {said}" in result.stdout + result.stderr
    assert "pgBackRest (Debian package pgbackrest)" in result.stdout + result.stderr
