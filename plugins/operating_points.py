"""Operating points: FNMR at FMR with confidence intervals, DET curves, threshold transfer."""
