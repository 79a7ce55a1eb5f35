"""veille benchmarks: each compares against a named baseline in the same run and writes bench/results/."""
