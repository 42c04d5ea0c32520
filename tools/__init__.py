"""Development tools for the Foldwise checkout (not shipped in the wheel)."""
