#!/usr/bin/env Rscript
## Produce lme4 / glmmTMB reference values for hierarch's frequentist GLMM tests
## (Poisson, negative binomial, Bernoulli with logit / probit links, binomial
## with cloglog link, Gamma and Beta).
##
## Run from the repository root:
##     Rscript tests/reference/make_glmm_reference.R
##
## Reads grouseticks.csv and cbpp.csv from ../shared/data (relative to the
## repository root). Simulates five data sets with fixed seeds, writes them to
## tests/reference/glmm_sim_*.csv, reads them back from those CSV files and fits
## the models to exactly the values in the files. Writes
## tests/reference/lme4_glmm.json.
## Needs R with lme4, glmmTMB and jsonlite
## (Debian: r-base-core r-cran-lme4 r-cran-glmmtmb r-cran-jsonlite).
## The Python test suite only reads the JSON and CSV files; it never needs R.

suppressPackageStartupMessages({
  library(lme4)
  library(glmmTMB)
  library(jsonlite)
})

## Locate the repository root: two levels above this script when run via
## Rscript, otherwise the working directory.
args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
repo_root <- if (length(file_arg) == 1) {
  normalizePath(file.path(dirname(file_arg), "..", ".."))
} else {
  getwd()
}
data_dir <- file.path(repo_root, "..", "shared", "data")
ref_dir <- file.path(repo_root, "tests", "reference")
out_file <- file.path(ref_dir, "lme4_glmm.json")

## Grouping columns become factors whose levels are sorted in C (byte /
## code point) order, independent of the locale: integer ids sort
## numerically, strings as Python's sorted() would sort them.
as_group <- function(x) {
  factor(x, levels = sort(unique(x), method = "radix"))
}
read_data <- function(path) {
  read.csv(path, fileEncoding = "UTF-8", stringsAsFactors = FALSE)
}

named_list <- function(x) as.list(setNames(as.numeric(x), names(x)))
rows_of <- function(m) {
  m <- as.matrix(m)
  lapply(seq_len(nrow(m)), function(i) as.list(as.numeric(m[i, ])))
}

## Evaluate a fitting call, recording (and muffling) its warnings and messages
## so that they can be stored in the JSON.
capture_fit <- function(expr) {
  warns <- character(0)
  msgs <- character(0)
  fit <- withCallingHandlers(
    expr,
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    },
    message = function(m) {
      msgs <<- c(msgs, sub("\n$", "", conditionMessage(m)))
      invokeRestart("muffleMessage")
    }
  )
  list(fit = fit, warnings = warns, messages = msgs)
}

## ---------------------------------------------------------------------------
## Data from ../shared/data
## ---------------------------------------------------------------------------

grouseticks <- read_data(file.path(data_dir, "grouseticks.csv"))
for (v in c("YEAR", "BROOD", "INDEX", "LOCATION")) {
  grouseticks[[v]] <- as_group(grouseticks[[v]])
}

cbpp <- read_data(file.path(data_dir, "cbpp.csv"))
cbpp$herd <- as_group(cbpp$herd)
cbpp$period <- as_group(cbpp$period)

## ---------------------------------------------------------------------------
## Simulated data: generated here, written to CSV, then read back so that R
## fits exactly the numbers that the Python tests read.
## Covariates are rounded to 6 decimals and continuous responses to 12
## significant digits before writing.
## ---------------------------------------------------------------------------

## Correlated (b0, b1) per group: rows of Z %*% chol(Sigma), Z standard normal.
correlated_effects <- function(n_groups, sd0, sd1, rho) {
  Sigma <- matrix(c(sd0^2, rho * sd0 * sd1, rho * sd0 * sd1, sd1^2), 2)
  matrix(rnorm(2 * n_groups), n_groups, 2) %*% chol(Sigma)
}

simulations <- list()

write_sim <- function(key, df, file, params) {
  path <- file.path(ref_dir, file)
  write.csv(df, path, row.names = FALSE, quote = FALSE)
  simulations[[key]] <<- c(list(file = file, nrow = nrow(df)), params)
  read_data(path)
}

## 2. Poisson with random slopes and an exposure offset.
sim_poisson <- local({
  seed <- 20240611L
  set.seed(seed)
  G <- 40L
  n_g <- sample(8:12, G, replace = TRUE)
  g <- rep(seq_len(G), n_g)
  N <- length(g)
  x <- round(rnorm(N), 6)
  t <- round(runif(N, 0.5, 2), 6)
  b <- correlated_effects(G, 0.5, 0.3, 0.4)
  eta <- 0.5 + 0.3 * x + b[g, 1] + b[g, 2] * x
  y <- rpois(N, t * exp(eta))
  write_sim("poisson_slopes", data.frame(g = g, x = x, t = t, y = y),
            "glmm_sim_poisson.csv",
            list(seed = seed, n_groups = G,
                 truth = list(fixef = list("(Intercept)" = 0.5, x = 0.3),
                              sd = list("(Intercept)" = 0.5, x = 0.3), cor = 0.4),
                 design = "g = 1..40 with 8-12 rows each (sample(8:12)); x ~ N(0,1); t ~ U(0.5, 2); y ~ Poisson(t * exp(eta))"))
})
sim_poisson$g <- as_group(sim_poisson$g)

