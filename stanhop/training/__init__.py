"""Training: ``train(cfg) -> metrics`` (:mod:`stanhop.training.train`), the
LightningModule (:mod:`~stanhop.training.lit`), checkpoint I/O while training, the
external-memory set-up, and the callbacks that act on training (non-finite loss guard,
random-state checkpointing)."""
