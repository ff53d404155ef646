"""Meters read through their optical port: identity and registers read, not typed.

* :mod:`drivers.optical.link` — the byte link to the probe (serial port, pseudo-terminal,
  TCP socket), with the baud-rate switch and the I/O log;
* :mod:`drivers.optical.iec62056_21` — IEC 62056-21 mode C data readout: the messages,
  the block check, the data sets, the serial number and the energy registers in kWh;
* :mod:`drivers.optical.dlms` — DLMS/COSEM with the ``dlms-cosem`` library, over TCP (HDLC
  frames or the IEC 62056-47 wrapper): the serial number, the logical device name and the
  energy register with its scaler and unit;
* :mod:`drivers.optical.driver` — the registered drivers ``iec62056-21`` and
  ``dlms-cosem``.

What is read and what is not confirmed: ``docs/reference/optical-port.md``.
"""
