"""The LIMS's web pages: server-rendered Django templates, in Vietnamese and English.

One page layout (``web/base.html``: navigation by role, language switch, skip link,
usable on a phone), the sign-in and sign-out, the home page, and the access rule every
page states (:func:`labserver.web.access.page_for`). The pages of each audience live
with their data (metrologists, quality managers, auditors, customers, the public).
"""
