"""What the process tells its operators: log lines as text or JSON with the id of the request
they were written for (:mod:`.logs`), the counters and histograms ``/metrics`` serves
(:mod:`.metrics`), and the masking that keeps the configured secrets out of every log line,
traceback and printed error (:mod:`.redact`). Each module is a layer of its own
(``tests/test_layers.py``): ``logs`` and ``metrics`` sit below everything that logs or counts,
``redact`` above the settings whose secrets it masks.
"""
