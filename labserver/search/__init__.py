"""The staff's search: certificates, instruments, customers and jobs of the person's own
organizations, by number, serial, name or code. Full-text search on PostgreSQL (its GIN
indexes are this app's migration), a plain ``icontains`` fallback on SQLite; no models."""
