"""One module per paper family; each registers its claims on import.

Modules whose names start with an underscore hold shared helpers."""
