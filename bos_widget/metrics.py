"""Public path of :mod:`bos_widget.analysis.metrics` (analysis layer): ``import
bos_widget.metrics`` gives that module itself, so user code keeps importing it from here."""

import sys

from .analysis import metrics

sys.modules[__name__] = metrics