## 4. Bernoulli (logit) with random slopes.
sim_bernoulli <- local({
  seed <- 20240619L
  set.seed(seed)
  G <- 60L
  n_g <- rep(10L, G)
  g <- rep(seq_len(G), n_g)
  N <- length(g)
  x1 <- round(rnorm(N), 6)
  x2 <- rbinom(N, 1, 0.5)
  b <- correlated_effects(G, 1.0, 0.5, -0.3)
  eta <- -0.3 + 0.8 * x1 - 0.5 * x2 + b[g, 1] + b[g, 2] * x1
  y <- rbinom(N, 1, plogis(eta))
  write_sim("bernoulli_slopes", data.frame(g = g, x1 = x1, x2 = x2, y = y),
            "glmm_sim_bernoulli.csv",
            list(seed = seed, n_groups = G,
                 truth = list(fixef = list("(Intercept)" = -0.3, x1 = 0.8, x2 = -0.5),
                              sd = list("(Intercept)" = 1.0, x1 = 0.5), cor = -0.3),
                 design = "g = 1..60 with 10 rows each; x1 ~ N(0,1); x2 ~ Bernoulli(0.5); y ~ Bernoulli(plogis(eta))"))
})
sim_bernoulli$g <- as_group(sim_bernoulli$g)

## 5. Bernoulli (probit) with crossed random intercepts.
sim_probit <- local({
  seed <- 20240613L
  set.seed(seed)
  A <- 30L
  B <- 20L
  N <- 600L
  a <- sample(A, N, replace = TRUE)
  b <- sample(B, N, replace = TRUE)
  stopifnot(length(unique(a)) == A, length(unique(b)) == B)
  x <- round(rnorm(N), 6)
  u <- rnorm(A, 0, 0.7)
  v <- rnorm(B, 0, 0.4)
  y <- rbinom(N, 1, pnorm(0.2 + 0.6 * x + u[a] + v[b]))
  write_sim("bernoulli_probit_crossed", data.frame(a = a, b = b, x = x, y = y),
            "glmm_sim_probit_crossed.csv",
            list(seed = seed, n_a = A, n_b = B,
                 truth = list(fixef = list("(Intercept)" = 0.2, x = 0.6),
                              sd = list(a = 0.7, b = 0.4)),
                 design = "600 rows, (a, b) drawn uniformly from 30 x 20 levels; x ~ N(0,1); y ~ Bernoulli(pnorm(eta))"))
})
sim_probit$a <- as_group(sim_probit$a)
sim_probit$b <- as_group(sim_probit$b)

## 7. Gamma (log link), random intercept.
sim_gamma <- local({
  seed <- 20240614L
  set.seed(seed)
  G <- 40L
  g <- rep(seq_len(G), each = 10L)
  N <- length(g)
  x <- round(rnorm(N), 6)
  bg <- rnorm(G, 0, 0.4)
  mu <- exp(1 + 0.5 * x + bg[g])
  shape <- 4
  y <- signif(rgamma(N, shape = shape, rate = shape / mu), 12)
  write_sim("gamma_tmb", data.frame(g = g, x = x, y = y),
            "glmm_sim_gamma.csv",
            list(seed = seed, n_groups = G,
                 truth = list(fixef = list("(Intercept)" = 1, x = 0.5),
                              sd = list("(Intercept)" = 0.4), shape = shape),
                 design = "g = 1..40 with 10 rows each; x ~ N(0,1); y ~ Gamma(shape = 4, rate = 4 / mu), mu = exp(eta)"))
})
sim_gamma$g <- as_group(sim_gamma$g)

## 8. Beta (logit link), random intercept.
sim_beta <- local({
  seed <- 20240615L
  set.seed(seed)
  G <- 40L
  g <- rep(seq_len(G), each = 10L)
  N <- length(g)
  x <- round(rnorm(N), 6)
  bg <- rnorm(G, 0, 0.6)
  mu <- plogis(-0.5 + 0.7 * x + bg[g])
  phi <- 20
  y <- signif(rbeta(N, mu * phi, (1 - mu) * phi), 12)
  stopifnot(all(y > 0 & y < 1))
  write_sim("beta_tmb", data.frame(g = g, x = x, y = y),
            "glmm_sim_beta.csv",
            list(seed = seed, n_groups = G,
                 truth = list(fixef = list("(Intercept)" = -0.5, x = 0.7),
                              sd = list("(Intercept)" = 0.6), phi = phi),
                 design = "g = 1..40 with 10 rows each; x ~ N(0,1); y ~ Beta(mu * 20, (1 - mu) * 20), mu = plogis(eta)"))
})
sim_beta$g <- as_group(sim_beta$g)

## ---------------------------------------------------------------------------
## Summaries
## ---------------------------------------------------------------------------

