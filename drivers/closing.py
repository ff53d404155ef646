"""What holds a link to an instrument: ``close()`` releases it, a ``with`` block closes it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["Closing"]


class Closing:
    """A driver or reader over a link: ``with`` it, and the link is released at the block's
    end, whatever happened in it. Subclasses say how to release it (:meth:`close`,
    idempotent)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
