"""The command line: the window by default, and headless commands over the same service."""

from hybridview.cli.main import entry, main

__all__ = ["entry", "main"]
