"""CHOLMOD factors and Takahashi's selected inverse against dense LAPACK results.

Tolerance: 1e-10 relative (solves, log-determinants and inverse entries of well-conditioned
matrices agree to ~1e-14 here; the margin covers other BLAS builds)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from hierarch.core.sparse import CholmodPattern


def spd(rng, n, density):
    B = sparse.random(n, n, density=density, random_state=rng, data_rvs=rng.standard_normal)
    return (B @ B.T + sparse.identity(n)).tocsc()


@pytest.mark.parametrize("n,density", [(5, 0.3), (60, 0.05), (250, 0.01)])
def test_factor_solves_and_logdet_match_dense(rng, n, density):
    A = spd(rng, n, density)
    Ad = A.toarray()
    f = CholmodPattern(A).factor(A)
    b = rng.standard_normal((n, 3))
    np.testing.assert_allclose(f.logdet(), np.linalg.slogdet(Ad)[1], rtol=1e-10)
    np.testing.assert_allclose(f.solve(b), np.linalg.solve(Ad, b), rtol=1e-10, atol=1e-12)
    h = f.solve_L(b[:, 0])
    np.testing.assert_allclose(h @ h, b[:, 0] @ np.linalg.solve(Ad, b[:, 0]), rtol=1e-10)
    np.testing.assert_allclose(f.solve_Lt(f.solve_L(b)), np.linalg.solve(Ad, b), atol=1e-12)


def test_selected_inverse_matches_the_dense_inverse_on_the_pattern(rng):
    A = spd(rng, 200, 0.015)
    pat = CholmodPattern(A)
    f = pat.factor(A)
    low = sparse.tril(A).tocoo()
    inv = np.linalg.inv(A.toarray())
    got = f.inverse_on(low.row, low.col)
    np.testing.assert_allclose(got, inv[low.row, low.col], rtol=1e-10, atol=1e-14)
    # the upper triangle by symmetry, and the pattern reused for new values afterwards
    np.testing.assert_allclose(f.inverse_on(low.col, low.row), got)
    A2 = (A @ sparse.diags(np.full(200, 2.0))).tocsc()
    np.testing.assert_allclose(
        pat.factor(A2).logdet(), np.linalg.slogdet(A2.toarray())[1], rtol=1e-10
    )


def test_values_on_a_fixed_pattern_tolerate_dropped_zeros(rng):
    A = spd(rng, 40, 0.1)
    pat = CholmodPattern(A)
    D = sparse.diags(np.r_[np.zeros(5), np.ones(35)])  # zero rows drop entries from A's pattern
    A0 = (D @ A @ D + sparse.identity(40)).tocsc()
    np.testing.assert_allclose(
        pat.factor(A0).logdet(), np.linalg.slogdet(A0.toarray())[1], rtol=1e-10
    )


def test_bad_matrices_are_refused(rng):
    A = spd(rng, 30, 0.1)
    pat = CholmodPattern(sparse.diags(np.ones(30)).tocsc())
    with pytest.raises(ValueError, match="outside the factored pattern"):
        pat.factor(A)
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        CholmodPattern(A).factor((-A).tocsc())


@pytest.mark.parametrize("tail_min", [32, 10**9], ids=["lapack-tail", "recursion-only"])
def test_selected_inverse_of_a_crossed_design_with_a_dense_trailing_block(
    rng, monkeypatch, tail_min
):
    """Crossed factors (300 students, each rated 8 of 60 lecturers) fill the lecturers' block
    of the factor: its dense tail goes to LAPACK, the columns before it read it directly."""
    from hierarch.core import sparse as hs

    monkeypatch.setattr(hs, "_DENSE_TAIL_MIN", tail_min)
    tails = []
    real = hs._dense_tail
    monkeypatch.setattr(hs, "_dense_tail", lambda cp: tails.append(real(cp)) or tails[-1])
    n_s, n_d = 300, 60
    rows = np.repeat(np.arange(n_s), 8)
    cols = np.concatenate([rng.choice(n_d, 8, replace=False) for _ in range(n_s)])
    Z = sparse.hstack(
        [
            sparse.csr_matrix((np.ones(len(rows)), (np.arange(len(rows)), rows))),
            sparse.csr_matrix((np.ones(len(rows)), (np.arange(len(rows)), cols))),
        ]
    ).tocsc()
    lam = sparse.diags(np.concatenate([np.full(n_s, 0.6), np.full(n_d, 1.3)]))
    A = (lam @ Z.T @ Z @ lam + sparse.identity(n_s + n_d)).tocsc()
    f = CholmodPattern(A).factor(A)
    low = sparse.tril(A).tocoo()
    inv = np.linalg.inv(A.toarray())
    np.testing.assert_allclose(
        f.inverse_on(low.row, low.col), inv[low.row, low.col], rtol=1e-10, atol=1e-14
    )
    assert tails and tails[0] >= 32  # the lecturers' block did fill
