"""Public path of :mod:`bos_widget.analysis.experiments` (analysis layer; imports torch):
``import bos_widget.experiments`` gives that package itself, so user code keeps importing it
from here."""

import sys

from .analysis import experiments

sys.modules[__name__] = experiments
