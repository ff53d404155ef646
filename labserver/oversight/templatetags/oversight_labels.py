"""``{% load oversight_labels %}``: ``{{ entry.action|action_label }}``,
``{{ state.status|certificate_status }}`` (:mod:`labserver.oversight.actions`)."""

from __future__ import annotations

from django import template

from labserver.oversight.actions import action_label, certificate_status

register = template.Library()
register.filter("action_label", action_label)
register.filter("certificate_status", certificate_status)
