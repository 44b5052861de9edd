"""Training: ``train(cfg) -> metrics`` (:mod:`stanhop.training.train`), the
LightningModule (:mod:`~stanhop.training.lit`), checkpoint I/O while training, the
external-memory set-up, the wandb dashboard, and the callbacks
(:mod:`stanhop.training.callbacks`)."""
