"""How a run runs, apart from any model: the numeric precision for the machine
(:mod:`~stanhop.runtime.precision`), the intra-op threads (:mod:`~stanhop.runtime.threads`,
:mod:`~stanhop.runtime.thread_tuner`), whether to compile
(:mod:`~stanhop.runtime.compile_choice`, :mod:`~stanhop.runtime.compile_cache`), the
operator counter they read (:mod:`~stanhop.runtime.operators`), and filters for
third-party noise (:mod:`~stanhop.runtime.quiet`). A run's plan joins them to its model
(:mod:`stanhop.training.run_plan`)."""