varcorr_records_lme4 <- function(fit) {
  vc <- as.data.frame(VarCorr(fit), order = "cov.last")
  lapply(seq_len(nrow(vc)), function(i) list(
    group = vc$grp[i],
    var1 = if (is.na(vc$var1[i])) NULL else vc$var1[i],
    var2 = if (is.na(vc$var2[i])) NULL else vc$var2[i],
    vcov = vc$vcov[i],
    sdcor = vc$sdcor[i]
  ))
}

## Same layout as as.data.frame(VarCorr(<merMod>), order = "cov.last"):
## per grouping factor, the SDs first, then the correlations of the lower
## triangle column by column.
varcorr_records_tmb <- function(fit) {
  vc <- VarCorr(fit)$cond
  out <- list()
  for (g in names(vc)) {
    s <- attr(vc[[g]], "stddev")
    nm <- names(s)
    for (i in seq_along(s)) {
      out[[length(out) + 1]] <- list(group = g, var1 = nm[i], var2 = NULL,
                                      vcov = unname(s[i])^2, sdcor = unname(s[i]))
    }
    if (length(s) > 1) {
      cr <- attr(vc[[g]], "correlation")
      for (j in seq_len(length(s) - 1)) for (i in (j + 1):length(s)) {
        out[[length(out) + 1]] <- list(group = g, var1 = nm[j], var2 = nm[i],
                                        vcov = cr[i, j] * s[i] * s[j], sdcor = cr[i, j])
      }
    }
  }
  out
}

## Conditional modes per grouping factor. `condvar` holds the diagonal of the
## per-level conditional covariance, one list per column (like `modes`);
## `condvar_blocks` the full k x k per-level matrices (row-major) when k > 1.
ranef_entry <- function(m, cv_array) {
  k <- ncol(m)
  entry <- list(
    levels = I(rownames(m)),
    columns = I(colnames(m)),
    modes = setNames(lapply(seq_len(k), function(j) as.numeric(m[[j]])), colnames(m)),
    condvar = setNames(lapply(seq_len(k), function(j) as.numeric(cv_array[j, j, ])), colnames(m))
  )
  if (k > 1) {
    entry$condvar_blocks <- lapply(seq_len(dim(cv_array)[3]),
                                   function(l) rows_of(matrix(cv_array[, , l], k)))
  }
  entry
}

fam_info <- function(fam) list(family = fam$family, link = fam$link)

summarise_lme4 <- function(cap, formula_text, data_file) {
  fit <- cap$fit
  fe <- fixef(fit)
  V <- as.matrix(vcov(fit))
  se <- sqrt(diag(V))
  names(se) <- names(fe)
  ## lme4 warns that the RX-based and Hessian-based matrices differ; that is
  ## exactly the difference being recorded, so silence only that warning.
  se_nohess <- withCallingHandlers(
    sqrt(diag(as.matrix(vcov(fit, use.hessian = FALSE)))),
    warning = function(w) {
      if (grepl("finite-difference Hessian", conditionMessage(w)))
        invokeRestart("muffleWarning")
    }
  )
  names(se_nohess) <- names(fe)
  ll <- logLik(fit)
  re <- ranef(fit, condVar = TRUE)
  ranef_out <- lapply(names(re), function(g) {
    pv <- attr(re[[g]], "postVar")
    if (is.list(pv)) stop("several terms per grouping factor are not handled")
    ranef_entry(re[[g]], pv)
  })
  names(ranef_out) <- names(re)
  list(
    engine = "lme4",
    formula = formula_text,
    data = data_file,
    family = fam_info(family(fit)),
    nAGQ = fit@devcomp$dims[["nAGQ"]],
    fixef = named_list(fe),
    se_fixef = named_list(se),
    se_fixef_no_hessian = named_list(se_nohess),
    vcov_names = I(names(fe)),
    vcov = rows_of(V),
    theta = named_list(getME(fit, "theta")),
    varcorr = varcorr_records_lme4(fit),
    logLik = as.numeric(ll),
    df = as.integer(attr(ll, "df")),
    AIC = AIC(fit),
    deviance = deviance(fit),
    nobs = nobs(fit),
    ngrps = as.list(setNames(as.integer(ngrps(fit)), names(ngrps(fit)))),
    isSingular = isSingular(fit),
    ranef = ranef_out,
    optimizer = fit@optinfo$optimizer,
    convergence_messages = I(c(fit@optinfo$conv$lme4$messages, cap$warnings)),
    messages = I(cap$messages)
  )
}

## Conditional variances of glmmTMB's random effects b given the data *and*
## the estimated parameters: diag of the inverse of the Hessian of the joint
## negative log-likelihood with respect to b (TMB's spHess) at the optimum.
## This is the analogue of lme4's postVar (which also treats parameters as
## known) but with the observed Hessian. glmmTMB's own condVar adds the
## parameter-uncertainty term of TMB's generalised delta method.
tmb_condvar_given_params <- function(fit) {
  env <- fit$obj$env
  par <- env$last.par.best
  H <- env$spHess(par, random = TRUE)
  Matrix::diag(Matrix::solve(H))
}

