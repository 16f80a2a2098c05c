"""Backends: the only doors to the outside worlds. Each returns core snapshots."""
