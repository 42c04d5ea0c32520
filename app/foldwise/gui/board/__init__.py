"""Widgets of the Board panel (:mod:`foldwise.gui.panels.board_panel`)."""
