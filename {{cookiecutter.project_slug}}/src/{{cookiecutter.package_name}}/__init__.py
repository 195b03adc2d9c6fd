"""The pipeline's stages: prepare, featurize, train and evaluate, one module each."""
