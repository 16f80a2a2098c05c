"""Plain-Python domain: snapshots, health and correlation. No Qt, no cloud SDKs."""
