"""Qt-free view models: rows, details and reports, shared by the window and the CLI."""
