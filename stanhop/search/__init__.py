"""Searching a model's settings on the validation split (``stanhop-tune``): search space
files, an Optuna study in its folder, trials that never test, and the best trial
written as a Hydra experiment."""
