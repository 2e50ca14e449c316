"""nutpie's numba compilation with the C-callable wrappers cached on disk.

``nutpie.compile_pymc_model`` compiles two ``numba.cfunc`` wrappers (the log density with its
gradient, and the "expand" function that maps a draw to every stored variable) around the
functions PyTensor generates.  PyTensor caches its own functions on disk, but nutpie's wrappers
are closures numba will not cache, and compiling them costs about four seconds in every new
process -- most of a cold fit of a small model.

Here the wrappers are generated as source code with every constant written into it (sizes, the
byte offsets of nutpie's ``user_data`` record, dtypes) and compiled with ``cache=True`` under a
key that combines a hash of that source with a key of the wrapped graph (the caller's
model-structure key with a digest of hierarch's source, or else PyTensor's own graph key) and
the library versions.  A later process that builds the same model loads the machine code
instead of compiling it.  The result is nutpie's
own ``CompiledPyMCModel``, so ``with_data`` and ``nutpie.sample`` work unchanged.

This leans on nutpie internals (``_make_functions``, ``make_user_data``, the ``user_data``
layout); :func:`compile_pymc_model` returns ``None`` when anything does not look as expected and
the caller then uses ``nutpie.compile_pymc_model``.
"""

from __future__ import annotations

import hashlib
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["compile_pymc_model"]

# nutpie versions whose internals this module was written against (checked, not assumed)
_NUTPIE_TESTED = ("0.16",)


