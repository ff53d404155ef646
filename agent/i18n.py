"""The agent's words for the operator in the language of ``--language``.

The texts of a procedure (its title, its tests' titles, its instructions) come with it in
every language it is written in; what the agent itself says to the operator at the bench
(the live reading's stability, the prompts, the verdicts) is translated here, with GNU
gettext's catalogs under ``agent/locale`` (English message ids, as in the LIMS's
``.po`` files). A message without a translation is shown in English, never dropped.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

__all__ = ["LANGUAGES", "translator"]

LANGUAGES = ("en", "vi")
DOMAIN = "caltrace-agent"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


@lru_cache(maxsize=len(LANGUAGES))
def translator(language: str) -> Callable[[str], str]:
    """``gettext`` for ``language``: the operator's text for an English message id."""
    if language == "en":
        return str
    catalog = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)
    return catalog.gettext
