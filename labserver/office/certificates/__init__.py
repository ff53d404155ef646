"""The front office: certificates."""
