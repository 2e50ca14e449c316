#!/usr/bin/env Rscript
## Reference values for prior weights in linear mixed models: lme4::lmer(..., weights = ).
##
## Run from the repository root:
##     Rscript tests/reference/make_weights_reference.R
##
## Reads sleepstudy.csv from ../shared/data. Writes tests/reference/weights_sleepstudy.csv
## (the data with two weight columns; the fits use the data as read back from that file) and
## tests/reference/weights.json. Needs R with lme4 and jsonlite (Debian: r-base-core
## r-cran-lme4 r-cran-jsonlite). The Python tests never need R.
##
## Weights (deterministic):
##   w  = 1 + (Days %% 3)                      values 1, 2, 3
##   w2 = exp(sin(seq_len(nrow(d))))           non-integer, row order of sleepstudy.csv
##
## Fits (lme4::lmer, default optimizer and control):
##   reml_w    Reaction ~ Days + (Days | Subject), weights = w,  REML = TRUE
##   ml_w      Reaction ~ Days + (Days | Subject), weights = w,  REML = FALSE
##   reml_w2   Reaction ~ Days + (1 | Subject),    weights = w2, REML = TRUE
## Each stores fixef, se (sqrt(diag(vcov))), theta, sigma, varcorr (SDs and correlation),
## REMLcrit (REML fits) or deviance (ML fit; = -2 logLik), logLik, ranef (conditional modes),
## and the first five Pearson residuals, response residuals and fitted values.
##
##   loglik_check   whether lme4's weighted logLik includes the 0.5 * sum(log w) term: the
##                  Gaussian log-likelihood of the marginal model
##                      y ~ N(X beta, sigma^2 (Z Lambda Lambda' Z' + W^-1)),  W = diag(w),
##                  evaluated by hand at the estimates, compared with logLik(fit). For the
##                  ML fit that is the ML log-likelihood; for the REML fits the hand-made REML
##                  criterion log|V| + log|X' V^-1 X| + r' V^-1 r + (n - p) log(2 pi) is
##                  compared with REMLcrit(fit) as well.

