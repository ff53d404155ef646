"""The front office: jobs."""
