"""Runtime helpers every command and layer may use: the numeric precision for the machine
(:mod:`~stanhop.runtime.precision`) and filters for third-party noise
(:mod:`~stanhop.runtime.quiet`)."""
