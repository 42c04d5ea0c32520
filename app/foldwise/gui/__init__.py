"""Qt views over ``foldwise.core``: thin panels, one per stage; ``jobs.py`` is the only thread-aware code."""
