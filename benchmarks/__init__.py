"""Scripts that measure digitpad's speed; not part of the test run."""
