"""The words for the codes the models store are the labels of the models' choices, translated
(issue 17): the pages, the API's schema and the admin print ``get_FOO_display()`` or a
choice's ``.label``, never a dictionary of their own, so each code has one wording in each
language."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.utils import translation
from django.utils.functional import Promise


def _choice_fields() -> list[Any]:
    return [
        pytest.param(field, id=f"{model._meta.label}.{field.name}")
        for model in apps.get_models()
        if model.__module__.startswith("labserver.")
        for field in model._meta.get_fields()
        if isinstance(field, models.Field) and field.choices
    ]


@pytest.mark.parametrize("field", _choice_fields())
def test_each_stored_code_has_a_translated_label(field: models.Field[Any, Any]) -> None:
    for code, label in field.flatchoices:
        assert isinstance(label, Promise), f"{code!r}: {label!r} is not marked for translation"
        with translation.override("en"):
            english = str(label)
        with translation.override("vi"):
            vietnamese = str(label)
        assert vietnamese != english, f"{code!r}: {english!r} has no Vietnamese translation"


def test_the_models_with_choices_are_all_found() -> None:
    # The parametrization above is not empty by accident: the job's state, the run's,
    # the standard's level and a nonconformity's decision are among them.
    found = {param.id for param in _choice_fields()}
    assert {
        "jobs.Job.state",
        "measurements.Run.state",
        "standards.ReferenceStandard.level",
        "nonconformities.Decision.recall",
    } <= found
