"""The agent's Ed25519 signing key: every run is signed over the exact bytes sent.

The key is a PKCS#8 PEM file (as ``manage.py loaddemo`` and ``registeragent`` write it),
readable by its owner only: like ssh, a key file that the group or others may read is
refused, since anyone who can read it can sign runs in this bench's name.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["AgentKey", "KeyFileError", "load_key"]


class KeyFileError(Exception):
    """The key file is missing, unreadable, too open, or not an Ed25519 private key."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"agent key {path}: {problem}")
        self.path = path
        self.problem = problem


class AgentKey:
    """A loaded Ed25519 private key and the file it came from."""

    def __init__(self, private_key: Ed25519PrivateKey, path: Path) -> None:
        self._key = private_key
        self.path = path

    def sign(self, body: bytes) -> str:
        """Base64 of the Ed25519 signature of ``body`` (the ``X-Caltrace-Signature``)."""
        return base64.b64encode(self._key.sign(body)).decode("ascii")

    @property
    def public_key_b64(self) -> str:
        """The raw public key in base64, as the LIMS registers an agent's key."""
        raw = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return base64.b64encode(raw).decode("ascii")

    def __repr__(self) -> str:
        return f"AgentKey({str(self.path)!r})"


def check_private_file(path: Path, what: str) -> None:
    """Refuse a secret file that the group or others may access (POSIX modes only)."""
    if os.name != "posix":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(
            path,
            f"{what} is accessible by group or others (mode {mode:04o}); run: chmod 600 {path}",
        )


def load_key(path: str | os.PathLike[str]) -> AgentKey:
    """Load the agent's Ed25519 private key from a PKCS#8 PEM file (no passphrase)."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(file, "no such file") from None
    except OSError as err:
        raise KeyFileError(file, f"cannot be read ({err.strerror})") from None
    check_private_file(file, "the private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise KeyFileError(file, f"not an unencrypted PEM private key ({err})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(file, f"not an Ed25519 key (found {type(key).__name__})")
    return AgentKey(key, file)
