"""Simulated source deliveries of a commerce company (web + mobile apps) for the landing zone.

`simulate()` writes app_events, orders, products and users deliveries, one folder per arrival
day, optionally with realistic delivery faults. See `core.simulate` for the contract.
"""

from platform_assets.simulate.core import FAULT_KINDS, SOURCES, simulate

__all__ = ["FAULT_KINDS", "SOURCES", "simulate"]
