"""Pages for customers and for the public.

Customers: the instruments their organization owns, each with its certificates (status,
PDF, public page) and its next due date (``/portal/instruments/``). The public, with no
sign-in: open data (``/open-data/``), datasets in CSV and JSON built by aggregate
queries, described by a DCAT-like ``/open-data/datasets.json``, and the public register
of reference standards (``/standards/register/``). Nothing personal is published: no
people, no customers, no serial numbers of customers' instruments.
"""
