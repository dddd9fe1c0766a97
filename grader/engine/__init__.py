"""The grading engine: one module per stage (see ``pipeline``)."""