summarise_tmb <- function(cap, formula_text, data_file) {
  fit <- cap$fit
  fe <- fixef(fit)$cond
  V <- as.matrix(vcov(fit)$cond)
  se <- sqrt(diag(V))
  names(se) <- names(fe)
  ll <- logLik(fit)
  re <- ranef(fit, condVar = TRUE)$cond
  cv_given <- tmb_condvar_given_params(fit)
  off <- 0
  ranef_out <- list()
  for (g in names(re)) {
    m <- re[[g]]
    cv <- attr(m, "condVar")
    if (is.list(cv)) stop("several terms per grouping factor are not handled")
    entry <- ranef_entry(m, cv)
    ## b is stored level-major (all columns of level 1, then level 2, ...).
    k <- ncol(m)
    nl <- nrow(m)
    idx <- off + seq_len(k * nl)
    cg <- matrix(cv_given[idx], nrow = k)
    entry$condvar_given_params <- setNames(lapply(seq_len(k), function(j) as.numeric(cg[j, ])),
                                           colnames(m))
    off <- off + k * nl
    ranef_out[[g]] <- entry
  }
  stopifnot(off == length(cv_given))
  ## Check the conditional modes against the b vector used above.
  b_best <- fit$obj$env$last.par.best[fit$obj$env$random]
  stopifnot(max(abs(b_best - unlist(lapply(re, function(m) as.vector(t(as.matrix(m))))))) < 1e-12)
  list(
    engine = "glmmTMB",
    formula = formula_text,
    data = data_file,
    family = fam_info(family(fit)),
    fixef = named_list(fe),
    se_fixef = named_list(se),
    vcov_names = I(names(fe)),
    vcov = rows_of(V),
    varcorr = varcorr_records_tmb(fit),
    sigma = sigma(fit),
    logLik = as.numeric(ll),
    df = as.integer(attr(ll, "df")),
    AIC = AIC(fit),
    nobs = nobs(fit),
    ngrps = as.list(setNames(as.integer(vapply(re, nrow, 1L)), names(re))),
    ranef = ranef_out,
    pdHess = fit$sdr$pdHess,
    optimizer_convergence = fit$fit$convergence,
    optimizer_message = fit$fit$message,
    convergence_messages = I(cap$warnings),
    messages = I(cap$messages)
  )
}

## ---------------------------------------------------------------------------
## Fits
## ---------------------------------------------------------------------------

out <- list(
  lme4_version = as.character(packageVersion("lme4")),
  glmmTMB_version = as.character(packageVersion("glmmTMB")),
  TMB_version = as.character(packageVersion("TMB")),
  R_version = R.version.string
)
fits <- list()

## Each lme4 model is fitted twice: with lme4's defaults (the main record) and
## with a tight PIRLS tolerance, glmerControl(tolPwrss = 1e-14) (stored as
## <key>.tight_pwrss). With the default tolPwrss = 1e-7 the inner PIRLS
## iterations stop before the conditional modes are fully converged, which
## moves the reported Laplace logLik by up to ~3e-4 and the estimates in the
## 4th decimal; the tight fits are the accurate Laplace optimum.
tight_ctrl <- glmerControl(tolPwrss = 1e-14)
tight_fits <- list()

fit_lme4 <- function(key, formula_text, family, data, data_file) {
  cap <- capture_fit(glmer(as.formula(formula_text), family = family, data = data))
  fits[[key]] <<- cap$fit
  rec <- summarise_lme4(cap, formula_text, data_file)
  capt <- capture_fit(glmer(as.formula(formula_text), family = family, data = data,
                            control = tight_ctrl))
  tight_fits[[key]] <<- capt$fit
  rec$tight_pwrss <- c(list(control = "glmerControl(tolPwrss = 1e-14)"),
                       summarise_lme4(capt, formula_text, data_file))
  out[[key]] <<- rec
}

f_grouse <- "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)"
fit_lme4("grouseticks_poisson", f_grouse, poisson, grouseticks, "grouseticks.csv")

f_pois <- "y ~ x + (x | g) + offset(log(t))"
fit_lme4("poisson_slopes", f_pois, poisson, sim_poisson, "glmm_sim_poisson.csv")

f_nb <- "TICKS ~ YEAR + cHEIGHT + (1 | LOCATION)"
cap <- capture_fit(glmer.nb(TICKS ~ YEAR + cHEIGHT + (1 | LOCATION), data = grouseticks))
fits$negbin_grouse <- cap$fit
out$negbin_grouse <- summarise_lme4(cap, f_nb, "grouseticks.csv")
out$negbin_grouse$nb_theta <- getME(cap$fit, "glmer.nb.theta")
out$negbin_grouse$nb_theta_evaluations <- attr(cap$fit, "nevals")
## Tight version: maximise the Laplace logLik of
## glmer(..., family = MASS::negative.binomial(theta), control = tight_ctrl)
## over log(theta) with optimize(tol = 1e-10) (what glmer.nb does, but with
## tight tolerances; glmer.nb(..., tol = ) itself cannot be used: lme4 1.1.31
## passes tol on to glmer, which rejects it).
nb_fit_at <- function(th) {
  glmer(as.formula(f_nb), family = MASS::negative.binomial(theta = th),
        data = grouseticks, control = tight_ctrl)
}
nb_opt <- optimize(function(lt) -2 * as.numeric(logLik(nb_fit_at(exp(lt)))),
                   interval = log(out$negbin_grouse$nb_theta) + c(-1, 1), tol = 1e-10)
