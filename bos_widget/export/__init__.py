"""Export layer: what leaves the notebook, read from ``(run, state)``, never from a widget.

``page`` writes the standalone offline HTML page, ``figure`` the PNG and SVG figures of a
view, ``crossfig`` those of cross-attention. No torch.
"""
