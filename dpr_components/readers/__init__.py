"""Readers: DPR's extractive span reader (:class:`~dpr_components.readers.dpr_span_reader.DPRSpanReader`)."""