capt <- capture_fit(nb_fit_at(exp(nb_opt$minimum)))
tight_fits$negbin_grouse <- capt$fit
out$negbin_grouse$tight_pwrss <- c(
  list(control = "glmerControl(tolPwrss = 1e-14); nb_theta from optimize() over log(theta) with tol = 1e-10"),
  summarise_lme4(capt, f_nb, "grouseticks.csv"),
  list(nb_theta = getME(capt$fit, "glmer.nb.theta"))
)

f_bern <- "y ~ x1 + x2 + (x1 | g)"
fit_lme4("bernoulli_slopes", f_bern, binomial, sim_bernoulli, "glmm_sim_bernoulli.csv")

f_probit <- "y ~ x + (1 | a) + (1 | b)"
fit_lme4("bernoulli_probit_crossed", f_probit, binomial(link = "probit"), sim_probit,
         "glmm_sim_probit_crossed.csv")

f_cbpp <- "cbind(incidence, size - incidence) ~ period + (1 | herd)"
fit_lme4("cbpp_laplace_cloglog", f_cbpp, binomial(link = "cloglog"), cbpp, "cbpp.csv")

f_gamma <- "y ~ x + (1 | g)"
cap <- capture_fit(glmmTMB(as.formula(f_gamma), family = Gamma(link = "log"), data = sim_gamma))
fits$gamma_tmb <- cap$fit
out$gamma_tmb <- summarise_tmb(cap, f_gamma, "glmm_sim_gamma.csv")
out$gamma_tmb$gamma_shape <- 1 / sigma(cap$fit)^2

f_beta <- "y ~ x + (1 | g)"
cap <- capture_fit(glmmTMB(as.formula(f_beta), family = beta_family(), data = sim_beta))
fits$beta_tmb <- cap$fit
out$beta_tmb <- summarise_tmb(cap, f_beta, "glmm_sim_beta.csv")
out$beta_tmb$beta_phi <- sigma(cap$fit)

for (nm in names(simulations)) out[[nm]]$simulation <- simulations[[nm]]

## ---------------------------------------------------------------------------
## Checks of glmmTMB's dispersion conventions (no random effects, so the
## log-likelihood is exact): Gamma sigma = 1/sqrt(shape), beta sigma = phi.
## ---------------------------------------------------------------------------
g0 <- glmmTMB(y ~ x, family = Gamma(link = "log"), data = sim_gamma)
mu0 <- predict(g0, type = "response")
shape0 <- 1 / sigma(g0)^2
ll_gamma_manual <- sum(dgamma(sim_gamma$y, shape = shape0, rate = shape0 / mu0, log = TRUE))
b0 <- glmmTMB(y ~ x, family = beta_family(), data = sim_beta)
mu0b <- predict(b0, type = "response")
phi0 <- sigma(b0)
ll_beta_manual <- sum(dbeta(sim_beta$y, mu0b * phi0, (1 - mu0b) * phi0, log = TRUE))
dispersion_check <- list(
  gamma_no_re = list(formula = "y ~ x", sigma = sigma(g0), shape = shape0,
                     logLik_glmmTMB = as.numeric(logLik(g0)),
                     logLik_dgamma_shape_1_over_sigma2 = ll_gamma_manual),
  beta_no_re = list(formula = "y ~ x", sigma = phi0,
                    logLik_glmmTMB = as.numeric(logLik(b0)),
                    logLik_dbeta_phi_eq_sigma = ll_beta_manual)
)
stopifnot(abs(ll_gamma_manual - logLik(g0)) < 1e-8, abs(ll_beta_manual - logLik(b0)) < 1e-8)
out$dispersion_check <- dispersion_check

