"""OpenAPI descriptions shared by every endpoint that takes an electronic signature."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse

#: The refusals of a signature's password (labserver.accounts.lockout): merged into the
#: ``responses`` of each signing endpoint, so that the schema names the 423 it can answer.
SIGNATURE_REFUSALS = {
    403: OpenApiResponse(
        description="Not permitted, or the password is not correct (field: password)"
    ),
    423: OpenApiResponse(
        description=(
            "The signer's signing is locked after repeated wrong passwords "
            "(code: signature_locked) until a quality manager unlocks it"
        )
    ),
}
