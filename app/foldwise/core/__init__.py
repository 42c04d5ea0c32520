"""Qt-free core of Foldwise: every stage lives here; ``foldwise.gui`` and ``foldwise.cli`` only drive it."""
