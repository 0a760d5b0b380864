"""The algorithms the papers claim, written plainly (no transformer), one
module per family.  Each runs in any :class:`constructions.arithmetic.Arithmetic`,
so the same reference meets the same forward pass in every number system."""
