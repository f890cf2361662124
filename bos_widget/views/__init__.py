"""View layer: the notebook widgets.

``widget`` is :class:`~bos_widget.AttentionWidget` (traits and message handlers, thin) with
its trait types in ``traits``; ``seq2seq`` shows encoder, decoder and cross-attention,
``compare`` two runs side by side, ``corpus_view`` sink scores over a corpus, ``compat`` the
bertviz-shaped ``head_view`` and ``model_view``. No torch.
"""
