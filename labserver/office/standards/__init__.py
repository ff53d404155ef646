"""The front office: standards."""
