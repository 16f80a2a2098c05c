"""A deterministic, seeded, time-stepped hybrid estate: the built-in demo."""

from hybridview.sim.estate import SCENARIOS, SimEstate, SimSize

__all__ = ["SCENARIOS", "SimEstate", "SimSize"]
