"""Issuing certificates: numbered, rendered, signed, amended, revoked, publicly verifiable."""
