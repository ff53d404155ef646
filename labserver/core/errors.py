"""Domain errors of the LIMS: one base, specific subclasses, each with its HTTP status.

Services raise these; the API's exception handler turns them into
``{"code": ..., "detail": ..., "field": ...}`` with the status below.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request that the rules of the laboratory refuse."""

    status = 400
    code = "domain_error"

    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        if code is not None:
            self.code = code


class InvalidEvidence(DomainError, ValueError):
    """The submitted evidence is inconsistent or cannot be evaluated (422)."""

    status = 422
    code = "invalid_evidence"


class StandardNotUsable(DomainError):
    """A reference standard was overdue, out of tolerance or retired on the date of use (422)."""

    status = 422
    code = "standard_not_usable"


class NotInRegister(DomainError):
    """The national register, as this node holds it, does not allow it on that day: the
    verifier holds no certification in force for the work, the instrument's pattern
    approval is not in force, or the organization holds no designation in force covering a
    verification it would certify (422)."""

    status = 422
    code = "national_register"


class InvalidTransition(DomainError):
    """The record's state does not allow this action (409)."""

    status = 409
    code = "invalid_state"


class Conflict(DomainError):
    """The request conflicts with a record already stored (409)."""

    status = 409
    code = "conflict"


class NotPermitted(DomainError, PermissionError):
    """The acting person may see the record but not do this to it (403)."""

    status = 403
    code = "permission_denied"


class BadSignature(DomainError):
    """A payload's signature is missing or does not verify (403)."""

    status = 403
    code = "bad_signature"


class NotFound(DomainError, LookupError):
    """Missing, or not visible to the one asking: the two look the same (404)."""

    status = 404
    code = "not_found"
