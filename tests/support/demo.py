"""The demo's benches (``labserver.demo.load_demo`` writes one bench file each) and the
procedure each bench serves.
"""

from __future__ import annotations

BENCHES = {
    "bench-electrical": "dmm-dcv",
    "bench-mass": "nawi-r76",
    "bench-pressure": "pressure-gauge-r101",
    "bench-temperature": "thermometer-bath",
    "bench-flow": "water-meter-r49",
    "bench-flow-hot": "water-meter-r49-hot",
}
