"""Checks of the `divergence` assignment: LARS, global-norm gradient clipping, a badly initialised deep MLP."""
