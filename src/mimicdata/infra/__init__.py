"""Infrastructure: atomic writes, the per-dataset lock, progress on stderr."""
