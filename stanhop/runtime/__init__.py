"""How a run runs, planned in one call (:func:`stanhop.runtime.plan.plan_run`): the
numeric precision for the machine (:mod:`~stanhop.runtime.precision`), the intra-op
threads (:mod:`~stanhop.runtime.threads`, :mod:`~stanhop.runtime.thread_tuner`), whether
to compile (:mod:`~stanhop.runtime.compile_choice`, :mod:`~stanhop.runtime.compile_cache`),
from what a step of the run's model costs (:mod:`~stanhop.runtime.step_cost`,
:mod:`~stanhop.runtime.operators`); and filters for third-party noise
(:mod:`~stanhop.runtime.quiet`)."""
