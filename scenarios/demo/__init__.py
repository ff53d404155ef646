"""The demo data set, declared as data: a national directorate, its metrology institute, two
provincial centers, customers, instrument types and patterns, a ladder of reference
standards from the national standards down to working standards with their certificates,
and one job per shipped procedure, scheduled to the bench of the Hà Nội center that runs it.

The YAML files of this folder declare it (each file's comments give its format):

- ``organizations.yaml`` — the organizations, parents first;
- ``people.yaml`` — the staff of each organization by role, and the customers' people;
- ``catalog.yaml`` — instrument types, approved patterns, the procedures registered;
- ``standards.yaml`` — the standards and the certificate in force of each;
- ``instruments.yaml`` — the instruments under test, one per procedure;
- ``benches.yaml`` — the agents, the benches' configurations and the jobs.

:func:`~scenarios.demo.data.read_demo` reads and checks them
(:class:`~scenarios.demo.where.DemoDataError` names the file, line and key of a mistake);
:func:`~scenarios.demo.loader.load_demo` creates the records through the LIMS's services,
the dates relative to today. Each bench is a registered agent with its key, its token and
its bench configuration (``HN-<bench>.yaml``, the format of :mod:`agent.config`) written to
``keys_dir``, naming the instrument or standard in each role its procedure has. The
standards' certificates give values at exactly the points the procedures bind, and the
instruments' specifications hold exactly the procedures' ``instrument:`` parameters: what
the runner's preflight checks and every point's model takes
(``tests/labserver/test_demo_benches.py`` runs each job on the simulated bench).

All names, numbers and people are fictitious and marked DEMO where printed. Needs Django
set up (``manage.py loaddemo`` or the tests).
"""

from .data import DATA_DIR, DemoData, read_demo
from .loader import DemoSummary, is_loaded, load_demo
from .organizations import DEMO_PASSWORD
from .where import DemoDataError

__all__ = [
    "DATA_DIR",
    "DEMO_PASSWORD",
    "DemoData",
    "DemoDataError",
    "DemoSummary",
    "is_loaded",
    "load_demo",
    "read_demo",
]
