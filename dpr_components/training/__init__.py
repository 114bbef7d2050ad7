"""Training: DPR's JSON training data, a model-agnostic training loop, and DPR reader training."""
