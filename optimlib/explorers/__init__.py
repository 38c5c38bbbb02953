"""Panels behind the book's interactive explorers, one module per chapter.

A panel is a pure drawing function ``panel(ax, **params) -> dict``: it draws one figure
for one setting of the sliders and returns the numbers it measured, so the unit tests
and the chapters' assertions can check what the figure shows. ``optimlib.widgets`` puts
sliders on a panel (with a kernel) and draws its static twins (without one).

Imported lazily, like ``optimlib.plot``: it needs matplotlib.
"""
