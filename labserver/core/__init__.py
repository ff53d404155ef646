"""Base of the LIMS: domain errors, the hash-chained audit trail, API conventions."""
