"""What students get beside each notebook (``selfcheck.py``); torch only."""
