"""Run an aggregator on a T x r factor of the Gramian instead of the T x P Jacobian.

Why: torchjd's ConFIG takes ``torch.linalg.pinv`` of the (T x P) matrix of unit task
gradients, whose default cut-off drops every singular value below ``max(T, P) * eps`` times
the largest. In float32 that is 1.0 at P = 8.4 M shared parameters: on ResNet-18 (11 M) the
pseudo-inverse is all zeros and ConFIG returns a zero update; already at P = 3 M it drops
the smaller singular value of two tasks whose gradients have a cosine above 0.77, and
the update no longer has equal projections on the task gradients. The pseudo-inverse of a
T x P matrix is also the costliest part of the step (an SVD over P).

The fix keeps the library's aggregator and changes only the matrix it sees. For an
aggregator A that commutes with isometries of the parameter space, A(L Qᵀ) = A(L) Qᵀ for
any Q with orthonormal columns (true of ConFIG: row norms, the pseudo-inverse, the
normalisation and the projections are all unchanged by Qᵀ), write the Jacobian through
the eigendecomposition of its Gramian K = J Jᵀ = V Λ Vᵀ:

    J = L Qᵀ,  L = V_r Λ_r^½ (T x r),  Qᵀ = Λ_r^-½ V_rᵀ J (r x P, orthonormal rows),

over the r eigenvalues above ``RANK_RTOL`` times the largest. Then
A(J) = A(L) Qᵀ = w J with the task weights w = V_r Λ_r^-½ A(L): a T x r problem in
float64, whatever P is.
"""

from __future__ import annotations

from typing import Any

import torch

# Eigenvalues of K below this fraction of the largest are taken as zero: singular values of
# J below 1e-6 of the largest, about ten times float32's resolution of a gradient.
RANK_RTOL = 1e-12


def weights_through_gramian(aggregator: Any, gramian: torch.Tensor) -> torch.Tensor:
    """Task weights w with ``aggregator(J) == w @ J``, from the Gramian ``K = J Jᵀ`` alone.

    Args:
        aggregator: a torchjd aggregator that commutes with isometries of the parameter
            space (ConFIG; not GradDrop, whose masks act on single coordinates).
        gramian: (T, T) symmetric positive semi-definite, any float dtype; finite.

    Returns:
        (T,) float64 weights; all zero when every task gradient is zero.
    """
    K = gramian.detach().double()
    K = (K + K.T) / 2  # exact symmetry for eigh
    evals, evecs = torch.linalg.eigh(K)
    top = float(evals.max()) if evals.numel() else 0.0
    if top <= 0.0:
        return torch.zeros(K.shape[0], dtype=torch.float64)
    keep = evals > top * RANK_RTOL
    root = evals[keep].sqrt()
    factor = evecs[:, keep] * root  # L (T x r): L Lᵀ = K
    reduced = aggregator(factor).detach().double()  # A(L), (r,)
    return evecs[:, keep] @ (reduced / root)
