"""Frequentist twins of hierarch's models (maximum likelihood, Laplace, adaptive quadrature)."""

from hierarch.freq.glmm import ScalarGLMMFit, fit_scalar_glmm

__all__ = ["ScalarGLMMFit", "fit_scalar_glmm"]
