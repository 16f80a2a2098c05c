import sys

from hybridview.cli.main import main

sys.exit(main())
