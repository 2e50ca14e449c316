#!/usr/bin/env Rscript
## Reference values for penalised quasi-likelihood (MASS::glmmPQL, which seed document 003
## lists as the fastest, least precise way to fit a GLMM) and for the inverse Gaussian family.
##
## Run from the repository root:
##     Rscript tests/reference/make_pql_reference.R
##
## Reads cbpp.csv from ../shared/data; simulates the inverse Gaussian data set (written to
## tests/reference/pql_sim_invgauss.csv with 12 significant digits, so the Python tests read
## exactly what R fitted). Writes tests/reference/pql.json. Needs R with MASS, nlme, lme4 and
## jsonlite (Debian: r-base-core r-cran-lme4 r-cran-jsonlite; MASS and nlme come with lme4).
## The Python tests never need R.
##
## Per case (glmmPQL with its defaults: niter = 10, lme fitted by ML):
##   fixef        fixef(fit)
##   se_fixef     the standard errors of summary(fit)$tTable
##   sd_group     the SD of the random intercept (VarCorr)
##   sigma        the residual SD of the working LMM (fit$sigma)
##   ranef        ranef(fit), in level order
##   iterations   how many PQL iterations ran (counted by re-running the loop's test)
## Plus "glmer_invgauss": glmer's Laplace fit of the inverse Gaussian case (fixef, theta,
## sigma(fit)), for the record: glmer's objective for families with a dispersion plugs in the
## deviance-based dispersion, so it is not the likelihood the Laplace twin maximises.

suppressPackageStartupMessages({
  library(MASS)
  library(nlme)
  library(lme4)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
repo_root <- if (length(file_arg) == 1) {
  normalizePath(file.path(dirname(file_arg), "..", ".."))
} else {
  getwd()
}
data_dir <- file.path(repo_root, "..", "shared", "data")
ref_dir <- file.path(repo_root, "tests", "reference")
out_file <- file.path(ref_dir, "pql.json")

as_group <- function(x) factor(x, levels = sort(unique(x), method = "radix"))
read_data <- function(path) read.csv(path, fileEncoding = "UTF-8", stringsAsFactors = FALSE)

cbpp <- read_data(file.path(data_dir, "cbpp.csv"))
cbpp$herd <- as_group(cbpp$herd)
cbpp$period <- factor(cbpp$period)

## inverse Gaussian responses by Michael, Schucany and Haas (1976)
rinvgauss_msh <- function(n, mean, shape) {
  nu <- rnorm(n)^2
  x <- mean + mean^2 * nu / (2 * shape) -
    mean / (2 * shape) * sqrt(4 * mean * shape * nu + mean^2 * nu^2)
  ifelse(runif(n) <= mean / (mean + x), x, mean^2 / x)
}
set.seed(20261202)
n_groups <- 30
per_group <- 8
sim <- local({
  g <- rep(seq_len(n_groups), each = per_group)
  x <- signif(rnorm(n_groups * per_group), 12)
  b <- rnorm(n_groups, sd = 0.4)
  mu <- exp(0.5 + 0.3 * x + b[g])
  y <- signif(rinvgauss_msh(length(mu), mu, shape = 4), 12)
  data.frame(g = g, x = x, y = y)
})
write.csv(sim, file.path(ref_dir, "pql_sim_invgauss.csv"), row.names = FALSE)
sim <- read_data(file.path(ref_dir, "pql_sim_invgauss.csv"))
sim$g <- as_group(sim$g)

## glmmPQL's iteration count: the loop stops at the first fit whose fitted linear predictor
## moved by less than its test; re-run with niter = k until the fit stops changing
count_iterations <- function(call_fun) {
  last <- NULL
  for (k in 1:10) {
    fit <- suppressMessages(call_fun(k))
    if (!is.null(last) && isTRUE(all.equal(fixef(fit), fixef(last), tolerance = 0))) {
      return(k - 1)
    }
    last <- fit
  }
  10
}

summarise_pql <- function(fit, group, formula, data_file, family, link, iterations) {
  tt <- summary(fit)$tTable
  re <- ranef(fit)
  list(
    formula = formula,
    data = data_file,
    family = family,
    link = link,
    fixef = as.list(fixef(fit)),
    se_fixef = as.list(setNames(tt[, "Std.Error"], rownames(tt))),
    sd_group = sqrt(as.numeric(getVarCov(fit)[1, 1])),
    sigma = fit$sigma,
    ranef = as.numeric(re[, "(Intercept)"]),
    ranef_levels = rownames(re),
    iterations = iterations
  )
}

out <- list(
  R_version = R.version.string,
  MASS_version = as.character(packageVersion("MASS")),
  nlme_version = as.character(packageVersion("nlme")),
  lme4_version = as.character(packageVersion("lme4"))
)

pql_cbpp <- function(k) {
  glmmPQL(cbind(incidence, size - incidence) ~ period, random = ~ 1 | herd,
          family = binomial, data = cbpp, niter = k, verbose = FALSE)
}
out$cbpp <- summarise_pql(pql_cbpp(10), "herd", "incidence | trials(size) ~ C(period) + (1 | herd)",
                          "cbpp.csv", "binomial", "logit", count_iterations(pql_cbpp))

pql_ig <- function(k) {
  glmmPQL(y ~ x, random = ~ 1 | g, family = inverse.gaussian(link = "log"), data = sim,
          niter = k, verbose = FALSE)
}
out$invgauss <- summarise_pql(pql_ig(10), "g", "y ~ x + (1 | g)", "pql_sim_invgauss.csv",
                              "inverse_gaussian", "log", count_iterations(pql_ig))
out$invgauss$design <- paste(
  "g = 1..30 with 8 rows each; x ~ N(0,1); b_g ~ N(0, 0.4^2); mu = exp(0.5 + 0.3 x + b_g);",
  "y ~ inverse Gaussian(mean mu, shape 4) by Michael, Schucany and Haas; set.seed(20261202)"
)

gl <- glmer(y ~ x + (1 | g), family = inverse.gaussian(link = "log"), data = sim)
out$glmer_invgauss <- list(
  fixef = as.list(fixef(gl)),
  theta = as.numeric(getME(gl, "theta")),
  sigma = sigma(gl),
  logLik = as.numeric(logLik(gl))
)

writeLines(toJSON(out, auto_unbox = TRUE, digits = 15, pretty = TRUE), out_file)
cat("wrote", out_file, "\n")
