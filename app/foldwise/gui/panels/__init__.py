"""One panel per stage (Network, Prune, Quantize, Build, Board, Demo, Compare)."""
