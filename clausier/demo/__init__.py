"""Demo and benchmark data: a realistic Toulouse-like territory, reproducible from a seed.

`clausier demo` builds it once for a development database; `python -m bench generate` builds many
territories of the same size to measure the platform at national scale.
"""
