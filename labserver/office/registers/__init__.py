"""The directorate's entry pages of the national registers."""
