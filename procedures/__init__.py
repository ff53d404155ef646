"""caltrace's procedures: how one kind of instrument is calibrated or verified.

Today this holds the legal-metrology rules (:mod:`procedures.mpe`): maximum
permissible errors and the acceptance rules of verification, the data that both
the procedure runner and the LIMS apply. A plain library: no Django, no I/O, no
global state.
"""
