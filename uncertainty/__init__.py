"""caltrace's uncertainty engine: GUM (JCGM 100), Monte Carlo (JCGM 101),
calibration curves, conformity decisions (JCGM 106, ILAC G8) and rounding
for reports (ILAC P14).

A pure library: no I/O beyond :mod:`uncertainty.cli`, no global state.
"""
