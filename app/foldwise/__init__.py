"""Foldwise: prototype deep-learning networks on FPGAs (prune, quantize, FINN, PYNQ)."""

__version__ = "0.1.0"