def _offsets(record_dtype: np.dtype, names: list[str]) -> dict[str, tuple[int, int, list[int]]]:
    """Word (8-byte) offsets of each shared variable's address, size and shape in nutpie's
    ``user_data`` record."""
    shared, base = record_dtype.fields["shared"][:2]
    out = {}
    for name in names:
        data_off = base + shared.fields["data"][1] + shared.fields["data"][0].fields[name][1]
        size_off = base + shared.fields["size"][1] + shared.fields["size"][0].fields[name][1]
        shape_dt, shape_off = shared.fields["shape"][0].fields[name][:2]
        shape_off += base + shared.fields["shape"][1]
        ndim = shape_dt.shape[0] if shape_dt.shape else 0
        for off in (data_off, size_off, shape_off):
            if off % 8:
                raise ValueError("unexpected user_data layout")
        out[name] = (data_off // 8, size_off // 8, [shape_off // 8 + i for i in range(ndim)])
    return out


def _wrapper_source(kind: str, n_dim: int, n_expanded: int, names, layout, dtypes) -> str:
    lines = []
    args = []
    for i, name in enumerate(names):
        d, s, shape = layout[name]
        shp = "(" + "".join(f"int(ud[{k}]), " for k in shape) + ")"
        lines.append(
            f"    s{i} = numba.carray(address_as_void_pointer(ud[{d}]), (int(ud[{s}]),), "
            f"np.{dtypes[name]}).reshape({shp})"
        )
        args.append(f"s{i}")
    call = ", ".join(["x", *args])
    n_words = 1 + max([max([d, s, *sh]) for d, s, sh in layout.values()], default=0)
    extract = "\n".join(lines)
    if kind == "logp":
        return f"""
def hierarch_logp(dim, x_, out_, logp_, user_data_):
    if dim != {n_dim}:
        return -1
    x = numba.carray(x_, ({n_dim},))
    out = numba.carray(out_, ({n_dim},))
    logp = numba.carray(logp_, ())
    ud = numba.carray(user_data_, ({n_words},), np.uint64)
{extract}
    try:
        logp_val, grad = inner({call})
        logp[()] = logp_val
        out[...] = grad
        if not np.all(np.isfinite(out)):
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:  # noqa: BLE001
        return 1
    return 0
"""
    return f"""
def hierarch_expand(dim, expanded, x_, out_, user_data_):
    if dim != {n_dim}:
        return -1
    if expanded != {n_expanded}:
        return -1
    x = numba.carray(x_, ({n_dim},))
    out = numba.carray(out_, ({n_expanded},))
    ud = numba.carray(user_data_, ({n_words},), np.uint64)
{extract}
    try:
        (values,) = inner({call})
        out[...] = values
    except Exception:  # noqa: BLE001
        return -2
    return 0
"""


def _hierarch_source_digest() -> str:
    """A digest of hierarch's own source: the graphs it builds change with it."""
    global _SOURCE_DIGEST
    if _SOURCE_DIGEST is None:
        h = hashlib.sha256()
        for path in sorted(Path(__file__).parents[1].rglob("*.py")):
            h.update(path.read_bytes())
        _SOURCE_DIGEST = h.hexdigest()
    return _SOURCE_DIGEST


_SOURCE_DIGEST: str | None = None


def _cfunc(kind, src, inner, graph_key, sig, address_as_void_pointer):
    import numba
    from pytensor.configdefaults import config
    from pytensor.link.numba.cache import compile_numba_function_src

    key = hashlib.sha256(
        "|".join(
            [
                src,
                graph_key,
                version("numba"),
                version("nutpie"),
                version("pytensor"),
                version("pymc"),
                str(config.floatX),
                str(config.numba__fastmath),
                "hierarch-wrapper-3",
            ]
        ).encode()
    ).hexdigest()
    fn = compile_numba_function_src(
        src,
        f"hierarch_{kind}",
        global_env={
            "__name__": __name__,  # numba rebuilds a cached function's globals from it
            "numba": numba,
            "np": np,
            "inner": inner,
            "address_as_void_pointer": address_as_void_pointer,
        },
        cache_key=f"hierarch_{kind}_{key}",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numba.NumbaWarning)  # "cannot cache": compiled, fine
        return numba.cfunc(sig, cache=True)(fn)


def compile_pymc_model(model, jitter_rvs=None, structure_key: Any = None) -> Any | None:
    """``nutpie.compile_pymc_model(model, jitter_rvs=...)`` with the numba wrappers cached on
    disk; ``None`` when this nutpie/PyTensor does not offer what is needed (the caller then
    compiles with nutpie as usual).

    The disk key names the graph.  PyTensor's own key of the rewritten graph is exact but not
    always stable across processes (its rewrites may order commutative inputs differently),
    so a caller that knows what identifies its graph passes ``structure_key`` (hierarch's
    model-structure key, :func:`hierarch.bayes.sampling.model_key`); it is combined with a digest
    of hierarch's source, the library versions, the layout of the parameter vector and of
    the stored variables, and the wrapper's source.  A different rewrite of the same graph
    computes the same function, so the cached code is valid for it.
    """
    try:
        import numba
        from nutpie import compile_pymc as cp
        from pymc.initial_point import make_initial_point_fn
        from pytensor.configdefaults import config
        from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS
    except ImportError:
        return None
    if not version("nutpie").startswith(_NUTPIE_TESTED) or not config.numba__cache:
        return None
    needed = ("_make_functions", "make_user_data", "address_as_void_pointer", "CompiledPyMCModel")
    if not all(hasattr(cp, n) for n in needed):
        return None

    initial_point_fn = make_initial_point_fn(
        model=model,
        default_strategy="support_point",
        jitter_rvs=set(model.free_RVs) if jitter_rvs is None else jitter_rvs,
        return_transformed=True,
    )
    if hasattr(cp, "_wrap_with_lock"):
        initial_point_fn = cp._wrap_with_lock(initial_point_fn)
    n_dim, n_expanded, logp_pt, expand_pt, init_fn, shape_info = cp._make_functions(
        model,
        mode="NUMBA",
        compute_grad=True,
        join_expanded=True,
        pymc_initial_point_fn=initial_point_fn,
        var_names=None,
    )
    logp_fn, expand_fn = logp_pt.vm.jit_fn, expand_pt.vm.jit_fn
    keys = [CACHED_SRC_FUNCTIONS.get(getattr(f, "py_func", None)) for f in (logp_fn, expand_fn)]
    if None in keys:  # a graph PyTensor itself does not cache (an Op without numba caching)
        return None
    if structure_key is not None:
        layout_desc = repr(
            (
                [(v.name, v.type.shape, str(v.dtype)) for v in model.value_vars],
                [
                    (n, str(sl), tuple(int(d) for d in sh))
                    for n, sl, sh in zip(*shape_info, strict=True)
                ],
            )
        )
        base = "|".join([repr(structure_key), layout_desc, _hierarch_source_digest()])
        keys = [f"{kind}:{base}" for kind in ("logp", "expand")]

    shared_data, shared_vars = {}, {}
    for val in [*logp_pt.get_shared(), *expand_pt.get_shared()]:
        if val.name in shared_vars and shared_vars[val.name] is not val:
            return None
        shared_data[val.name] = np.array(val.get_value(), order="C", copy=True)
        shared_vars[val.name] = val
    for val in shared_data.values():
        val.flags.writeable = False
    user_data = cp.make_user_data(shared_vars, shared_data)
    try:
        layout = _offsets(user_data.dtype, list(shared_vars))
    except (KeyError, TypeError, ValueError):
        return None
    dtypes = {n: np.dtype(v.dtype).name for n, v in shared_data.items()}

    T = numba.types
    logp_sig = T.int64(
        T.uint64, T.CPointer(T.double), T.CPointer(T.double), T.CPointer(T.double), T.voidptr
    )
    expand_sig = T.int64(T.uint64, T.uint64, T.CPointer(T.double), T.CPointer(T.double), T.voidptr)
    compiled = {
        kind: _cfunc(
            kind,
            _wrapper_source(
                kind, n_dim, n_expanded, [v.name for v in fn_pt.get_shared()], layout, dtypes
            ),
            fn,
            key,
            sig,
            cp.address_as_void_pointer,
        )
        for kind, fn_pt, fn, key, sig in (
            ("logp", logp_pt, logp_fn, keys[0], logp_sig),
            ("expand", expand_pt, expand_fn, keys[1], expand_sig),
        )
    }
    dims, coords = cp._prepare_dims_and_coords(model, shape_info)
    return cp.CompiledPyMCModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=compiled["logp"],
        compiled_expand_func=compiled["expand"],
        initial_point_func=init_fn,
        shared_data=shared_data,
        user_data=user_data,
        n_expanded=n_expanded,
        shape_info=shape_info,
        logp_func=logp_pt,
        expand_func=expand_pt,
    )
