"""The procedure catalog and jobs (work orders) with their state machine."""
