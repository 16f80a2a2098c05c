"""A deterministic, seeded, time-stepped hybrid estate that takes writes: the built-in demo."""

from hybridview.sim.estate import SCENARIOS, SimEstate
from hybridview.sim.layout import SimSize

__all__ = ["SCENARIOS", "SimEstate", "SimSize"]
