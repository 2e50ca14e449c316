"""Numba pieces shared by the kernels' modules (:mod:`hierarch.bayes.kernels`): the SD priors,
the C signatures nutpie calls and the pointer intrinsic.  No C entry point is defined here
(``numba.cfunc`` compiles when its module is imported): each kernel class has its own module
(``_kernel_glmm``, ``_kernel_lmm``, ``_kernel_crossed``), so a model pays only for its own."""

from __future__ import annotations

import numba
import numba.extending
import numpy as np


@numba.njit(cache=True, nogil=True)
def sd_prior(kind, a, b, s):
    """Log-density of a group SD ``s`` (up to a constant) and its derivative."""
    if kind == 0:  # half-normal(sigma = a)
        return -0.5 * (s / a) ** 2, -s / a**2
    if kind == 1:  # exponential(lam = a)
        return -a * s, -a
    if kind == 2:  # half-Cauchy(beta = a)
        return -np.log1p((s / a) ** 2), -2.0 * s / (a**2 + s**2)
    # half-Student-t(nu = a, sigma = b)
    return -0.5 * (a + 1.0) * np.log1p((s / b) ** 2 / a), -(a + 1.0) * s / (a * b**2 + s**2)


# ---------------------------------------------------------------- C-callable entry points
# nutpie calls these from its own threads, without Python or the GIL (as it calls the
# functions it compiles for PyMC models).  ``user_data`` points to a uint64 table of the
# data's addresses and sizes (:data:`hierarch.bayes.kernels.TABLE`); nothing in the machine
# code depends on the model, so it is compiled once per machine.

_T = numba.types
LOGP_SIG = _T.int64(_T.uint64, _T.CPointer(_T.double), _T.CPointer(_T.double),
                    _T.CPointer(_T.double), _T.voidptr)  # fmt: skip
EXPAND_SIG = _T.int64(_T.uint64, _T.uint64, _T.CPointer(_T.double), _T.CPointer(_T.double),
                      _T.voidptr)  # fmt: skip


@numba.extending.intrinsic
def _as_pointer(typingctx, src):
    """A void pointer from an address (numba's documented extension API)."""
    from numba.core import cgutils

    def codegen(cgctx, builder, sig, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return _T.voidptr(src), codegen
