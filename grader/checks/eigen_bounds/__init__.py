"""Checks of the assignment `eigen_bounds`: singular values, eigenvalues and Lyapunov exponents of matrix products."""
