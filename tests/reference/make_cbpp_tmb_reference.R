#!/usr/bin/env Rscript
## Wald z tests of cbpp's binomial GLMM from glmmTMB, whose standard errors come from the
## exact (automatic-differentiation) Hessian at the Laplace optimum.  lme4's default
## vcov() uses a finite-difference Hessian at an optimum that its loose PIRLS tolerance
## leaves ~1e-3 away, and its SEs differ from these by up to 0.6 % (see README.md).
##
## Run from the repository root:  Rscript tests/reference/make_cbpp_tmb_reference.R
## Needs r-base-core, r-cran-glmmtmb, r-cran-jsonlite (Debian).  Writes cbpp_glmmtmb.json.
suppressPackageStartupMessages({
  library(glmmTMB)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
repo_root <- if (length(file_arg) == 1) normalizePath(file.path(dirname(file_arg), "..", "..")) else getwd()
d <- read.csv(file.path(repo_root, "..", "shared", "data", "cbpp.csv"))
d$period <- factor(d$period, levels = sort(unique(d$period), method = "radix"))
d$herd <- factor(d$herd, levels = sort(unique(d$herd), method = "radix"))
m <- glmmTMB(cbind(incidence, size - incidence) ~ period + (1 | herd), family = binomial, data = d)
cf <- summary(m)$coefficients$cond
out <- list(
  glmmTMB_version = as.character(packageVersion("glmmTMB")),
  R_version = R.version.string,
  formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
  logLik = as.numeric(logLik(m)),
  coef = lapply(seq_len(nrow(cf)), function(i) list(
    term = rownames(cf)[i], estimate = cf[i, 1], se = cf[i, 2], z = cf[i, 3], p = cf[i, 4]))
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(repo_root, "tests", "reference", "cbpp_glmmtmb.json"))