## ---------------------------------------------------------------------------
## Laplace cross-check: glmmTMB's (observed-Hessian) Laplace log-likelihood
## evaluated at lme4's estimates, for intercept-only random-effect models.
## For canonical links (Poisson-log, binomial-logit) the observed and Fisher
## weights coincide and the two agree; for non-canonical links they differ.
## ---------------------------------------------------------------------------
tmb_loglik_at <- function(lme4_fit, tmb_formula, tmb_family, data, nb_theta = NULL) {
  tf <- suppressWarnings(glmmTMB(tmb_formula, family = tmb_family, data = data))
  par <- tf$fit$par
  stopifnot(identical(names(fixef(tf)$cond), names(fixef(lme4_fit))))
  par[names(par) == "beta"] <- fixef(lme4_fit)
  vc <- as.data.frame(VarCorr(lme4_fit))
  tmb_groups <- names(tf$modelInfo$reTrms$cond$cnms)
  par[names(par) == "theta"] <- log(vc$sdcor[match(tmb_groups, vc$grp)])
  if (!is.null(nb_theta)) par[names(par) == "betad"] <- log(nb_theta)
  list(lme4_logLik = as.numeric(logLik(lme4_fit)),
       glmmTMB_logLik_at_lme4_estimates = -as.numeric(tf$obj$fn(par)),
       glmmTMB_logLik_at_own_optimum = as.numeric(logLik(tf)),
       glmmTMB_fixef = named_list(fixef(tf)$cond),
       glmmTMB_re_sd = named_list(sapply(VarCorr(tf)$cond, function(v) attr(v, "stddev"))),
       glmmTMB_sigma = if (is.null(nb_theta)) NULL else sigma(tf))
}
cbpp_logit <- glmer(as.formula(f_cbpp), family = binomial, data = cbpp, control = tight_ctrl)
laplace_crosscheck <- list(
  grouseticks_poisson = c(list(link = "log (canonical)"),
    tmb_loglik_at(tight_fits$grouseticks_poisson, as.formula(f_grouse), poisson, grouseticks)),
  cbpp_logit = c(list(link = "logit (canonical)", note = "extra lme4 fit (logit link), not stored elsewhere"),
    tmb_loglik_at(cbpp_logit, as.formula(f_cbpp), binomial, cbpp)),
  cbpp_laplace_cloglog = c(list(link = "cloglog"),
    tmb_loglik_at(tight_fits$cbpp_laplace_cloglog, as.formula(f_cbpp), binomial(link = "cloglog"), cbpp)),
  bernoulli_probit_crossed = c(list(link = "probit"),
    tmb_loglik_at(tight_fits$bernoulli_probit_crossed, as.formula(f_probit),
                  binomial(link = "probit"), sim_probit)),
  negbin_grouse = c(list(link = "log (NB2, not canonical)",
                         note = "glmmTMB nbinom2, its log-dispersion fixed at log(nb_theta) of the lme4 fit for the evaluation"),
    tmb_loglik_at(tight_fits$negbin_grouse, as.formula(f_nb), nbinom2, grouseticks,
                  nb_theta = out$negbin_grouse$tight_pwrss$nb_theta))
)
for (nm in names(laplace_crosscheck)) {
  l <- laplace_crosscheck[[nm]]
  laplace_crosscheck[[nm]]$difference <- l$glmmTMB_logLik_at_lme4_estimates - l$lme4_logLik
}

## Hand-coded Laplace approximation for the cloglog cbpp model (one random
## intercept per herd, so the Hessian is diagonal), at the tight lme4
## estimates, with either the expected (Fisher) or the observed information
## in the log-determinant. The mode is the same for both (it maximises the
## joint log-density); only the curvature differs.
manual_laplace_cloglog <- function(beta, sd) {
  X <- model.matrix(~ period, cbpp)
  g <- as.integer(cbpp$herd)
  G <- nlevels(cbpp$herd)
  y <- cbpp$incidence
  n <- cbpp$size
  off <- drop(X %*% beta)
  parts <- function(u) {
    eta <- off + u[g]
    e <- exp(eta)
    p <- -expm1(-e)                 # 1 - exp(-exp(eta))
    d1 <- exp(eta - e)              # dp/deta
    d2 <- d1 * (1 - e)              # d2p/deta2
    s <- y / p - (n - y) / (1 - p)  # dl/dp
    list(p = p,
         grad = tapply(s * d1, g, sum) - u / sd^2,
         obs = tapply((y / p^2 + (n - y) / (1 - p)^2) * d1^2 - s * d2, g, sum) + 1 / sd^2,
         fisher = tapply(n * d1^2 / (p * (1 - p)), g, sum) + 1 / sd^2)
  }
  u <- rep(0, G)
  for (it in 1:200) {
    pt <- parts(u)
    u <- u + pt$grad / pt$obs
  }
  pt <- parts(u)
  stopifnot(max(abs(pt$grad)) < 1e-10)
  joint <- sum(dbinom(y, n, pt$p, log = TRUE)) + sum(dnorm(u, 0, sd, log = TRUE)) + G / 2 * log(2 * pi)
  list(laplace_fisher = joint - 0.5 * sum(log(pt$fisher)),
       laplace_observed = joint - 0.5 * sum(log(pt$obs)))
}
ml <- manual_laplace_cloglog(fixef(tight_fits$cbpp_laplace_cloglog),
                             as.data.frame(VarCorr(tight_fits$cbpp_laplace_cloglog))$sdcor)
laplace_crosscheck$cbpp_laplace_cloglog$manual_laplace_fisher_weights <- ml$laplace_fisher
laplace_crosscheck$cbpp_laplace_cloglog$manual_laplace_observed_hessian <- ml$laplace_observed
stopifnot(
  abs(ml$laplace_fisher - laplace_crosscheck$cbpp_laplace_cloglog$lme4_logLik) < 1e-6,
  abs(ml$laplace_observed - laplace_crosscheck$cbpp_laplace_cloglog$glmmTMB_logLik_at_lme4_estimates) < 1e-6
)
out$laplace_crosscheck <- laplace_crosscheck

