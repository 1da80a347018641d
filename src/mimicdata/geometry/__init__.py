"""Rotations and quaternion math shared by every stage."""
