"""The ``dpr-components`` command line: indexing, retrieval, question answering, evaluation and the demo."""
