"""Measure: pure maths on scores -- k-fold, operating points, EDC, ranks, group statistics."""
