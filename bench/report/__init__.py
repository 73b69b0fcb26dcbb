"""Report: figures, plots, the report card and page, compare."""
