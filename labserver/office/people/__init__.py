"""The front office: people."""
