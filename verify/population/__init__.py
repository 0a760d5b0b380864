"""Exact population quantities: Gaussian moments (gaussian.py) and finite laws by enumeration (finite.py)."""
