"""Widgets of the Demo stage: the frame preview with its region of interest, and the live figure cards."""
