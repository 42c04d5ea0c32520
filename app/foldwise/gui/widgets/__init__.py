"""Reusable views: layer table, layer graph, training curves, figure labels."""
