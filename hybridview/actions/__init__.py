"""The action layer: every write the app sends, planned in core, run, tracked and audited here."""
