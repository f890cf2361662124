"""Transport layer: slices of a run, checked, encoded and sent to a view.

``checks`` owns what a view, an export or a script may ask for; ``slices`` serves exact or
pooled slices (the kernel side of every view); ``codec`` turns a slice into bytes (twin of
``js/src/codec.ts``); ``snapshot`` is the bounded slice a saved notebook keeps. No torch, no
ipywidgets.
"""
