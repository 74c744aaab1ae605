"""The parts of ``benchmarks/profile_sampling.py``, one concept a module."""
