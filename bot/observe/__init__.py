"""What the process tells its operators: log lines as text or JSON with the id of the request
they were written for (:mod:`.logs`), the counters and histograms ``/metrics`` serves
(:mod:`.metrics`), and the masking that keeps secrets out of every log line, traceback and
printed error (:mod:`.redact`; the settings say which values are secret,
``Settings.secrets``). It imports nothing else of ``bot``: everything that logs or counts
stands above it.
"""
