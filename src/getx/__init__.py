"""getx: GET, the general expression transformer, reimplemented.

The package follows the data's journey: ``getx.io`` reads a user's genome, peaks, annotation,
accessibility and expression; ``getx.motifs`` turns sequence into motif-cluster features;
``getx.labels`` places expression on peaks; ``getx.store`` keeps the result as a zarr dataset;
``getx.prepare`` runs those steps; ``getx.cli`` is the ``getx`` command.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # ``getx.load_model`` without importing torch on ``import getx``.
    if name == "load_model":
        from getx.train.predict import load_model

        return load_model
    raise AttributeError(f"module 'getx' has no attribute {name!r}")
