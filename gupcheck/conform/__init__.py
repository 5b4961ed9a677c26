"""Conformance with real kernels."""
