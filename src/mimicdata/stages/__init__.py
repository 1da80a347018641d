"""The per-clip stages after ingest: resample, FK and velocities, preprocess, split."""
