"""The front office of a verification center: the pages a reception desk, a quality manager
and an organization's administrator run their day on (customers and their instruments,
jobs and their calendar, reference standards, certificates, people). Every change goes
through the owning app's services: permission-checked, tenant-scoped, audited."""
