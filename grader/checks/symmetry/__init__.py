"""Checks of the `symmetry` assignment: permutation symmetry of conv channels and attention heads."""
