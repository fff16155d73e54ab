"""The GET catalog: TF-TF pairs of each cell type ranked by regulatory and structural evidence.

``evidence`` (per motif-cluster pair: the causal network's edges, co-importance across genes,
each motif's importance), ``expression`` (the TF genes' expression in a cell type), ``join``
(structure scores of complexes of the TF genes), ``score`` (the ranked score), ``build`` (inputs
checked, the table assembled, written as parquet), ``query`` (duckdb over one or many catalog
files), ``report`` (the demo's section), ``commands`` (``getx catalog build|query``). Layout:
docs/format.md; definitions and measurements: docs/catalog.md.
"""
