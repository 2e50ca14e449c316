#!/usr/bin/env Rscript
## Produce lme4 reference values for hierarch's frequentist binomial GLMM tests.
##
## Run from the repository root:
##     Rscript tests/reference/make_lme4_reference.R
##
## Reads  ../shared/data/rats.csv and ../shared/data/cbpp.csv (relative to the
## repository root) and writes tests/reference/lme4_binomial.json.
## Needs R with lme4 and jsonlite (Debian: r-base-core r-cran-lme4 r-cran-jsonlite).
## The Python test suite only reads the JSON; it never needs R.

suppressPackageStartupMessages({
  library(lme4)
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
out_file <- file.path(repo_root, "tests", "reference", "lme4_binomial.json")

rats <- read.csv(file.path(data_dir, "rats.csv"))
rats$batch <- factor(rats$batch, levels = sort(unique(rats$batch)))

cbpp <- read.csv(file.path(data_dir, "cbpp.csv"))
cbpp$herd <- factor(cbpp$herd, levels = sort(unique(cbpp$herd)))
cbpp$period <- factor(cbpp$period, levels = sort(unique(cbpp$period)))

saturated_loglik <- function(fit) {
  y <- model.response(model.frame(fit))  # two columns: successes, failures
  n <- y[, 1] + y[, 2]
  sum(dbinom(y[, 1], n, y[, 1] / n, log = TRUE))
}

named_list <- function(x) as.list(setNames(as.numeric(x), names(x)))

summarise_fit <- function(fit, group, formula_text, data_file) {
  fe <- fixef(fit)
  se_hess <- sqrt(diag(as.matrix(vcov(fit))))
  ## lme4 warns that the RX-based and Hessian-based matrices differ; that is
  ## exactly the difference being recorded, so silence only that warning.
  se_nohess <- withCallingHandlers(
    sqrt(diag(as.matrix(vcov(fit, use.hessian = FALSE)))),
    warning = function(w) {
      if (grepl("finite-difference Hessian", conditionMessage(w)))
        invokeRestart("muffleWarning")
    }
  )
  names(se_hess) <- names(fe)
  names(se_nohess) <- names(fe)
  re <- ranef(fit, condVar = TRUE)[[group]]
  cv <- as.vector(attr(re, "postVar"))
  vc <- as.data.frame(VarCorr(fit))
  ll <- logLik(fit)
  list(
    formula = formula_text,
    data = data_file,
    group = group,
    nAGQ = fit@devcomp$dims[["nAGQ"]],
    fixef = named_list(fe),
    se_fixef_hessian = named_list(se_hess),
    se_fixef_no_hessian = named_list(se_nohess),
    theta = as.numeric(getME(fit, "theta")),
    re_sd = as.numeric(vc$sdcor),
    logLik = as.numeric(ll),
    ## Log-likelihood of the saturated binomial model (p_i = y_i / n_i),
    ## binomial coefficients included. For nAGQ > 1 lme4 reports logLik
    ## relative to it (i.e. minus it), for nAGQ = 1 it does not; so
    ## logLik + saturated_logLik (nAGQ > 1) is on the Laplace fit's scale.
    saturated_logLik = saturated_loglik(fit),
    df = as.integer(attr(ll, "df")),
    AIC = AIC(fit),
    deviance = deviance(fit),
    ranef_groups = rownames(re),
    ranef = as.numeric(re[, 1]),
    ranef_condvar = cv,
    convergence_messages = as.list(fit@optinfo$conv$lme4$messages)
  )
}

rats_formula <- cbind(m, n - m) ~ 1 + (1 | batch)
cbpp_formula <- cbind(incidence, size - incidence) ~ period + (1 | herd)

fits <- list(
  rats_laplace = glmer(rats_formula, data = rats, family = binomial, nAGQ = 1),
  rats_agq25   = glmer(rats_formula, data = rats, family = binomial, nAGQ = 25),
  cbpp_laplace = glmer(cbpp_formula, data = cbpp, family = binomial, nAGQ = 1),
  cbpp_agq25   = glmer(cbpp_formula, data = cbpp, family = binomial, nAGQ = 25)
)
spec <- list(
  rats_laplace = list("batch", "cbind(m, n - m) ~ 1 + (1 | batch)", "rats.csv"),
  rats_agq25   = list("batch", "cbind(m, n - m) ~ 1 + (1 | batch)", "rats.csv"),
  cbpp_laplace = list("herd", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "cbpp.csv"),
  cbpp_agq25   = list("herd", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "cbpp.csv")
)

out <- list(
  lme4_version = as.character(packageVersion("lme4")),
  R_version = R.version.string,
  family = "binomial(link = 'logit')",
  notes = paste(
    "se_fixef_hessian = sqrt(diag(vcov(fit))) (lme4 default: finite-difference Hessian);",
    "se_fixef_no_hessian = sqrt(diag(vcov(fit, use.hessian = FALSE)));",
    "ranef_condvar = attr(ranef(fit, condVar = TRUE)[[1]], 'postVar') in group order;",
    "logLik is as lme4 reports it: for nAGQ > 1 it omits saturated_logLik,",
    "so compare logLik + saturated_logLik with the Laplace logLik;",
    "deviance is lme4's deviance(fit) (sum of squared deviance residuals), not -2*logLik."
  )
)
for (nm in names(fits)) {
  s <- spec[[nm]]
  out[[nm]] <- summarise_fit(fits[[nm]], s[[1]], s[[2]], s[[3]])
}

## Derived intervals for rats_laplace (probability scale), z = qnorm(0.975).
r <- out$rats_laplace
z <- qnorm(0.975)
mu <- r$fixef[["(Intercept)"]]
tau <- r$re_sd[1]
derived <- list(z = z, mu = mu, tau = tau)
for (kind in c("hessian", "no_hessian")) {
  se_mu <- r[[paste0("se_fixef_", kind)]][["(Intercept)"]]
  derived[[kind]] <- list(
    se_mu = se_mu,
    grand_mean = plogis(mu),
    grand_mean_lower = plogis(mu - z * se_mu),
    grand_mean_upper = plogis(mu + z * se_mu),
    group_estimate = plogis(mu + r$ranef),
    group_lower = plogis(mu + r$ranef - z * sqrt(r$ranef_condvar + se_mu^2)),
    group_upper = plogis(mu + r$ranef + z * sqrt(r$ranef_condvar + se_mu^2))
  )
}
derived$prediction_lower <- plogis(mu - z * tau)
derived$prediction_upper <- plogis(mu + z * tau)
derived$groups <- r$ranef_groups
out$rats_laplace$derived <- derived

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), out_file)

