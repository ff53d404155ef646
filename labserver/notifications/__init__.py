"""E-mail notifications to customers' people (issue 19).

What is sent (:mod:`.catalogue` finds it): instruments falling due 90, 60 and 30 days before
the due date of their current certificate; an issued certificate; a recall letter of a
nonconformity. :mod:`.services` sends it through Django's e-mail framework and keeps one
:class:`~.models.Notification` row per (kind, recipient, subject, occasion), so a rerun sends
nothing twice and a failed send is tried again; each person's choices are a
:class:`~.models.Preference`. ``manage.py send_notifications`` runs it (a timer, daily).
"""
