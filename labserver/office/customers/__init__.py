"""The front office: customers."""
