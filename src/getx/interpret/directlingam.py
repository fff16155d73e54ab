"""DirectLiNGAM (Shimizu et al. 2011) with the pairwise likelihood-ratio measure of Hyvarinen &
Smith (2013), as the ``lingam`` package's ``DirectLiNGAM`` computes it, in numpy.

``lingam`` itself stays out of getx (it pins scipy <= 1.13.1); ``bench/lingam_check.py`` runs it
beside this implementation in a separate environment and records that both give the same causal
order and adjacency matrix.

Model: x = B x + e with independent non-Gaussian e and B lower triangular in the causal order.
**Orientation**: ``B[i, j] != 0`` means j -> i (variable j is a direct cause of variable i), the
convention of ``lingam`` and of R's pcalg (``Bpruned``). GET's gcell passed such a matrix to
``networkx.DiGraph`` as is, which reads ``A[i, j]`` as i -> j, so its edges came out reversed and
its parents and children swapped; :func:`adjacency_edges` returns (cause, effect) pairs.

The causal order is found one variable at a time: the next is the one that looks most exogenous
among those left, by the sum over the others of min(0, D)^2 with D the difference of the
approximate mutual informations of the two regression directions (entropies from the maximum
entropy approximation of Hyvarinen 1998); every pair is scored at once as arrays, with no Python
loop over pairs. Then each variable is regressed on its predecessors with the adaptive lasso
(LassoLarsIC, BIC; weights from ordinary least squares), and the kept coefficients are refitted
by least squares on the original scale.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

# Maximum entropy approximation of differential entropy (Hyvarinen 1998), as in lingam.
_K1, _K2, _GAMMA = 79.047, 7.4129, 0.37457
_H_GAUSS = (1 + np.log(2 * np.pi)) / 2
# Elements of one (n, rows, m) block of residuals in the pairwise search (memory bound).
_BLOCK = 1 << 16


def _log_cosh(u: np.ndarray) -> np.ndarray:
    a = np.abs(u)
    return a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)


def entropy(u: np.ndarray, axis: int = 0) -> np.ndarray:
    """Approximate differential entropy of standardised samples along ``axis``."""
    first = np.mean(_log_cosh(u), axis=axis) - _GAMMA
    second = np.mean(u * np.exp(-(u**2) / 2.0), axis=axis)
    return _H_GAUSS - _K1 * first**2 - _K2 * second**2


def _standardise(X: np.ndarray) -> np.ndarray:
    std = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)


def _most_exogenous(X: np.ndarray) -> int:
    """Index (column of ``X``) of the variable whose regressions look most exogenous."""
    n, m = X.shape
    Z = _standardise(X)
    C = (Z.T @ Z) / n  # correlations
    h = entropy(Z)
    # Residual of i on j, standardised: (z_i - c_ij z_j) / sqrt(1 - c_ij^2).
    scale = np.sqrt(np.clip(1.0 - C**2, 1e-12, None))
    HR = np.empty((m, m))
    step = max(1, _BLOCK // max(n * m, 1))
    for lo in range(0, m, step):
        hi = min(m, lo + step)
        R = (Z[:, lo:hi, None] - C[None, lo:hi, :] * Z[:, None, :]) / scale[None, lo:hi, :]
        HR[lo:hi] = entropy(R)  # HR[i, j]: entropy of the residual of i given j
    D = (h[None, :] + HR) - (h[:, None] + HR.T)
    np.fill_diagonal(D, 0.0)
    M = (np.minimum(0.0, D) ** 2).sum(axis=1)
    return int(np.argmin(M))  # the first on ties, as lingam's argmax of -M


def causal_order(X: np.ndarray) -> list[int]:
    """The DirectLiNGAM causal order of the columns of ``X`` (n samples, p variables)."""
    X = np.array(X, dtype=np.float64)
    remaining = list(range(X.shape[1]))
    order: list[int] = []
    while remaining:
        k = _most_exogenous(X[:, remaining]) if len(remaining) > 1 else 0
        m = remaining.pop(k)
        order.append(m)
        if remaining:
            xm = X[:, m] - X[:, m].mean()
            rest = X[:, remaining]
            cov = ((rest - rest.mean(axis=0)) * xm[:, None]).mean(axis=0)
            X[:, remaining] = rest - (cov / xm.var())[None, :] * X[:, m][:, None]
    return order


def adaptive_lasso(X: np.ndarray, predictors: list[int], target: int) -> np.ndarray:
    """Coefficients of ``target`` on ``predictors`` (0 where the adaptive lasso drops one)."""
    from sklearn.linear_model import LassoLarsIC, LinearRegression

    Z = _standardise(X)
    weight = np.abs(LinearRegression().fit(Z[:, predictors], Z[:, target]).coef_)
    lasso = LassoLarsIC(criterion="bic").fit(Z[:, predictors] * weight, Z[:, target])
    kept = np.abs(lasso.coef_ * weight) > 0.0
    coef = np.zeros(len(predictors))
    if kept.any():
        chosen = np.asarray(predictors)[kept]
        coef[kept] = LinearRegression().fit(X[:, chosen], X[:, target]).coef_
    return coef


def direct_lingam(X: np.ndarray) -> tuple[list[int], np.ndarray]:
    """(causal order, adjacency matrix B) of ``X`` (n samples, p variables); B[i, j] != 0 means
    j -> i. Needs more samples than variables (the BIC of the lasso estimates the noise)."""
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    if n <= p + 1:
        raise ValueError(f"DirectLiNGAM needs more samples ({n}) than variables ({p}) + 1")
    from threadpoolctl import threadpool_limits

    # Many small regressions: multi-threaded BLAS costs far more than it gains here (x80 slower
    # for LinearRegression on 700 x 200 with two busy cores).
    with threadpool_limits(limits=1, user_api="blas"):
        order = causal_order(X)
        B = np.zeros((p, p))
        for k in range(1, p):
            B[order[k], order[:k]] = adaptive_lasso(X, order[:k], order[k])
    return order, B


def adjacency_edges(B: np.ndarray) -> Iterator[tuple[int, int, float]]:
    """(cause, effect, weight) for every nonzero entry of ``B`` (``B[effect, cause]``)."""
    effects, causes = np.nonzero(B)
    for i, j in zip(effects.tolist(), causes.tolist(), strict=True):
        yield j, i, float(B[i, j])
