"""The offline demo: its corpus, its reader recipe and the run that answers sample questions."""
