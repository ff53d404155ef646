"""Reference standards, their calibration certificates, intervals and status on a date."""
