"""What every face shares: the live monitor, the refresher, wiring and the error path. No Qt."""
