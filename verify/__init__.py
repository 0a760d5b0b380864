"""Reference algorithms, the claim registry, the checkers, reports and the
command line (``python -m verify``)."""