out$notes <- I(c(
  "All lme4 fits use the Laplace approximation (nAGQ = 1) and lme4's default optimizer settings; glmmTMB fits use its defaults (nlminb, Laplace via TMB).",
  "Grouping columns (and YEAR, period) are factors with levels in C (code point) order, i.e. integer ids sorted numerically.",
  "Simulated data sets were written to tests/reference/glmm_sim_*.csv and read back before fitting, so the fits use exactly the numbers in the CSV files; <fit>.simulation records seed, design and true values.",
  "se_fixef = sqrt(diag(vcov(fit))). For lme4 GLMMs this is the default, based on the finite-difference Hessian of the Laplace deviance over (theta, beta); se_fixef_no_hessian = sqrt(diag(vcov(fit, use.hessian = FALSE))) is the RX-based one. For glmmTMB it is vcov(fit)$cond (inverse Hessian of the Laplace objective from TMB's sdreport). vcov is row-major in the order vcov_names.",
  "theta (lme4 only) = getME(fit, 'theta'): relative Cholesky factors by term (lower triangle column-wise); for GLMMs without a scale parameter these equal the RE SDs / correlations' Cholesky factor directly.",
  "varcorr = records {group, var1, var2, vcov, sdcor} as in as.data.frame(VarCorr(fit), order = 'cov.last'); var2 is null for SD rows; a row with var1 and var2 is a correlation (sdcor) / covariance (vcov). For glmmTMB the records are built from VarCorr(fit)$cond (attributes 'stddev' and 'correlation') in the same layout. No residual rows: none of these families has a Gaussian residual.",
  "ranef[g]: levels, columns, modes (conditional modes, one list per column), condvar (diagonal of the per-level conditional covariance, one list per column), condvar_blocks (k x k row-major per level, only for random slopes).",
  "lme4 condvar = attr(ranef(fit, condVar = TRUE)[[g]], 'postVar'): the conditional variance given the estimated beta and theta, from the PIRLS Cholesky factor (i.e. with the same Fisher weights as the Laplace approximation).",
  "glmmTMB condvar = attr(ranef(fit, condVar = TRUE)$cond[[g]], 'condVar'): TMB sdreport standard errors squared, i.e. H_bb^{-1} + J V(theta_hat) J' (generalised delta method; includes the uncertainty of the fixed parameters), so it is larger than lme4's postVar analogue. condvar_given_params = diag(H_bb^{-1}) alone (observed Hessian of the joint negative log-likelihood w.r.t. b at the optimum, obj$env$spHess), which is the quantity comparable to lme4's postVar.",
  "Laplace approximation, lme4: the log-determinant term comes from the Cholesky factor L of Lambda' Z' W Z Lambda + I with W = weights * mu.eta(eta)^2 / variance(mu) (glmResp::sqrtWrkWt / updateWts in lme4's src/respModule.cpp), i.e. expected (Fisher) information weights. For canonical links (Poisson-log, binomial-logit) these equal the observed information; for non-canonical links (probit, cloglog, negative-binomial with log link) they do not.",
  "Laplace approximation, glmmTMB/TMB: 0.5 * logdet of the Hessian of the joint negative log-likelihood w.r.t. the random effects computed by automatic differentiation (TMB::MakeADFun: h = spHess(par, random = TRUE); logdetH = 2 * determinant(L)), i.e. the observed Hessian.",
  "laplace_crosscheck evaluates glmmTMB's Laplace log-likelihood at the tight_pwrss lme4 estimates (glmmTMB fitted to the same formula and data, then obj$fn at lme4's beta and log RE SDs): it agrees with lme4 for canonical links (Poisson-log, binomial-logit) and is higher for probit / cloglog / NB-log. For cbpp_laplace_cloglog a hand-coded Laplace approximation reproduces lme4's logLik with Fisher weights and glmmTMB's with the observed Hessian (manual_laplace_*). glmmTMB_logLik_at_own_optimum / glmmTMB_fixef / glmmTMB_re_sd are glmmTMB's own estimates of the same model.",
  "logLik, df, AIC, deviance, nobs as lme4 / glmmTMB report them. For glmer, logLik is the full log-likelihood (binomial coefficients and log(y!) included); deviance(fit) is lme4's deviance (sum of deviance residuals), not -2*logLik.",
  "glmer.nb (negbin_grouse): nb_theta = getME(fit, 'glmer.nb.theta'), the NB2 size parameter (Var = mu + mu^2 / nb_theta). glmer.nb maximises the Laplace logLik of glmer(..., family = MASS::negative.binomial(theta)) over log(theta) with optimize() (tol = 5e-5 on log(theta)); the stored fit is that glmer refit at the final theta, so logLik is the Laplace logLik at nb_theta (a profile likelihood maximised over theta) and df counts nb_theta as one parameter. se_fixef / vcov treat nb_theta as known (no uncertainty from estimating it). negbin_grouse.tight_pwrss repeats the theta search with optimize(tol = 1e-10) and tolPwrss = 1e-14.",
  "tight_pwrss (every lme4 fit): the same model refitted with glmerControl(tolPwrss = 1e-14), all fields as in the main record. lme4's default tolPwrss = 1e-7 stops PIRLS before the conditional modes are converged, so the default logLik is slightly too low (by up to ~3e-4 here) and the estimates differ in about the 4th significant digit; the tight_pwrss values are the accurate Laplace optimum and agree with glmmTMB for canonical links (laplace_crosscheck). Where the likelihood is flat (e.g. grouseticks_poisson) the optimizer's end point still varies by ~2e-5 in the estimates (the same fit can end at slightly different points depending on floating-point details of the R session), while logLik is stable to ~1e-8; compare estimates with ~1e-4 absolute tolerance.",
  "negbin_grouse.family.family is lme4's label 'Negative Binomial(2.0522)' (theta rounded); use nb_theta for the value.",
  "glmmTMB dispersion (sigma.glmmTMB help): Gamma: sigma = 1/sqrt(shape), so gamma_shape = 1/sigma^2 (Var = mu^2/shape = sigma^2 mu^2); beta_family: sigma = phi, the precision in the Ferrari & Cribari-Neto parameterisation (Var = mu (1 - mu) / (1 + phi)), so beta_phi = sigma. dispersion_check verifies both by comparing glmmTMB's logLik of a fit without random effects with sums of dgamma / dbeta.",
  "convergence_messages: lme4's fit@optinfo$conv$lme4$messages plus any warnings raised while fitting (glmmTMB: warnings only); messages: any message() output while fitting (e.g. lme4's singular-fit message)."
))

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE,
                  na = "null", null = "null"), out_file)

