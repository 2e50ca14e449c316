"""Compact log-densities for hierarch's commonest model class, compiled once per machine.

A first fit of a new model structure spends nearly all its time in numba typing and lowering
the functions PyTensor generates for the model's graph (``benchmarks/RESULTS.md``, "Where a
first fit's time goes": ~90 % of it).  For generalized linear mixed models with random
intercepts -- binomial and Bernoulli responses with the logit link, Poisson counts with the
log link, any fixed part and offset, any number of grouping factors, each centred or
non-centred, Normal priors on the fixed effects and a half-normal, exponential, half-Cauchy
or half-Student-t prior on each group SD -- the log posterior density and its gradient are
written here by hand as one numba function whose machine code does not depend on the
model's sizes, data or prior values: it is compiled once per machine (``cache=True``, on
disk beside this file) and every model of the class reuses it.  nutpie samples it through
its Python-function interface, so nothing of the PyMC graph is compiled.

The same holds for marginalized Gaussian models: one grouping factor with one or two effects
per group (:class:`LMMKernel`), and several crossed or nested factors of random intercepts
(:class:`CrossedKernel`), where the fixed effects are integrated out as well and NUTS samples
only the log SDs and log sigma: at InstEval size (4,114 group effects) one gradient costs a
dense Cholesky factor and inverse of ~1,100 unknowns instead of a sparse factor and its
selected inverse of 4,114.

The density is the PyMC graph's (:func:`hierarch.bayes.graphs.build`), up to a constant:
same parameters on the same unconstrained scale (log group SDs), in the same order, so the
posterior draws are stored under the same names.  ``tests/bayes/test_kernels.py`` checks the
log-density and gradient against PyMC's compiled ones at random points, and the posterior
against the PyMC path's within Monte Carlo error.  ``HIERARCH_KERNELS=0`` turns the path off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "CrossedKernel",
    "GLMMKernel",
    "LMMKernel",
    "crossed_kernel",
    "glmm_kernel",
    "kernels_enabled",
    "lmm_kernel",
]

#: group-SD priors the kernel knows: name -> (code, the two parameters read from the prior)
_SD_PRIORS = {
    "HalfNormal": (0, ("sigma", None)),
    "Exponential": (1, ("lam", None)),
    "HalfCauchy": (2, ("beta", None)),
    "HalfStudentT": (3, ("nu", "sigma")),
}
#: (family, link) -> likelihood code
_LIKELIHOODS = {("binomial", "logit"): 0, ("bernoulli", "logit"): 0, ("poisson", "log"): 1}


def kernels_enabled() -> bool:
    """Whether the hand-written log-densities are used (``HIERARCH_KERNELS=0``: never)."""
    return os.environ.get("HIERARCH_KERNELS", "1") != "0"


def _scalar(value) -> float | None:
    """A prior parameter as one number (a list of one element, as block SD priors carry)."""
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    return float(arr[0]) if arr.size == 1 else None


def _functions():
    """The numba functions (compiled on first use, from the on-disk cache when present)."""
    from hierarch.bayes import _kernel_glmm

    return _kernel_glmm.logp, _kernel_glmm.effects


@dataclass
class GLMMKernel:
    """The data and constants of one random-intercept GLMM for :func:`_functions`' ``logp``."""

    names: list[str]  # block names
    X: np.ndarray
    offset: np.ndarray
    y: np.ndarray
    n: np.ndarray
    codes: np.ndarray  # (blocks, rows) int64
    starts: np.ndarray
    J: np.ndarray
    centred: np.ndarray
    loc_col: np.ndarray
    beta_mu: np.ndarray
    beta_sd: np.ndarray
    sd_kind: np.ndarray
    sd_a: np.ndarray
    sd_b: np.ndarray
    family: int
    sd_init: np.ndarray  # the log SDs' starting values (PyMC's initial point)

    @property
    def n_dim(self) -> int:
        return int(self.X.shape[1] + self.J.sum() + len(self.J))

    def _args(self):
        return (
            self.X, self.offset, self.y, self.n, self.codes, self.starts, self.J, self.centred,
            self.loc_col, self.beta_mu, self.beta_sd, self.sd_kind, self.sd_a, self.sd_b,
            self.family,
        )  # fmt: skip

    def logp(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Log density (up to a constant) and gradient at the unconstrained point ``x``."""
        fn, _ = _functions()
        grad = np.empty(self.n_dim)
        val = fn(np.ascontiguousarray(x, dtype=float), grad, *self._args())
        return float(val), grad

    def expand(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every stored variable at ``x``: ``beta``, and per block ``sd_``, ``z_`` or ``c_``
        and ``b_`` (the PyMC graph's names and shapes)."""
        _, effects = _functions()
        b = np.empty(int(self.J.sum()))
        effects(x, self.starts, self.J, self.centred, self.loc_col, b)
        out = {"beta": x[: self.X.shape[1]].copy()}
        pos = 0
        for i, name in enumerate(self.names):
            u0, Jb = self.starts[i] + 1, self.J[i]
            out[f"sd_{name}"] = np.exp(x[self.starts[i] : self.starts[i] + 1])
            kind = "c" if self.centred[i] else "z"
            out[f"{kind}_{name}"] = x[u0 : u0 + Jb].reshape(Jb, 1).copy()
            out[f"b_{name}"] = b[pos : pos + Jb].reshape(Jb, 1)
            pos += Jb
        return out

    def initial_point(self, seed: int, jitter: bool = True) -> np.ndarray:
        """PyMC's initial point (fixed effects at their prior means, log SDs at the log of
        the prior's scale, effects at their means), the other parameters jittered by
        U(-1, 1) as nutpie does (the fixed effects are not: see ``sampling``)."""
        rng = np.random.default_rng(seed)
        p = self.X.shape[1]
        x = np.zeros(self.n_dim)
        x[:p] = self.beta_mu
        for i in range(len(self.J)):
            u0, Jb = self.starts[i] + 1, self.J[i]
            x[self.starts[i]] = self.sd_init[i]
            if self.centred[i] and self.loc_col[i] >= 0:
                x[u0 : u0 + Jb] = self.beta_mu[self.loc_col[i]]
        if jitter:
            x[p:] += rng.uniform(-1.0, 1.0, self.n_dim - p)
        return x

    def table(self) -> np.ndarray:
        """The uint64 table of the data's addresses and sizes the C entry points read
        (:mod:`hierarch.bayes._kernel_glmm`); the arrays must outlive it."""
        self._keep = [
            np.ascontiguousarray(a, dtype=d)
            for a, d in (
                (self.X, np.float64), (self.offset, np.float64), (self.y, np.float64),
                (self.n, np.float64), (self.codes, np.int64), (self.starts, np.int64),
                (self.J, np.int64), (self.centred, np.int64), (self.loc_col, np.int64),
                (self.beta_mu, np.float64), (self.beta_sd, np.float64),
                (self.sd_kind, np.int64), (self.sd_a, np.float64), (self.sd_b, np.float64),
            )
        ]  # fmt: skip
        t = np.zeros(20, dtype=np.uint64)
        t[0], t[1], t[2] = self.X.shape[0], self.X.shape[1], len(self.J)
        for i, a in enumerate(self._keep):
            t[3 + i] = a.ctypes.data
        t[17], t[18] = self.family, self.n_dim
        return t

    def _expanded(self) -> tuple[list[str], list[tuple[int, ...]]]:
        names = ["beta"]
        shapes: list[tuple[int, ...]] = [(self.X.shape[1],)]
        for i, name in enumerate(self.names):
            kind = "c" if self.centred[i] else "z"
            Jb = int(self.J[i])
            names += [f"sd_{name}", f"{kind}_{name}", f"b_{name}"]
            shapes += [(1,), (Jb, 1), (Jb, 1)]
        return names, shapes

    def nutpie_model(self, coords: dict[str, Any], dims: dict[str, tuple[str, ...]]):
        """The kernel as a nutpie model: its C entry points called from nutpie's threads
        (no Python, no GIL), or where this nutpie lacks the interface they need, its
        Python-function interface."""
        names, shapes = self._expanded()
        dims = {k: tuple(v) for k, v in dims.items() if k in names}
        used = {d for v in dims.values() for d in v}
        # nutpie takes text coordinates; the sampler relabels them with the real values
        coords = {k: [str(c) for c in v] for k, v in coords.items() if k in used}
        try:
            from nutpie import _lib

            needed = ("LogpFunc", "ExpandFunc", "PyMcModel", "PySampler")
            if all(hasattr(_lib, n) for n in needed):
                from hierarch.bayes import _kernel_glmm

                return _CModel(
                    self, self.table(), names, shapes, coords, dims,
                    (_kernel_glmm.logp_c, _kernel_glmm.expand_c),
                )  # fmt: skip
        except ImportError:  # pragma: no cover - nutpie is a declared dependency
            pass
        return self._pyfunc_model(names, shapes, coords, dims)

    def _pyfunc_model(self, names, shapes, coords, dims):
        """The kernel through nutpie's Python-function interface (slower: the GIL)."""
        from nutpie.compiled_pyfunc import from_pyfunc

        _functions()  # compile (or load) before sampling starts

        def make_logp_fn():
            def logp(x, **_):
                return self.logp(x)

            return logp

        def make_expand_fn(seed1, seed2, chain):
            def expand(x, **_):
                return self.expand(np.asarray(x, dtype=float))

            return expand

        return from_pyfunc(
            ndim=self.n_dim,
            make_logp_fn=make_logp_fn,
            make_expand_fn=make_expand_fn,
            expanded_dtypes=[np.dtype("float64")] * len(names),
            expanded_shapes=shapes,
            expanded_names=names,
            coords=coords,
            dims=dims,
            make_initial_point_fn=self.initial_point,
        )


def glmm_kernel(spec, parameterization: dict[str, str], pm_model) -> GLMMKernel | None:
    """The kernel of a model the class covers (see the module docstring), else None.

    ``pm_model`` is the PyMC graph of the same spec (:func:`hierarch.bayes.graphs.build`):
    the kernel's parameters must be its value variables, in its order (nothing of it is
    compiled)."""
    pf = spec.engine_parsed
    code = _LIKELIHOODS.get((spec.family, spec.link))
    if code is None or spec.known_se is not None or not pf.blocks:
        return None
    if any(tuple(b.columns) != ("Intercept",) for b in pf.blocks):
        return None
    pri = spec.priors
    if not _normal_fixed_priors(spec):
        return None
    sd_kind, sd_a, sd_b, sd_init = [], [], [], []
    for bname in spec.block_names:
        sd = _prior_code(pri[f"sd_{bname}"])
        if sd is None:
            return None
        sd_kind.append(sd[0])
        sd_a.append(sd[1])
        sd_b.append(sd[2])
        sd_init.append(_support_log(sd))  # PyMC's initial value of the log SD
    # the parameters, in the graph's order: beta, then per block log SD and effects
    expected = ["beta"]
    for bname in spec.block_names:
        kind = "c" if parameterization[bname] == "centred" else "z"
        expected += [f"sd_{bname}_log__", f"{kind}_{bname}"]
    if [v.name for v in pm_model.value_vars] != expected:
        return None

    cells = spec.cells()
    if cells is not None:
        X, off, y, n = cells["X"], cells["offset"], cells["y"], cells["n"]
        codes = np.stack([np.asarray(c, dtype=np.int64) for c in cells["codes"]])
    else:
        X, off, y = pf.X, pf.offset_or_zero, pf.y
        n = spec.trials if spec.family == "binomial" else np.ones(pf.n)
        codes = np.stack([np.asarray(b.codes, dtype=np.int64) for b in pf.blocks])
    p = len(pf.x_names)
    J = np.array([b.n_levels for b in pf.blocks], dtype=np.int64)
    starts = p + np.concatenate([[0], np.cumsum(J + 1)[:-1]]).astype(np.int64)
    centred = np.array([parameterization[b] == "centred" for b in spec.block_names], dtype=np.bool_)
    loc_col = np.full(len(J), -1, dtype=np.int64)
    if "Intercept" in pf.x_names:  # the first centred block centres on the intercept
        first = np.flatnonzero(centred)
        if len(first):
            loc_col[first[0]] = pf.x_names.index("Intercept")
    return GLMMKernel(
        names=list(spec.block_names),
        X=np.ascontiguousarray(X, dtype=float),
        offset=np.ascontiguousarray(off, dtype=float),
        y=np.ascontiguousarray(y, dtype=float),
        n=np.ascontiguousarray(n, dtype=float),
        codes=np.ascontiguousarray(codes),
        starts=starts,
        J=J,
        centred=centred,
        loc_col=loc_col,
        beta_mu=np.array([float(pri[nm].params["mu"]) for nm in pf.x_names]),
        beta_sd=np.array([float(pri[nm].params["sigma"]) for nm in pf.x_names]),
        sd_kind=np.array(sd_kind, dtype=np.int64),
        sd_a=np.array(sd_a),
        sd_b=np.array(sd_b),
        family=code,
        sd_init=np.array(sd_init),
    )


def _c_model(kernel, coords, dims, logp_c, expand_c) -> _CModel:
    """``kernel``'s C entry points as a nutpie model, with the model's coordinates and dims of
    the variables it stores (as text: the sampler relabels them with the real values)."""
    names, shapes = kernel._expanded()
    dims = {k: tuple(v) for k, v in dims.items() if k in names}
    used = {d for v in dims.values() for d in v}
    coords = {k: [str(c) for c in v] for k, v in coords.items() if k in used}
    return _CModel(kernel, kernel.table(), names, shapes, coords, dims, (logp_c, expand_c))


class _CModel:
    """A nutpie model over the kernel's C entry points (what nutpie's own
    ``CompiledPyMCModel`` does for a compiled PyMC graph; nutpie 0.16's interface)."""

    def __init__(self, kernel, table, names, shapes, coords, dims, funcs) -> None:
        self.kernel, self._table = kernel, table
        self._names, self._shape_list = names, shapes
        self._coords, self.dims = coords, dims
        self._funcs = funcs

    @property
    def n_dim(self) -> int:
        return self.kernel.n_dim

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        return dict(zip(self._names, self._shape_list, strict=True))

    @property
    def coords(self):
        return self._coords

    def _make_model(self, init_mean):
        from nutpie import _lib

        n_expanded = int(sum(np.prod(s) for s in self._shape_list))
        ud = self._table.ctypes.data
        logp_c, expand_c = self._funcs
        expand_fn = _lib.ExpandFunc(self.n_dim, n_expanded, expand_c.address, ud, self)
        logp_fn = _lib.LogpFunc(logp_c.address, ud, self)
        dim_sizes = {name: len(vals) for name, vals in self._coords.items()}
        variables = _lib.PyVariable.new_variables(
            self._names, ["float64"] * len(self._names), self._shape_list, dim_sizes, self.dims
        )

        def make_adapter(*args, **kwargs):  # nutpie's default, unused by plain NUTS
            from nutpie.transform_adapter import make_transform_adapter

            return make_transform_adapter()(*args, **kwargs, logp_fn=None)

        return _lib.PyMcModel(
            logp_fn,
            expand_fn,
            variables,
            self.n_dim,
            dim_sizes,
            self._coords,
            self.kernel.initial_point,
            make_adapter,
        )

    def _make_sampler(self, settings, init_mean, cores, progress_type, store):
        from nutpie import _lib

        return _lib.PySampler.from_pymc(
            settings, cores, self._make_model(init_mean), progress_type, store
        )


@dataclass
class LMMKernel:
    """A one-factor Gaussian model with its K = 1 or 2 group effects integrated out, as
    :func:`hierarch.bayes.graphs.build_marginal` writes it: the statistics, the priors'
    constants and the layout of ``_kernel_lmm.lmm_logp``."""

    name: str  # the block's name
    K: int
    stats: dict[str, np.ndarray]  # yty, Xty, XtX, ZtZ, Zty, ZtX
    n_total: float
    beta_mu: np.ndarray
    beta_sd: np.ndarray
    sc: np.ndarray
    sd_prior: tuple[int, float, float]
    sigma_prior: tuple[int, float, float]
    eta_lkj: float
    init: np.ndarray  # PyMC's initial point of the variance parameters (before jitter)

    @property
    def p(self) -> int:
        return len(self.beta_mu)

    @property
    def n_dim(self) -> int:
        return self.p + (2 if self.K == 1 else 4)

    def _args(self):
        st = self.stats
        return (
            float(st["yty"]), st["Xty"], st["XtX"], st["ZtZ"], st["Zty"], st["ZtX"],
            self.n_total, self.K, self.beta_mu, self.beta_sd, self.sc, *self.sd_prior,
            *self.sigma_prior, self.eta_lkj,
        )  # fmt: skip

    def logp(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Log density (up to a constant) and gradient at the unconstrained point ``x``."""
        from hierarch.bayes import _kernel_lmm

        grad = np.empty(self.n_dim)
        val = _kernel_lmm.lmm_logp(np.ascontiguousarray(x, dtype=float), grad, *self._args())
        return float(val), grad

    def _expanded(self) -> tuple[list[str], list[tuple[int, ...]]]:
        b = self.name
        if self.K == 1:
            return ["beta", f"sd_{b}", "sigma"], [(self.p,), (1,), ()]
        names = ["beta", f"chol_{b}", f"chol_{b}_corr", f"chol_{b}_stds", f"sd_{b}",
                 f"corr_{b}", "sigma"]  # fmt: skip
        return names, [(self.p,), (3,), (2, 2), (2,), (2,), (2, 2), ()]

    def expand(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every stored variable at ``x`` (the PyMC graph's names and shapes)."""
        from hierarch.bayes import _kernel_lmm

        names, shapes = self._expanded()
        flat = np.empty(int(sum(np.prod(s) for s in shapes)))
        _kernel_lmm.lmm_expand(np.asarray(x, dtype=float), self.p, self.K, self.sc, flat)
        out, i = {}, 0
        for name, shape in zip(names, shapes, strict=True):
            size = int(np.prod(shape))
            out[name] = flat[i : i + size].reshape(shape)
            i += size
        return out

    def initial_point(self, seed: int, jitter: bool = True) -> np.ndarray:
        """PyMC's initial point, the variance parameters jittered by U(-1, 1) as nutpie
        does (the fixed effects are not)."""
        rng = np.random.default_rng(seed)
        x = np.concatenate([self.beta_mu, self.init])
        if jitter:
            x[self.p :] += rng.uniform(-1.0, 1.0, self.n_dim - self.p)
        return x

    def table(self) -> np.ndarray:
        """The uint64 table of the statistics' addresses the C entry points read."""
        st = self.stats
        reals = np.array([self.n_total, *self.sd_prior, *self.sigma_prior, self.eta_lkj, 0.0])
        self._keep = [
            np.ascontiguousarray(a, dtype=np.float64)
            for a in (np.atleast_1d(st["yty"]), st["Xty"], st["XtX"], st["ZtZ"], st["Zty"],
                      st["ZtX"], reals, self.beta_mu, self.beta_sd, self.sc)
        ]  # fmt: skip
        t = np.zeros(24, dtype=np.uint64)
        t[0], t[1], t[2] = self.p, st["ZtZ"].shape[0], self.K
        for i, a in enumerate(self._keep):
            t[3 + i] = a.ctypes.data
        t[13] = self.n_dim
        return t

    def nutpie_model(self, coords: dict[str, Any], dims: dict[str, tuple[str, ...]]):
        """The kernel's C entry points as a nutpie model."""
        from hierarch.bayes import _kernel_lmm

        return _c_model(self, coords, dims, _kernel_lmm.lmm_logp_c, _kernel_lmm.lmm_expand_c)


def lmm_kernel(spec, pm_model) -> LMMKernel | None:
    """The kernel of a marginalized one-factor Gaussian model with one block of 1 or 2
    effects and priors the kernel knows (Normal fixed effects; the group SDs' and sigma's
    priors among half-normal, exponential, half-Cauchy, half-t), else None."""
    pf = spec.engine_parsed
    if not spec._single_factor or len(pf.blocks) != 1 or pf.blocks[0].k > 2:
        return None
    if spec._sparse_marginal or spec.known_se is not None or not _c_interface():
        return None
    pri = spec.priors
    if not _normal_fixed_priors(spec):
        return None
    (bname,) = spec.block_names
    K = pf.blocks[0].k
    sd_prior = pri[f"sd_{bname}"]
    sc = np.ones(2)
    if K == 2 and isinstance(sd_prior.params.get("sigma"), list):  # scales outside the LKJ
        sc = np.asarray(sd_prior.params["sigma"], dtype=float)
        sd_prior = type(sd_prior)(sd_prior.dist, **{**sd_prior.params, "sigma": 1.0})
    sd = _prior_code(sd_prior)
    sig = _prior_code(pri["sigma"])
    if sd is None or sig is None:
        return None
    expected = ["beta"]
    expected += [f"sd_{bname}_log__"] if K == 1 else [f"chol_{bname}_cholesky-cov-packed__"]
    expected += ["sigma_log__"]
    if [v.name for v in pm_model.value_vars] != expected:
        return None
    st = spec._group_stats()
    stats = {
        "yty": np.array(float(np.sum(st["yty"]))),
        "Xty": np.ascontiguousarray(st["Xty"].sum(axis=0), dtype=float),
        "XtX": np.ascontiguousarray(st["XtX"].sum(axis=0), dtype=float),
        "ZtZ": np.ascontiguousarray(st["ZtZ"], dtype=float),
        "Zty": np.ascontiguousarray(st["Zty"], dtype=float),
        "ZtX": np.ascontiguousarray(st["ZtX"], dtype=float),
    }
    # PyMC's initial point: log of the priors' support points (the scale; 1 / lam), the
    # LKJ factor diagonal at log sd and its off-diagonal at 0
    init_sd = _support_log(sd)
    init = [init_sd] if K == 1 else [init_sd, 0.0, init_sd]
    return LMMKernel(
        name=bname,
        K=K,
        stats=stats,
        n_total=float(np.sum(st["n"])),
        beta_mu=np.array([float(pri[n].params["mu"]) for n in pf.x_names]),
        beta_sd=np.array([float(pri[n].params["sigma"]) for n in pf.x_names]),
        sc=sc,
        sd_prior=sd,
        sigma_prior=sig,
        eta_lkj=float(pri["lkj_eta"].params["value"]),
        init=np.array([*init, _support_log(sig)]),
    )


def _c_interface() -> bool:
    """Whether this nutpie takes C entry points from Python (nutpie 0.16's ``_lib``)."""
    try:
        from nutpie import _lib
    except ImportError:
        return False
    return all(hasattr(_lib, n) for n in ("LogpFunc", "ExpandFunc", "PyMcModel", "PySampler"))


def _normal_fixed_priors(spec) -> bool:
    """Whether every fixed effect has a Normal(mu, sigma) prior (what the kernels know)."""
    for name in spec.engine_parsed.x_names:
        prior = spec.priors[name]
        if prior.dist != "Normal" or set(prior.params) != {"mu", "sigma"}:
            return False
    return True


def _prior_code(prior) -> tuple[int, float, float] | None:
    """``(kind, a, b)`` of a positive prior the kernels know, else None."""
    if prior.dist not in _SD_PRIORS:
        return None
    kind, (pa, pb) = _SD_PRIORS[prior.dist]
    if set(prior.params) != {pa, pb} - {None}:
        return None
    a = _scalar(prior.params[pa])
    b = _scalar(prior.params[pb]) if pb else 1.0
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    return kind, a, b


def _support_log(code: tuple[int, float, float]) -> float:
    """The log of PyMC's support point (initial value) of such a prior."""
    kind, a, b = code
    return float(np.log(1.0 / a if kind == 1 else (b if kind == 3 else a)))


#: the largest dense Schur complement (fixed effects plus the levels of every grouping factor
#: but the largest) the crossed kernel takes; above, the sparse Op
MAX_CROSSED_DENSE = 3000


@dataclass
class CrossedKernel:
    """A Gaussian model with several grouping factors of random intercepts, every group effect
    and the fixed effects integrated out (Normal priors on the fixed effects keep the
    posterior the same): NUTS samples only the log SDs and log sigma.

    The factor with most levels (``e``) is eliminated first (its block of the precision
    matrix is diagonal), the rest (fixed effects, other factors) forms a dense Schur
    complement of ``n_R`` unknowns: one dense Cholesky factor per gradient
    (``_kernel_crossed.crossed_logp``).  The fixed effects and group effects are then drawn
    from their exact joint conditional posterior (:meth:`draws`)."""

    names: list[str]  # block names, formula order
    e: int
    J: np.ndarray  # levels per block
    cnt: np.ndarray
    zey: np.ndarray
    colptr: np.ndarray
    rowidx: np.ndarray
    cval: np.ndarray
    WtW: np.ndarray
    Wty: np.ndarray
    rblk: np.ndarray
    pprec: np.ndarray
    pmean: np.ndarray
    n_total: float
    yty: float
    sd_kind: np.ndarray
    sd_a: np.ndarray
    sd_b: np.ndarray
    sigma_prior: tuple[int, float, float]
    init: np.ndarray
    p: int
    r_index: np.ndarray  # position in the global effect vector of each R unknown (-1: beta)
    e_offset: int  # position of factor e's first level in the global effect vector
    #: the sampler's coordinates: theta = shift + C x (:meth:`precondition`; None: not yet)
    shift: np.ndarray | None = None
    C: np.ndarray | None = None

    @property
    def n_dim(self) -> int:
        return len(self.J) + 1

    def _data(self):
        return (
            self.cnt, self.zey, self.colptr, self.rowidx, self.cval, self.WtW, self.Wty,
            self.rblk, self.pprec, self.pmean, self.e, self._lapack(), *self._pairs(),
        )  # fmt: skip

    def _pairs(self):
        """The products ``c_i c_i'`` of the levels of factor e summed per count (see
        ``_kernel_crossed._crossed_system``): counts, class starts, flat upper-triangle
        positions and values, computed once."""
        if getattr(self, "_pairs_cache", None) is None:
            nR = len(self.Wty)
            keys, vals, cls = [], [], []
            counts, inverse = np.unique(self.cnt, return_inverse=True)
            for i in range(len(self.cnt)):
                lo, hi = self.colptr[i], self.colptr[i + 1]
                r, c = self.rowidx[lo:hi], self.cval[lo:hi]
                a, b = np.triu_indices(hi - lo)
                keys.append(r[a] * nR + r[b])
                vals.append(c[a] * c[b])
                cls.append(np.full(len(a), inverse[i]))
            key = np.concatenate(cls).astype(np.int64) * (nR * nR) + np.concatenate(keys)
            uniq, where = np.unique(key, return_inverse=True)
            pval = np.bincount(where, weights=np.concatenate(vals), minlength=len(uniq))
            pcls, pidx = np.divmod(uniq, nR * nR)
            pstart = np.searchsorted(pcls, np.arange(len(counts) + 1)).astype(np.int64)
            self._pairs_cache = (
                counts.astype(float),
                pstart,
                pidx.astype(np.int64),
                pval.astype(float),
            )
        return self._pairs_cache

    def _lapack(self) -> np.ndarray:
        """The addresses of LAPACK's routines in this process (not pickled, not cached)."""
        if getattr(self, "_lapack_addr", None) is None:
            from hierarch.bayes._kernel_crossed import lapack_addresses

            self._lapack_addr = lapack_addresses()
        return self._lapack_addr

    def _args(self):
        return (
            *self._data(), self.J, self.n_total, self.yty, self.sd_kind, self.sd_a, self.sd_b,
            *self.sigma_prior,
        )  # fmt: skip

    def logp(self, x: np.ndarray, fast: bool = False) -> tuple[float, np.ndarray]:
        """Log density of the variance parameters (up to a constant) and its gradient at the
        unconstrained point ``x`` (the blocks' log SDs, then log sigma); ``fast``: the
        gradient's traces in single precision, as the sampler takes them
        (``_kernel_crossed.crossed_logp``)."""
        from hierarch.bayes import _kernel_crossed

        grad = np.empty(self.n_dim)
        val = _kernel_crossed.crossed_logp(
            np.ascontiguousarray(x, dtype=float), grad, *self._args(), bool(fast)
        )
        return float(val), grad

    def _expanded(self) -> tuple[list[str], list[tuple[int, ...]]]:
        return [f"sd_{b}" for b in self.names] + ["sigma"], [(1,)] * len(self.names) + [()]

    def precondition(self) -> None:
        """Choose the sampler's coordinates ``x`` with ``theta = shift + C x`` from the Laplace
        approximation of the posterior of ``theta`` (the log SDs and log sigma): ``shift`` its
        mode, ``C C'`` the inverse of the negative Hessian there (central differences of the
        gradient).  An affine map has a constant Jacobian, so the posterior is the same; but
        the sampler starts on a near-standard scale (at InstEval size the posterior SDs of
        the four log parameters span 0.002-0.4), so its first tuning steps are not spent
        finding step sizes.  Where the mode or a positive definite Hessian is not found, the
        identity map around the best point found."""
        from scipy import optimize

        def neg(theta):
            value, grad = self.logp(theta)
            if not np.isfinite(value):
                return 1e300, np.zeros_like(theta)
            return -value, -grad

        shift, C = self.init.copy(), np.eye(self.n_dim)
        bounds = [(v - 12.0, v + 12.0) for v in self.init]
        res = optimize.minimize(neg, self.init, jac=True, method="L-BFGS-B", bounds=bounds)
        if np.isfinite(res.fun) and res.fun < 1e300:
            shift = res.x
            h = 1e-4
            Hs = np.empty((self.n_dim, self.n_dim))
            for j in range(self.n_dim):
                step = np.zeros(self.n_dim)
                step[j] = h
                Hs[:, j] = (neg(shift + step)[1] - neg(shift - step)[1]) / (2 * h)
            try:
                Lh = np.linalg.cholesky(0.5 * (Hs + Hs.T))
                C = np.linalg.inv(Lh).T  # (L L')^-1 = L'^-1 L^-1 = C C'
            except np.linalg.LinAlgError:
                C = np.eye(self.n_dim)
        self.shift, self.C = np.ascontiguousarray(shift), np.ascontiguousarray(C)

    def initial_point(self, seed: int, jitter: bool = True) -> np.ndarray:
        """The sampler's starting point: the Laplace mode jittered by U(-2, 2) in the
        sampler's coordinates (about +/-2 posterior SDs of each direction)."""
        rng = np.random.default_rng(seed)
        x = np.zeros(self.n_dim)
        if jitter:
            x += rng.uniform(-2.0, 2.0, self.n_dim)
        return x

    def table(self) -> np.ndarray:
        """The uint64 table of the data's addresses the C entry points read."""
        reals = np.array([self.n_total, self.yty, *self.sigma_prior], dtype=float)
        self._keep = [
            np.ascontiguousarray(a, dtype=d)
            for a, d in (
                (self.cnt, np.float64), (self.zey, np.float64), (self.colptr, np.int64),
                (self.rowidx, np.int64), (self.cval, np.float64), (self.WtW, np.float64),
                (self.Wty, np.float64), (self.rblk, np.int64), (self.pprec, np.float64),
                (self.pmean, np.float64), (self.J, np.int64), (reals, np.float64),
                (self.sd_kind, np.int64), (self.sd_a, np.float64), (self.sd_b, np.float64),
                (self._lapack(), np.uint64), (self.shift, np.float64), (self.C, np.float64),
                *zip(self._pairs(), (np.float64, np.int64, np.int64, np.float64), strict=True),
            )
        ]  # fmt: skip
        t = np.zeros(32, dtype=np.uint64)
        t[0], t[1], t[2] = len(self.cnt), len(self.Wty), len(self.J)
        t[3], t[4], t[5] = len(self.rowidx), self.e, self.n_dim
        for i, a in enumerate(self._keep):
            t[6 + i] = a.ctypes.data
        t[28], t[29] = len(self._keep[18]), len(self._keep[20])  # count classes, pairs
        return t

    def nutpie_model(self, coords: dict[str, Any], dims: dict[str, tuple[str, ...]]):
        """The kernel's C entry points as a nutpie model (in the coordinates of
        :meth:`precondition`)."""
        from hierarch.bayes import _kernel_crossed

        if self.shift is None:
            self.precondition()
        return _c_model(
            self, coords, dims, _kernel_crossed.crossed_logp_c, _kernel_crossed.crossed_expand_c
        )

    def draws(self, sds: np.ndarray, sigma: np.ndarray, seed) -> tuple[np.ndarray, np.ndarray]:
        """Fixed effects (S, p) and group effects (S, q; blocks in formula order) drawn from
        their exact conditional posterior at each of S draws of the SDs (S, blocks) and
        sigma (S,): two threads (the numba function holds no GIL)."""
        from concurrent.futures import ThreadPoolExecutor

        from hierarch.bayes import _kernel_crossed
        from hierarch.core.sparse import one_blas_thread

        S, nR, Je = len(sigma), len(self.Wty), len(self.cnt)
        x = np.column_stack([np.log(sds), np.log(sigma)])
        rng = np.random.default_rng(seed)
        zR, ze = rng.standard_normal((S, nR)), rng.standard_normal((S, Je))
        uR, ue = np.empty((S, nR)), np.empty((S, Je))
        data = self._data()

        def run(rows):
            for t in rows:
                _kernel_crossed.crossed_draw(x[t], zR[t], ze[t], uR[t], ue[t], *data)

        with one_blas_thread(), ThreadPoolExecutor(2) as pool:
            list(pool.map(run, np.array_split(np.arange(S), 2)))
        q = int(self.J.sum())
        b = np.empty((S, q))
        sel = self.r_index >= 0
        b[:, self.r_index[sel]] = uR[:, sel]
        b[:, self.e_offset : self.e_offset + Je] = ue
        return uR[:, : self.p].copy(), b


def crossed_kernel(spec, pm_model) -> CrossedKernel | None:
    """The kernel of a Gaussian model with several grouping factors, random intercepts only,
    Normal priors on the fixed effects and SD / sigma priors the kernels know, whose Schur
    complement has at most ``MAX_CROSSED_DENSE`` unknowns; else None."""
    from scipy import sparse

    pf = spec.engine_parsed
    if spec._single_factor or spec.known_se is not None or not _c_interface():
        return None
    if spec.family != "gaussian" or spec.link != "identity":
        return None
    if any(tuple(b.columns) != ("Intercept",) for b in pf.blocks):
        return None
    pri = spec.priors
    if not _normal_fixed_priors(spec):
        return None
    sds = [_prior_code(pri[f"sd_{b}"]) for b in spec.block_names]
    sig = _prior_code(pri["sigma"])
    if sig is None or any(sd is None for sd in sds):
        return None
    expected = ["beta", *[f"sd_{b}_log__" for b in spec.block_names], "sigma_log__"]
    if [v.name for v in pm_model.value_vars] != expected:
        return None
    J = np.array([b.n_levels for b in pf.blocks], dtype=np.int64)
    e = int(np.argmax(J))
    p = len(pf.x_names)
    if p + int(J.sum() - J[e]) > MAX_CROSSED_DENSE:
        return None
    st = spec._global_stats(dense=False)
    off = np.concatenate([[0], np.cumsum(J)])
    e_idx = np.arange(off[e], off[e + 1])
    r_idx = np.concatenate([np.arange(off[k], off[k + 1]) for k in range(len(J)) if k != e])
    ZtZ = sparse.csc_matrix(st["ZtZ"])
    Zee = ZtZ[e_idx][:, e_idx]
    cnt = np.asarray(Zee.diagonal(), dtype=float)
    if abs(Zee - sparse.diags(cnt)).sum() != 0 or np.any(cnt <= 0):
        return None  # not one level per row
    ZtX = np.asarray(st["ZtX"], dtype=float)
    nR = p + len(r_idx)
    WtW = np.zeros((nR, nR))
    WtW[:p, :p] = st["XtX"]
    WtW[p:, :p] = ZtX[r_idx]
    WtW[:p, p:] = ZtX[r_idx].T
    WtW[p:, p:] = ZtZ[r_idx][:, r_idx].toarray()
    Wty = np.concatenate([np.asarray(st["Xty"], dtype=float), np.asarray(st["Zty"])[r_idx]])
    C = sparse.vstack([sparse.csr_matrix(ZtX[e_idx].T), ZtZ[r_idx][:, e_idx]]).tocsc()
    C.eliminate_zeros()
    C.sort_indices()
    rblk = np.concatenate(
        [np.full(p, -1)] + [np.full(J[k], k) for k in range(len(J)) if k != e]
    ).astype(np.int64)
    beta_mu = np.array([float(pri[n].params["mu"]) for n in pf.x_names])
    beta_sd = np.array([float(pri[n].params["sigma"]) for n in pf.x_names])
    pprec = np.zeros(nR)
    pmean = np.zeros(nR)
    pprec[:p], pmean[:p] = 1.0 / beta_sd**2, beta_mu
    return CrossedKernel(
        names=list(spec.block_names),
        e=e,
        J=J,
        cnt=cnt,
        zey=np.asarray(st["Zty"], dtype=float)[e_idx],
        colptr=C.indptr.astype(np.int64),
        rowidx=C.indices.astype(np.int64),
        cval=C.data.astype(float),
        WtW=WtW,
        Wty=Wty,
        rblk=rblk,
        pprec=pprec,
        pmean=pmean,
        n_total=float(st["n"]),
        yty=float(st["yty"]),
        sd_kind=np.array([sd[0] for sd in sds], dtype=np.int64),
        sd_a=np.array([sd[1] for sd in sds]),
        sd_b=np.array([sd[2] for sd in sds]),
        sigma_prior=sig,
        init=np.array([*[_support_log(sd) for sd in sds], _support_log(sig)]),
        p=p,
        r_index=np.concatenate([np.full(p, -1), r_idx]).astype(np.int64),
        e_offset=int(off[e]),
    )
