"""Hand-built transformer weights from the papers' proofs, over one engine.

``constructions`` never imports ``verify``."""
