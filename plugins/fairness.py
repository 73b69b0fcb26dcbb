"""Demographic differentials: per-group FMR/FNMR at one threshold (ISO/IEC 19795-10)."""
