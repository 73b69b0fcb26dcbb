"""The cache's results as bytes, to compare two caches."""

from pathlib import Path


def cache_entries(cache: Path) -> dict[str, bytes]:
    """The cached results (detections, embeddings); timing records are measurements, not results."""
    return {
        str(p.relative_to(cache)): p.read_bytes()
        for kind in ("detections", "embeddings")
        for p in sorted((cache / kind).rglob("*"))
        if p.is_file()
    }
