from hybridview.cli.main import entry

entry()
