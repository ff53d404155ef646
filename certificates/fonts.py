"""The certificate's font: DejaVu Sans, as the matplotlib package ships it.

DejaVu Sans has every letter Vietnamese writes (ă â đ ê ô ơ ư with the five tone
marks, precomposed), the metrology symbols (° Ω µ ± ≤ ³) and is free to embed.
caltrace does not ship font files of its own: matplotlib is already a dependency
and carries ``DejaVuSans.ttf`` and ``DejaVuSans-Bold.ttf`` in its data directory.

The TrueType files are parsed once per process (:func:`register_fonts` caches
the registration): parsing them takes tens of milliseconds, rendering a
certificate should not pay that again.
"""

from __future__ import annotations

import threading
from importlib.resources import files
from pathlib import Path
from typing import Final

from certificates.errors import CertificateError

__all__ = ["BOLD", "FAMILY", "REGULAR", "font_path", "register_fonts"]

#: The names under which the fonts are registered with reportlab.
REGULAR: Final = "CaltraceSans"
BOLD: Final = "CaltraceSans-Bold"
#: The family name for reportlab's paragraph markup (``<b>`` switches to :data:`BOLD`).
FAMILY: Final = REGULAR

_FILES: Final = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf"}
_lock = threading.Lock()
_registered = False


def font_path(file_name: str) -> Path:
    """The path of one of matplotlib's bundled TrueType files, e.g. ``"DejaVuSans.ttf"``.

    Found through :mod:`importlib.resources` so that matplotlib itself (and its
    plotting machinery) is never imported.

    Raises:
        CertificateError: the file is not there (``field``: ``"font"``).
    """
    path = Path(str(files("matplotlib").joinpath("mpl-data", "fonts", "ttf", file_name)))
    if not path.is_file():
        raise CertificateError(
            f"the font file {file_name} is not in the matplotlib package", field="font"
        )
    return path


def register_fonts() -> None:
    """Register DejaVu Sans regular and bold with reportlab, once per process.

    Later calls return at once. Registers the family :data:`FAMILY` so that
    paragraph markup ``<b>`` selects :data:`BOLD`.
    """
    global _registered
    if _registered:
        return
    with _lock:
        if _registered:
            return
        from reportlab.lib.fonts import addMapping  # type: ignore[import-untyped]
        from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
        from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]

        for name, file_name in _FILES.items():
            pdfmetrics.registerFont(TTFont(name, str(font_path(file_name))))
        # Paragraph markup maps (family, bold, italic) to a face; there is no
        # italic face, so italic falls back to the upright one.
        addMapping(FAMILY, 0, 0, REGULAR)
        addMapping(FAMILY, 1, 0, BOLD)
        addMapping(FAMILY, 0, 1, REGULAR)
        addMapping(FAMILY, 1, 1, BOLD)
        _registered = True
