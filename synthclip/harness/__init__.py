"""The study harness: what every study shares, so that a study module is a specification.

``base``: the registry, ``Study``, the parameter groups declared once with their bounds and checks; ``cli`` and
``runner``: the command line, the cell cache and the runner; ``report``: tables, interval text, scoreboard rows
and the rule line; ``summary``: the scoreboard across studies; the shared analysis parts of several studies
(``rate_tables``, ``horizons``, ``rate_methods``, ``structure_tables``, ``_torch_run``, ``_torch_gap``).
The studies themselves are ``synthclip.study``.
"""
