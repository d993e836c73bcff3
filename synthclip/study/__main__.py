import sys

from synthclip.study.cli import main

sys.exit(main())
