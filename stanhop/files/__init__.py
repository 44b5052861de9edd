"""Files and checkpoints: atomic writes (:mod:`stanhop.files.atomic`) and reading and
writing checkpoints as tensors and plain values (:mod:`stanhop.files.checkpoint`)."""
