"""The console commands (``stanhop-train``, ``stanhop-forecast``, ``stanhop-evaluate``,
``stanhop-report``): thin layers that parse arguments, call the library and report errors
and warnings in one line each."""
