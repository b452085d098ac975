"""The LayerCanvas application: the main window, document and undo commands, the training
controller, file handling, settings, and the ``layercanvas`` command line (:mod:`app.cli`).

``app`` may import ``widgets`` and ``engine``; nothing imports ``app``.
"""
