"""Interpretation of a trained GET model: which regions and motifs drive each gene, enhancer-gene
links, knock-outs, overexpression and variant effects, and the causal motif network.

Importing this package is cheap; torch loads when a function that runs the model is called.
"""
