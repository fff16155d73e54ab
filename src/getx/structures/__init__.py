"""AlphaFold2-multimer complexes of TF pairs: read, score, segment, prepare and compare.

``read`` (structures and ColabFold JSON), ``colabfold`` (its file naming), ``interface``
(contacts), ``scores`` (pDockQ, ipSAE), ``segments`` (ordered/disordered parts from pLDDT),
``tables`` (score many models, the tables ``getx structures score`` writes), ``pairs``
(ColabFold input for pairs and variants), ``compare`` (wild type against mutant). File formats:
docs/format.md; usage and definitions: docs/structures.md.
"""
