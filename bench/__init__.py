"""getx's benchmarks: ``python -m bench`` runs every benchmark module whose inputs exist.

A benchmark module (``NAME``, ``TITLE``, ``available()``, ``run(work, quick)``) is described in
:mod:`bench.suite`, which discovers, runs and records them and renders
``bench/results/README.md``. The other scripts here (``motif_scan.py``, ``train_step.py``, ...)
also run on their own and keep their own result files.
"""
