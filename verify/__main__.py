"""``python -m verify ...`` in the repository: the command line of :mod:`transformer_proofs.verify.cli`."""

import sys

from transformer_proofs.verify.cli import main

sys.exit(main())
