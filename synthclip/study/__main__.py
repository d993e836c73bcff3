import sys

from synthclip.harness.cli import main

sys.exit(main())
