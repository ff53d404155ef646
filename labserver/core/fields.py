"""Fields of measurement: what kinds of instruments a verifier's certification covers."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MeasurementField(models.TextChoices):
    """The field of an instrument type, a reference standard or a verifier's certification."""

    MASS = "mass", _("Mass and weighing")
    PRESSURE = "pressure", _("Pressure")
    TEMPERATURE = "temperature", _("Temperature")
    ELECTRICAL = "electrical", _("Electrical (DC/LF)")
    VOLUME_FLOW = "volume_flow", _("Volume and flow")
    LENGTH = "length", _("Length")
    ENERGY = "energy", _("Electrical energy")
