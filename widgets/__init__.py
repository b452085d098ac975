"""Reusable Qt widgets of LayerCanvas. They know Qt and the engine's registry and graph
document, never the application (``app``).

- :mod:`widgets.canvas`: the node-editor canvas (scene, view, items, theme);
- :mod:`widgets.palette`: the searchable layer palette;
- :mod:`widgets.inspector`: the form of the selected layer;
- :mod:`widgets.diagnostics_panel`: the list of every problem in the project.

Editing widgets never change a document themselves: they are given an *editor*
(:class:`widgets.canvas.api.GraphEditor`) and ask it for each edit.
"""
