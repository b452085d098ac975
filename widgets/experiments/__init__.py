"""The Experiments view: sweep editor, trials table, parameter plot and overlaid curves.

:class:`~widgets.experiments.view.ExperimentsView` assembles the parts; the app's
:mod:`app.experiments_controller` gives it the project and the experiments and does the
work it asks for (start, stop, skip, continue, apply best).
"""

from widgets.experiments.view import ExperimentsView

__all__ = ["ExperimentsView"]
