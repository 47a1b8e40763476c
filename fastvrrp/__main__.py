"""`python -m fastvrrp`: the same as the `fastvrrp` command."""

import sys

from .cli import main

sys.exit(main())
