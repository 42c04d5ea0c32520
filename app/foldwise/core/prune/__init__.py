"""Pruning on the float network (quantization comes after): layer removal with rewiring (``remove_layers``),
channel pruning with torch-pruning (``channels``), the sensitivity scan (``sensitivity``), and the stage that
turns them into iterations (``stage``). ``config`` and ``stage`` import no torch at module level, so the GUI
can import them at start-up. Nothing here imports Qt."""
