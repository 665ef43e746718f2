"""The genre classifier and cluster models: training, registry, split, model files."""
