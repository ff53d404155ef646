"""Certificates: the document model, its PDF and DCC XML forms, PAdES signing and validation.

A plain library: it receives plain data (:class:`certificates.document.CertificateDocument`),
never ORM objects, and knows nothing of Django. reportlab, pyHanko and lxml are
imported inside the one module that needs each, not at package import.
"""
