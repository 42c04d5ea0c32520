"""The Compare panel's parts: the side-by-side table, the charts, the diff and the story views."""
