"""mimicdata: a declarative dataset builder for humanoid motion imitation."""

__version__ = "0.1.0"