## Print a summary.
cat(sprintf("lme4 %s, %s\n", out$lme4_version, out$R_version))
for (nm in names(fits)) {
  f <- out[[nm]]
  cat(sprintf("\n== %s (nAGQ=%d)\n", nm, f$nAGQ))
  cat("fixef:        ", sprintf("%.6f", unlist(f$fixef)), "\n")
  cat("SE (hessian): ", sprintf("%.6f", unlist(f$se_fixef_hessian)), "\n")
  cat("SE (no hess): ", sprintf("%.6f", unlist(f$se_fixef_no_hessian)), "\n")
  cat(sprintf("theta %.6f  sd %.6f  logLik %.6f  AIC %.4f  deviance %.4f  saturated logLik %.6f\n",
              f$theta, f$re_sd, f$logLik, f$AIC, f$deviance, f$saturated_logLik))
  if (length(f$convergence_messages)) cat("convergence:", unlist(f$convergence_messages), "\n")
}
d <- out$rats_laplace$derived
cat("\n== rats_laplace derived\n")
cat(sprintf("mu %.6f  tau %.6f\n", d$mu, d$tau))
for (kind in c("hessian", "no_hessian")) {
  k <- d[[kind]]
  cat(sprintf("[%s] se(mu) %.6f  grand mean %.4f [%.4f, %.4f]  batch1 %.4f [%.4f, %.4f]\n",
              kind, k$se_mu, k$grand_mean, k$grand_mean_lower, k$grand_mean_upper,
              k$group_estimate[1], k$group_lower[1], k$group_upper[1]))
}
cat(sprintf("prediction interval [%.4f, %.4f]\n", d$prediction_lower, d$prediction_upper))
cat("wrote", out_file, "\n")
