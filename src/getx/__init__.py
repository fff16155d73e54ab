"""getx: GET, the general expression transformer, reimplemented.

The package follows the data's journey: ``getx.io`` reads a user's genome, peaks, annotation,
accessibility and expression; ``getx.motifs`` turns sequence into motif-cluster features;
``getx.labels`` places expression on peaks; ``getx.store`` keeps the result as a zarr dataset;
``getx.prepare`` runs those steps; ``getx.cli`` is the ``getx`` command.
"""

__version__ = "0.1.0"
