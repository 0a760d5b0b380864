"""``python -m transformer_proofs ...``: the command line (same as ``python -m verify`` in the repository)."""

import sys

from transformer_proofs.verify.cli import main

sys.exit(main())