## ---------------------------------------------------------------------------
## Print a summary.
## ---------------------------------------------------------------------------
cat(sprintf("lme4 %s, glmmTMB %s, TMB %s, %s\n", out$lme4_version, out$glmmTMB_version,
            out$TMB_version, out$R_version))
for (nm in names(fits)) {
  f <- out[[nm]]
  cat(sprintf("\n== %s   %s   [%s, %s/%s]\n", nm, f$formula, f$engine, f$family$family, f$family$link))
  cat("fixef:   ", paste(sprintf("%s=%.6f", names(f$fixef), unlist(f$fixef)), collapse = "  "), "\n")
  cat("se:      ", sprintf("%.6f", unlist(f$se_fixef)), "\n")
  for (r in f$varcorr) {
    lab <- paste(c(r$group, r$var1, r$var2), collapse = " ")
    cat(sprintf("  varcorr %-30s sdcor %.6f\n", lab, r$sdcor))
  }
  cat(sprintf("logLik %.6f  df %d  AIC %.4f  nobs %d\n", f$logLik, f$df, f$AIC, f$nobs))
  if (!is.null(f$isSingular)) cat("isSingular:", f$isSingular, "\n")
  if (!is.null(f$nb_theta)) cat(sprintf("nb_theta %.8f (%d evaluations)\n", f$nb_theta, f$nb_theta_evaluations))
  if (!is.null(ft <- f$tight_pwrss)) {
    cat(sprintf("tight_pwrss: logLik %.8f (%+.2e)  fixef %s  sdcor %s%s\n", ft$logLik, ft$logLik - f$logLik,
                paste(sprintf("%.6f", unlist(ft$fixef)), collapse = " "),
                paste(sprintf("%.6f", sapply(ft$varcorr, `[[`, "sdcor")), collapse = " "),
                if (is.null(ft$nb_theta)) "" else sprintf("  nb_theta %.8f", ft$nb_theta)))
    if (length(ft$convergence_messages)) cat("tight CONVERGENCE:", unlist(ft$convergence_messages), "\n")
    if (length(ft$messages)) cat("tight MESSAGES:", unlist(ft$messages), "\n")
  }
  if (!is.null(f$gamma_shape)) cat(sprintf("sigma %.6f  shape %.6f\n", f$sigma, f$gamma_shape))
  if (!is.null(f$beta_phi)) cat(sprintf("phi %.6f\n", f$beta_phi))
  if (!is.null(f$pdHess)) cat("pdHess:", f$pdHess, " convergence:", f$optimizer_convergence, f$optimizer_message, "\n")
  if (length(f$convergence_messages)) cat("CONVERGENCE:", unlist(f$convergence_messages), "\n")
  if (length(f$messages)) cat("MESSAGES:", unlist(f$messages), "\n")
}
cat("\n== Laplace cross-check (glmmTMB logLik at lme4 estimates - lme4 logLik)\n")
for (nm in names(laplace_crosscheck)) {
  l <- laplace_crosscheck[[nm]]
  cat(sprintf("%-26s %-26s lme4 %.6f  TMB@lme4 %.6f  diff %+.3e  TMB own optimum %.6f\n", nm, l$link,
              l$lme4_logLik, l$glmmTMB_logLik_at_lme4_estimates, l$difference,
              l$glmmTMB_logLik_at_own_optimum))
}
cat(sprintf("cbpp cloglog by hand: Fisher-weight Laplace %.8f, observed-Hessian Laplace %.8f\n",
            ml$laplace_fisher, ml$laplace_observed))
cat("\nwrote", out_file, "\n")
