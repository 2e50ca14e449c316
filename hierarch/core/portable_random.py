"""A random generator that gives the same numbers in Python and in a web page's JavaScript.

The shrinkage explorer (:mod:`hierarch.frontends.explore`) simulates its data in the browser,
and its numbers must equal hierarch's Python computation for the same seed.  NumPy's
generators cannot be reproduced in JavaScript, so both sides use this one: Tommy Ettinger's
*mulberry32* (a 32-bit counter passed through an integer mix; period 2**32, enough for
teaching-sized simulations), uniforms ``(x + 0.5) / 2**32`` (never 0 or 1), normals by the
Box-Muller transform (two uniforms per normal, the cosine branch) and exponentials by
inversion.  The page's copy lives in ``explorer.html`` (``function Mulberry32``); a browser
test checks that both give the same data.

The integer steps are exact in both languages.  ``log``, ``cos`` and ``sqrt`` may differ in
the last bit between a browser's and the C library's implementations, so normals agree to
about 1e-15 relative, not bit for bit.
"""

from __future__ import annotations

import math

__all__ = ["PortableRandom"]

_MASK = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    """The low 32 bits of a product, as JavaScript's ``Math.imul`` (unsigned here)."""
    return (a * b) & _MASK


class PortableRandom:
    """Uniform, normal and exponential draws reproducible in JavaScript.

    Parameters
    ----------
    seed : int
        Any integer; it is reduced modulo 2**32.

    Examples
    --------
    >>> rng = PortableRandom(1)
    >>> [round(rng.uniform(), 6) for _ in range(3)]
    [0.627074, 0.002736, 0.527447]
    """

    def __init__(self, seed: int) -> None:
        self._state = int(seed) & _MASK

    def next_uint32(self) -> int:
        """The next 32-bit output of mulberry32."""
        self._state = (self._state + 0x6D2B79F5) & _MASK
        a = self._state
        t = _imul(a ^ (a >> 15), 1 | a)
        t = ((t + _imul(t ^ (t >> 7), 61 | t)) & _MASK) ^ t
        return (t ^ (t >> 14)) & _MASK

    def uniform(self) -> float:
        """A uniform draw on (0, 1), never 0 or 1."""
        return (self.next_uint32() + 0.5) / 4294967296.0

    def normal(self) -> float:
        """A standard normal draw (Box-Muller, two uniforms)."""
        u1 = self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    def exponential(self) -> float:
        """A standard exponential draw (inversion, one uniform)."""
        return -math.log(self.uniform())
