"""Meters read through their optical port: identity and registers read, not typed.

* :mod:`drivers.optical.link` — the byte link to the probe (serial port, pseudo-terminal,
  TCP socket), with the baud-rate switch and the I/O log;
* :mod:`drivers.optical.iec62056_21` — IEC 62056-21 mode C data readout: the messages,
  the block check, the data sets, the serial number and the energy registers in kWh;
* :mod:`drivers.optical.driver` — the registered driver ``iec62056-21``.

DLMS/COSEM (IEC 62056-5-3 and -6-2, over HDLC) is not read here yet; see
``docs/reference/optical-port.md``.
"""
