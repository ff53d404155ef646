"""Why the LIMS gave no answer, in the operator's words (issue 18): the first thing to
check differs for a refused connection, a name DNS does not know, a TLS failure and a
timeout. Loopback servers that misbehave on purpose; no database."""

from __future__ import annotations

import ast
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agent.console import VERDICTS
from agent.i18n import LOCALE_DIR, translator
from agent.sync import LimsClient, LimsUnavailable


@contextmanager
def loopback_server(answer: bytes | None) -> Iterator[int]:
    """A TCP server on loopback that accepts and sends ``answer`` then closes (None: says
    nothing and keeps the connection open, as a server too busy to answer)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.05)  # so that the thread sees the end at once
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            if answer is None:
                held.append(conn)
                continue
            conn.recv(1024)
            conn.sendall(answer)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
        for conn in held:
            conn.close()


def reason_for(url: str, timeout_s: float = 2.0) -> LimsUnavailable:
    with pytest.raises(LimsUnavailable) as caught:
        LimsClient(url, "token", timeout_s=timeout_s).job("HN-1")
    return caught.value


def test_a_silent_server_is_a_timeout_with_its_delay() -> None:
    with loopback_server(None) as port:
        err = reason_for(f"http://127.0.0.1:{port}", timeout_s=0.3)
    assert err.reason == "no answer within 0.3 s (timeout)"
    assert err.address == f"http://127.0.0.1:{port}"


def test_https_to_a_plain_http_server_is_a_tls_failure() -> None:
    with loopback_server(b"HTTP/1.0 400 Bad Request\r\n\r\n") as port:
        err = reason_for(f"https://127.0.0.1:{port}")
    assert err.reason.startswith("TLS failed (")


def test_a_refused_connection_says_nothing_listens_there() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = reason_for(f"http://127.0.0.1:{port}")
    assert err.reason == "connection refused (nothing listens at that address and port)"


def test_every_message_of_the_agent_has_its_vietnamese_and_the_catalog_is_compiled(
    tmp_path: Path,
) -> None:
    po = LOCALE_DIR / "vi" / "LC_MESSAGES" / "caltrace-agent.po"
    text = po.read_text(encoding="utf-8")
    entries = re.findall(r'msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', text)
    assert len(entries) > 20
    for msgid, msgstr in entries[1:]:  # the first is the header
        assert msgstr.strip() != '""', msgid
    compiled = tmp_path / "caltrace-agent.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(po)], check=True)
    assert compiled.read_bytes() == po.with_suffix(".mo").read_bytes()


def _translated_literals() -> set[str]:
    """The English texts the agent passes to a translator: ``_("...")``,
    ``self._("...")`` and ``translator(language)("...")`` in its modules."""
    found: set[str] = set()
    for path in LOCALE_DIR.parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or len(node.args) != 1:
                continue
            func, arg = node.func, node.args[0]
            named = (isinstance(func, ast.Name) and func.id == "_") or (
                isinstance(func, ast.Attribute) and func.attr == "_"
            )
            text = arg.value if isinstance(arg, ast.Constant) else None
            if (named or isinstance(func, ast.Call)) and isinstance(text, str):
                found.add(text)
    return found


def test_every_text_the_agent_translates_has_its_vietnamese() -> None:
    texts = _translated_literals() | {v for v in VERDICTS.values() if v != "-"}
    assert len(texts) > 20
    vi = translator("vi")
    missing = sorted(t for t in texts if vi(t) == t)
    assert missing == []
