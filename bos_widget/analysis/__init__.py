"""Analysis layer: what a run says about sinks.

``metrics`` holds the diagnostics of SCIENCE.md that need no model (pure numpy; public as
``bos_widget.metrics``), ``report`` the sink report, ``corpus_alpha`` sink scores over a
corpus, ``experiments`` the diagnostics that re-run the model (ablations, relocation, BOS
invariance; public as ``bos_widget.experiments``, imports torch). This file imports nothing.
"""
