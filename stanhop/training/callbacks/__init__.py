"""Lightning callbacks of a training run: the safety of long runs (non-finite loss guard,
random-state checkpointing) and the measures of :mod:`stanhop.measures` applied during a
run (outlier metrics, fake-quantized evaluation, prediction-interval coverage, the
seasonal-naive baseline)."""
