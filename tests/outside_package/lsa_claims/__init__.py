"""Example claims kept outside transformer-proofs (see docs/adding-a-claim.md)."""