suppressPackageStartupMessages({
  library(lme4)
  library(Matrix)
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
out_file <- file.path(ref_dir, "weights.json")
csv_file <- file.path(ref_dir, "weights_sleepstudy.csv")

## Grouping columns become factors whose levels are sorted in C (code point) order,
## independent of the locale (as Python's sorted() would sort them).
as_group <- function(x) factor(x, levels = sort(unique(x), method = "radix"))
read_data <- function(path) read.csv(path, fileEncoding = "UTF-8", stringsAsFactors = FALSE)

d <- read_data(file.path(data_dir, "sleepstudy.csv"))
d$w <- 1 + (d$Days %% 3)
d$w2 <- exp(sin(seq_len(nrow(d))))
d <- d[, c("Reaction", "Days", "Subject", "w", "w2")]
## w2 with 17 significant digits so that the values read back (by R here and by Python) are
## the doubles computed above.
d_out <- d
d_out$w2 <- sprintf("%.17g", d$w2)
write.csv(d_out, csv_file, row.names = FALSE, quote = FALSE)
sleep <- read_data(csv_file)
stopifnot(identical(sleep$w2, d$w2), all(sleep$w == d$w),
          max(abs(sleep$Reaction - d$Reaction)) == 0)
sleep$Subject <- as_group(sleep$Subject)

named_list <- function(x) as.list(setNames(as.numeric(x), names(x)))
rows_of <- function(m) {
  m <- as.matrix(m)
  lapply(seq_len(nrow(m)), function(i) as.list(as.numeric(m[i, ])))
}

varcorr_of <- function(fit) {
  lapply(VarCorr(fit), function(v) {
    s <- attr(v, "stddev")
    cr <- attr(v, "correlation")
    if (is.null(cr)) cr <- diag(length(s))
    list(terms = I(names(s)), sd = named_list(s), correlation = rows_of(unname(as.matrix(cr))))
  })
}

ranef_modes <- function(re) {
  lapply(re, function(m) list(
    levels = I(rownames(m)),
    columns = I(colnames(m)),
    modes = setNames(lapply(seq_len(ncol(m)), function(j) as.numeric(m[[j]])), colnames(m))
  ))
}

## Marginal Gaussian log-likelihood (and REML criterion) at the fitted beta, theta, sigma,
## built densely from X, Z, Lambda and the prior weights.
marginal_check <- function(fit, wts) {
  X <- getME(fit, "X")
  Z <- as.matrix(getME(fit, "Z"))
  Lambda <- as.matrix(getME(fit, "Lambda"))
  y <- getME(fit, "y")
  n <- length(y)
  p <- ncol(X)
  s2 <- sigma(fit)^2
  V <- s2 * (Z %*% Lambda %*% t(Lambda) %*% t(Z) + diag(1 / wts, n))
  R <- chol(V)
  logdetV <- 2 * sum(log(diag(R)))
  r <- y - as.numeric(X %*% fixef(fit))
  quad <- sum(backsolve(R, r, transpose = TRUE)^2)
  ll_marg <- -0.5 * (n * log(2 * pi) + logdetV + quad)
  ## Same model with the W^-1 replaced by I and y, X, Z scaled by sqrt(w) (the "unweighted
  ## equivalent"): its log-likelihood lacks the Jacobian 0.5 * sum(log w).
  half_sum_log_w <- 0.5 * sum(log(wts))
  ViX <- backsolve(R, backsolve(R, X, transpose = TRUE))
  reml_marg <- logdetV + as.numeric(determinant(crossprod(X, ViX), logarithm = TRUE)$modulus) +
    quad + (n - p) * log(2 * pi)
  list(n = n, p = p, logdetV = logdetV, quadratic_form = quad,
       loglik_marginal = ll_marg,
       half_sum_log_w = half_sum_log_w,
       loglik_marginal_without_half_sum_log_w = ll_marg - half_sum_log_w,
       reml_criterion_marginal = reml_marg)
}

summarise <- function(fit, formula_text, weight_col, wts) {
  reml <- isREML(fit)
  ll <- logLik(fit)
  chk <- marginal_check(fit, wts)
  out <- list(
    formula = formula_text,
    weights = weight_col,
    REML = reml,
    optimizer = fit@optinfo$optimizer,
    converged_messages = I(as.character(unlist(fit@optinfo$conv$lme4$messages))),
    fixef = named_list(fixef(fit)),
    se = named_list(sqrt(diag(as.matrix(vcov(fit))))),
    vcov = rows_of(as.matrix(vcov(fit))),
    theta = named_list(getME(fit, "theta")),
    sigma = sigma(fit),
    varcorr = varcorr_of(fit),
    logLik = as.numeric(ll),
    logLik_df = attr(ll, "df"),
    nobs = nobs(fit),
    ranef = ranef_modes(ranef(fit)),
    resid_pearson_1_5 = as.numeric(residuals(fit, type = "pearson")[1:5]),
    resid_response_1_5 = as.numeric(residuals(fit, type = "response")[1:5]),
    fitted_1_5 = as.numeric(fitted(fit)[1:5]),
    weights_1_5 = as.numeric(weights(fit)[1:5])
  )
  if (reml) {
    out$REMLcrit <- as.numeric(REMLcrit(fit))
    stopifnot(abs(out$REMLcrit + 2 * out$logLik) < 1e-8)
  } else {
    out$deviance <- as.numeric(deviance(fit))
    stopifnot(abs(out$deviance + 2 * out$logLik) < 1e-8)
  }
  ## Pearson residuals are sqrt(w) times response residuals.
  stopifnot(max(abs(out$resid_pearson_1_5 - sqrt(wts[1:5]) * out$resid_response_1_5)) < 1e-10)
  list(summary = out, check = chk)
}

f_slope <- "Reaction ~ Days + (Days | Subject)"
f_int <- "Reaction ~ Days + (1 | Subject)"
fit_reml_w <- lmer(as.formula(f_slope), data = sleep, weights = w, REML = TRUE)
fit_ml_w <- lmer(as.formula(f_slope), data = sleep, weights = w, REML = FALSE)
fit_reml_w2 <- lmer(as.formula(f_int), data = sleep, weights = w2, REML = TRUE)

s_reml_w <- summarise(fit_reml_w, f_slope, "w", sleep$w)
s_ml_w <- summarise(fit_ml_w, f_slope, "w", sleep$w)
s_reml_w2 <- summarise(fit_reml_w2, f_int, "w2", sleep$w2)

## logLik finding. ML fit: logLik(fit) against the marginal Gaussian log-likelihood.
ml_chk <- s_ml_w$check
ml_ll <- s_ml_w$summary$logLik
diff_full <- ml_ll - ml_chk$loglik_marginal
diff_without <- ml_ll - ml_chk$loglik_marginal_without_half_sum_log_w
includes <- abs(diff_full) < 1e-6
if (!includes && abs(diff_without) >= 1e-6) {
  stop(sprintf("logLik matches neither variant: %g / %g", diff_full, diff_without))
}
reml_rows <- lapply(list(reml_w = s_reml_w, reml_w2 = s_reml_w2), function(s) list(
  REMLcrit_lme4 = s$summary$REMLcrit,
  REMLcrit_marginal = s$check$reml_criterion_marginal,
  difference = s$summary$REMLcrit - s$check$reml_criterion_marginal,
  sum_log_w = 2 * s$check$half_sum_log_w,
  logLik_lme4 = s$summary$logLik,
  logLik_marginal_reml = -0.5 * s$check$reml_criterion_marginal
))
for (r in reml_rows) {
  if (includes) stopifnot(abs(r$difference) < 1e-6)
}
cat(sprintf("ML fit: logLik(lme4) = %.10f, marginal = %.10f, diff = %.3g; 0.5*sum(log w) = %.10f\n",
            ml_ll, ml_chk$loglik_marginal, diff_full, ml_chk$half_sum_log_w))
for (nm in names(reml_rows)) {
  cat(sprintf("%s: REMLcrit(lme4) = %.10f, marginal = %.10f, diff = %.3g\n", nm,
              reml_rows[[nm]]$REMLcrit_lme4, reml_rows[[nm]]$REMLcrit_marginal,
              reml_rows[[nm]]$difference))
}

loglik_check <- list(
  description = paste(
    "ML fit ml_w: logLik(fit) compared with the Gaussian log-likelihood of the marginal model",
    "y ~ N(X beta, sigma^2 (Z Lambda Lambda' Z' + W^-1)), W = diag(w), evaluated densely at",
    "lme4's estimates. loglik_marginal includes the Jacobian term 0.5 * sum(log w) (it is the",
    "exact density of y); loglik_marginal_without_half_sum_log_w is the log-likelihood of the",
    "unweighted-equivalent model (y, X, Z scaled by sqrt(w), residual variance sigma^2 I).",
    "lme4 computes the ML deviance as ldL2 - ldW + n (1 + log(2 pi pwrss / n)) with",
    "ldW = sum(log w)."),
  ml_w = list(
    logLik_lme4 = ml_ll,
    loglik_marginal = ml_chk$loglik_marginal,
    difference = diff_full,
    loglik_marginal_without_half_sum_log_w = ml_chk$loglik_marginal_without_half_sum_log_w,
    difference_without = diff_without,
    half_sum_log_w = ml_chk$half_sum_log_w,
    n = ml_chk$n,
    logdetV = ml_chk$logdetV,
    quadratic_form = ml_chk$quadratic_form
  ),
  reml = reml_rows,
  lme4_includes_half_sum_log_w = includes
)

out <- list(
  R_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  data_file = "weights_sleepstudy.csv",
  weights_definition = list(w = "1 + (Days %% 3)", w2 = "exp(sin(seq_len(nrow(d)))) in file row order"),
  notes = I(c(
    "Subject levels are in C (code point) order, 308..372.",
    "se = sqrt(diag(vcov(fit))); theta = getME(fit, 'theta') (lower triangle, by column, of the Cholesky factor of the RE covariance relative to sigma^2: Sigma_b = sigma^2 Lambda Lambda').",
    "Pearson residuals = sqrt(w) * response residuals; sigma is the residual SD for weight 1 (Var(e_i) = sigma^2 / w_i).",
    "ranef: conditional modes per Subject, one list per column."
  )),
  reml_w = s_reml_w$summary,
  ml_w = s_ml_w$summary,
  reml_w2 = s_reml_w2$summary,
  loglik_check = loglik_check
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = 15), out_file)
cat("wrote", csv_file, "\n")
cat("wrote", out_file, "\n")
