"""The `eigen_bounds` table: its mutants and correct alternatives."""
from assignments import Alternative, Mutant

MUTANTS = []
ALTERNATIVES = []
CPU_ONLY = []
