"""PyInstaller's entry script for the packaged app (packaging/foldwise.spec): see foldwise.frozen."""

import sys

from foldwise.frozen import main

sys.exit(main())
