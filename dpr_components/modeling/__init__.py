"""The model rules inference and training share, each written once.

* :mod:`~dpr_components.modeling.encoders`: loading an encoder checkpoint (DPR or any AutoModel), DPR-checkpoint
  detection, pooling and "DPR needs cls pooling", tokenising without token type ids, batched embedding, the
  max-length-versus-positions check.
* :mod:`~dpr_components.modeling.reader_model`: DPR's span and relevance heads over any encoder, loading and
  saving a reader (a ``DPRReader`` checkpoint, or an encoder checkpoint plus heads).
* :mod:`~dpr_components.modeling.reader_decoding`: windows through the reader in batches, passages ranked by
  relevance, answer text cut at character offsets.
* :mod:`~dpr_components.modeling.fetch`: models shipped on a package registry in parts (all-mpnet-base-v2).

Nothing heavy is imported here: the CLI imports :mod:`~dpr_components.modeling.fetch` at start.
"""
