"""Fields of measurement: what kinds of instruments a verifier's certification covers."""

from django.db import models


class MeasurementField(models.TextChoices):
    """The field of an instrument type, a reference standard or a verifier's certification."""

    MASS = "mass", "Mass and weighing"
    PRESSURE = "pressure", "Pressure"
    TEMPERATURE = "temperature", "Temperature"
    ELECTRICAL = "electrical", "Electrical (DC/LF)"
    VOLUME_FLOW = "volume_flow", "Volume and flow"
    LENGTH = "length", "Length"
    ENERGY = "energy", "Electrical energy"
