"""The Debian tools the suite uses as independent checkers.

``require_tool`` is how a test uses one of them (poppler-utils' pdftotext, pdffonts,
pdfdetach, pdfinfo, pdfsig; SoftHSM2's softhsm2-util; NSS's certutil): the test skips
with a clear reason when the tool is missing, except in CI (``CI=true``), where a missing
tool is a failure.
"""

from __future__ import annotations

import os
import shutil

import pytest

# The Debian package of each command the certificate tests use as a checker.
PACKAGES = {
    "pdftotext": "poppler-utils",
    "pdfsig": "poppler-utils",
    "pdfinfo": "poppler-utils",
    "pdfdetach": "poppler-utils",
    "pdffonts": "poppler-utils",
    "softhsm2-util": "softhsm2",
    "certutil": "libnss3-tools",
}


def require_tool(name: str) -> str:
    """The path of the command ``name``; skips the test (fails in CI) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        package = PACKAGES.get(name, "its Debian package")
        message = f"{name} is not installed (apt-get install {package})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must have it")
        pytest.skip(message)
    return path
