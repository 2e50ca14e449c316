#!/usr/bin/env Rscript
## Reference values for R-squared of mixed models (Nakagawa & Schielzeth 2013; Johnson 2014;
## Nakagawa, Johnson & Schielzeth 2017) as performance::r2_nakagawa and
## insight::get_variance compute them, for lmer and glmer fits.
##
## Run from the repository root:
##     Rscript tests/reference/make_r2_reference.R
##
## Reads sleepstudy.csv, pigs.csv, penicillin.csv, cbpp.csv and grouseticks.csv from
## ../shared/data (relative to the repository root) and writes tests/reference/r2.json.
## Needs R with lme4, performance, insight and jsonlite (made with performance 0.10.2 and
## insight 0.19.0; the formulas differ in other versions, see R2_FORMULAS.md).
## The Python test suite only reads the JSON; it never needs R.
##
## Each entry of "cases" holds:
##   csv, data            the CSV file and the transformations applied to it (factors, scaling)
##   formula, family, link, REML, nAGQ, nobs
##   fixef                fixed effects by name
##   varcorr              per grouping factor: terms, variance (k x k covariance, row-major),
##                        sd, correlation (row-major); sigma = attr(VarCorr(fit), "sc")
##                        (the residual SD for lmer, 1 for glmer)
##   r2_nakagawa          marginal and conditional R2 of performance::r2_nakagawa(fit) (defaults)
##   get_variance         every component insight::get_variance(fit) returns, by its names
##                        (var.fixed, var.random, var.residual, var.distribution, var.dispersion,
##                        var.intercept, var.slope, cor.slope_intercept, ...); the five main
##                        components are always present, null when get_variance returns none
##   distribution_variance  how var.distribution is obtained (for the Poisson case, the
##                        null model insight refits and the mu it uses) plus alternatives that
##                        insight 0.19.0 does NOT use, for comparison
##   verification         the components recomputed here by hand and their largest
##                        absolute difference from get_variance (the script stops if > 1e-10)
##   warnings             warnings / messages from fitting, get_variance and r2_nakagawa

suppressPackageStartupMessages({
  library(lme4)
  library(performance)
  library(insight)
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
out_file <- file.path(repo_root, "tests", "reference", "r2.json")

## Grouping columns become factors whose levels are sorted in C (code point) order.
as_group <- function(x) factor(x, levels = sort(unique(x), method = "radix"))
read_data <- function(name) {
  read.csv(file.path(data_dir, name), fileEncoding = "UTF-8", stringsAsFactors = FALSE)
}

sleepstudy <- read_data("sleepstudy.csv")
sleepstudy$Subject <- as_group(sleepstudy$Subject)
pigs <- read_data("pigs.csv")
pigs$id <- as_group(pigs$id)
penicillin <- read_data("penicillin.csv")
penicillin$plate <- as_group(penicillin$plate)
penicillin$sample <- as_group(penicillin$sample)
cbpp <- read_data("cbpp.csv")
cbpp$herd <- as_group(cbpp$herd)
cbpp$period <- as_group(cbpp$period)
grouseticks <- read_data("grouseticks.csv")
grouseticks$YEAR <- as_group(grouseticks$YEAR)
grouseticks$BROOD <- as_group(grouseticks$BROOD)

## Evaluate an expression, recording (and muffling) its warnings and messages.
capture <- function(expr) {
  warns <- character(0)
  msgs <- character(0)
  value <- withCallingHandlers(
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
  list(value = value, warnings = warns, messages = msgs)
}

named_list <- function(x) as.list(setNames(as.numeric(x), names(x)))
## I() keeps length-1 vectors as JSON arrays under auto_unbox.
rows_of <- function(m) lapply(seq_len(nrow(m)), function(i) I(as.numeric(m[i, ])))
## A get_variance component: null, a plain number, or a named list (e.g. var.intercept).
component <- function(v) {
  if (is.null(v)) return(NULL)
  if (length(v) == 1 && is.null(names(v))) return(as.numeric(v))
  named_list(v)
}

varcorr_of <- function(fit) {
  vc <- VarCorr(fit)
  lapply(names(vc), function(g) {
    S <- as.matrix(vc[[g]])
    list(group = g, terms = I(rownames(S)), variance = rows_of(unname(S)),
         sd = I(as.numeric(attr(vc[[g]], "stddev"))),
         correlation = rows_of(unname(as.matrix(attr(vc[[g]], "correlation")))))
  })
}

## ---------------------------------------------------------------------------
## The components recomputed by hand (the formulas of R2_FORMULAS.md).
## ---------------------------------------------------------------------------
by_hand <- function(fit, null_fit = NULL) {
  X <- getME(fit, "X")
  n <- nrow(X)
  eta_fixed <- as.vector(X %*% fixef(fit))
  var_fixed <- sum((eta_fixed - mean(eta_fixed))^2) / (n - 1)     # sample variance, n - 1
  vc <- VarCorr(fit)
  ## Johnson (2014): mean over rows of x_i' Sigma x_i, x_i the row of the FIXED-effects model
  ## matrix X restricted to the columns named like the random-effect terms, uncentred.
  var_random <- sum(sapply(names(vc), function(g) {
    S <- as.matrix(vc[[g]])
    Z <- X[, rownames(S), drop = FALSE]
    mean(rowSums((Z %*% S) * Z))
  }))
  fam <- family(fit)
  var_distribution <- if (fam$family == "gaussian") {
    sigma(fit)^2
  } else if (fam$family == "binomial" && fam$link == "logit") {
    pi^2 / 3
  } else if (fam$family == "poisson" && fam$link == "log") {
    mu <- exp(unname(fixef(null_fit)[1]))        # intercept of the refitted null model
    log1p(1 / mu)                                # lognormal approximation, Var(mu)/mu^2 = 1/mu
  } else {
    stop("no hand formula for this family")
  }
  var_dispersion <- 0                            # no observation-level random effect here
  var_residual <- var_distribution + var_dispersion
  total <- var_fixed + var_random + var_residual
  list(var.fixed = var_fixed, var.random = var_random, var.residual = var_residual,
       var.distribution = var_distribution, var.dispersion = var_dispersion,
       r2_marginal = var_fixed / total, r2_conditional = (var_fixed + var_random) / total)
}

## ---------------------------------------------------------------------------
## Fits
## ---------------------------------------------------------------------------
specs <- list(
  sleepstudy_slopes_reml = list(
    csv = "sleepstudy.csv", data = "sleepstudy.csv; Subject as factor (levels in C order).",
    formula = "Reaction ~ Days + (Days | Subject)",
    fit = quote(lmer(Reaction ~ Days + (Days | Subject), data = sleepstudy, REML = TRUE))),
  sleepstudy_slopes_ml = list(
    csv = "sleepstudy.csv", data = "sleepstudy.csv; Subject as factor (levels in C order).",
    formula = "Reaction ~ Days + (Days | Subject)",
    fit = quote(lmer(Reaction ~ Days + (Days | Subject), data = sleepstudy, REML = FALSE))),
  sleepstudy_intercept_reml = list(
    csv = "sleepstudy.csv", data = "sleepstudy.csv; Subject as factor (levels in C order).",
    formula = "Reaction ~ Days + (1 | Subject)",
    fit = quote(lmer(Reaction ~ Days + (1 | Subject), data = sleepstudy, REML = TRUE))),
  pigs_slopes_reml = list(
    csv = "pigs.csv", data = "pigs.csv; id as factor (levels in C order); week numeric.",
    formula = "weight ~ week + (week | id)",
    fit = quote(lmer(weight ~ week + (week | id), data = pigs, REML = TRUE))),
  penicillin_crossed_reml = list(
    csv = "penicillin.csv",
    data = "penicillin.csv; plate and sample as factors (levels in C order).",
    formula = "diameter ~ 1 + (1 | plate) + (1 | sample)",
    fit = quote(lmer(diameter ~ 1 + (1 | plate) + (1 | sample), data = penicillin,
                     REML = TRUE))),
  cbpp_binomial = list(
    csv = "cbpp.csv",
    data = "cbpp.csv; herd and period as factors (levels in C order: period 1..4, treatment contrasts, reference period 1).",
    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
    fit = quote(glmer(cbind(incidence, size - incidence) ~ period + (1 | herd),
                      family = binomial, data = cbpp))),
  grouseticks_poisson = list(
    csv = "grouseticks.csv",
    data = paste("grouseticks.csv; YEAR and BROOD as factors (levels in C order: YEAR 95, 96, 97,",
                 "treatment contrasts, reference 95); scale(HEIGHT) is computed inside the formula:",
                 "(HEIGHT - mean(HEIGHT)) / sd(HEIGHT), sd with n - 1, over all 403 rows."),
    formula = "TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD)",
    fit = quote(glmer(TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD), family = poisson,
                      data = grouseticks)))
)

cases <- list()
for (nm in names(specs)) {
  s <- specs[[nm]]
  cap <- capture(eval(s$fit))
  fit <- cap$value
  fam <- family(fit)
  is_lmm <- inherits(fit, "lmerMod")
  gv <- capture(get_variance(fit))
  r2 <- capture(r2_nakagawa(fit))
  vars <- gv$value

  null_fit <- NULL
  dist <- if (fam$family == "gaussian") {
    list(method = "sigma^2 (residual variance of the lmer fit)")
  } else if (fam$family == "binomial") {
    list(method = "pi^2 / 3 (logit link; a constant, no null model)", value = pi^2 / 3)
  } else {
    ## What insight 0.19.0 does: refit the model with the fixed part replaced by an intercept
    ## (insight::null_model = update(fit, TICKS ~ (1 | BROOD))), mu = exp(its intercept),
    ## var.distribution = log1p(Var(mu) / mu^2) = log1p(1 / mu) for the Poisson.
    null_cap <- capture(glmer(TICKS ~ (1 | BROOD), family = poisson, data = grouseticks))
    null_fit <- null_cap$value
    b0_null <- unname(fixef(null_fit)[1])
    var_null <- as.numeric(VarCorr(null_fit)$BROOD)
    mu <- exp(b0_null)
    eta_fixed <- as.vector(getME(fit, "X") %*% fixef(fit))
    alt_mu <- list(
      exp_b0_null_plus_half_var_null = exp(b0_null + var_null / 2),
      exp_b0_full_plus_half_var_random = exp(unname(fixef(fit)[1]) + vars$var.random / 2),
      exp_b0_full = exp(unname(fixef(fit)[1])),
      exp_mean_eta_fixed = exp(mean(eta_fixed)),
      mean_response = mean(grouseticks$TICKS))
    list(method = paste("lognormal approximation log1p(Var(mu)/mu^2) = log1p(1/mu),",
                        "mu = exp(intercept of the null model refitted by insight::null_model,",
                        "TICKS ~ (1 | BROOD), glmer Laplace); no +var/2 correction."),
         approximation = "lognormal",
         null_model_formula = "TICKS ~ (1 | BROOD)",
         null_model_fixef_intercept = b0_null,
         null_model_var_BROOD = var_null,
         null_model_warnings = I(c(null_cap$warnings, null_cap$messages)),
         mu = mu,
         value = log1p(1 / mu),
         alternatives_not_used = list(
           delta_1_over_mu = 1 / mu,
           trigamma_mu = trigamma(mu),
           lognormal_with_other_mu = lapply(alt_mu, function(m) log1p(1 / m)),
           other_mu = alt_mu))
  }

  hand <- by_hand(fit, null_fit)
  got <- list(var.fixed = vars$var.fixed, var.random = vars$var.random,
              var.residual = vars$var.residual, var.distribution = vars$var.distribution,
              var.dispersion = vars$var.dispersion,
              r2_marginal = unname(r2$value$R2_marginal),
              r2_conditional = unname(r2$value$R2_conditional))
  diffs <- sapply(names(hand), function(k) abs(hand[[k]] - got[[k]]))
  if (any(!is.finite(diffs)) || max(diffs) > 1e-10) {
    print(diffs)
    stop(sprintf("%s: hand formulas disagree with get_variance / r2_nakagawa", nm))
  }

  gv_out <- list(var.fixed = NULL, var.random = NULL, var.residual = NULL,
                 var.distribution = NULL, var.dispersion = NULL)
  for (k in names(vars)) gv_out[[k]] <- component(vars[[k]])
  ## list[[k]] <- NULL drops the element; put the nulls back as JSON null markers.
  for (k in c("var.fixed", "var.random", "var.residual", "var.distribution", "var.dispersion")) {
    if (is.null(vars[[k]])) gv_out[k] <- list(NULL)
  }

  cases[[nm]] <- list(
    csv = s$csv, data = s$data, formula = s$formula,
    call = paste(deparse(s$fit, width.cutoff = 500), collapse = " "),
    family = fam$family, link = fam$link,
    REML = if (is_lmm) isREML(fit) else NULL,
    nAGQ = if (is_lmm) NULL else fit@devcomp$dims[["nAGQ"]],
    nobs = nobs(fit),
    fixef = named_list(fixef(fit)),
    varcorr = varcorr_of(fit),
    sigma = as.numeric(attr(VarCorr(fit), "sc")),
    logLik = as.numeric(logLik(fit)),
    r2_nakagawa = list(marginal = unname(r2$value$R2_marginal),
                       conditional = unname(r2$value$R2_conditional)),
    get_variance = gv_out,
    get_variance_names = I(names(vars)),
    distribution_variance = dist,
    verification = list(recomputed = hand, max_abs_diff = max(diffs)),
    warnings = list(
      fit = I(cap$warnings), fit_messages = I(cap$messages),
      convergence_messages = I(as.character(fit@optinfo$conv$lme4$messages)),
      get_variance = I(c(gv$warnings, gv$messages)),
      r2_nakagawa = I(c(r2$warnings, r2$messages)))
  )
}

out <- list(
  R_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  performance_version = as.character(packageVersion("performance")),
  insight_version = as.character(packageVersion("insight")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  notes = c(
    "r2_nakagawa(fit) with its defaults (tolerance = 1e-5, by_group = FALSE, ci = NULL). performance 0.10.2 has no 'approximation' argument: the Poisson distribution-specific variance is always the lognormal one, log1p(1/mu), with mu = exp(intercept of the refitted null model).",
    "R2_marginal = var.fixed / (var.fixed + var.random + var.residual); R2_conditional = (var.fixed + var.random) / (same denominator). See R2_FORMULAS.md.",
    "var.fixed = stats::var(X %*% beta) (denominator n - 1). var.random = sum over grouping factors of mean_i x_i' Sigma_g x_i, x_i = row of the fixed-effects X restricted to the random-effect term names (uncentred). var.residual = var.distribution + var.dispersion.",
    "Binomial logit: var.distribution = pi^2/3. Gaussian: sigma^2. var.dispersion = 0 in every case here (no observation-level random effect).",
    "get_variance also returns var.intercept (per factor), var.slope and cor.slope_intercept when present; they are stored under their insight names (named lists keyed as insight names them, e.g. 'Subject.Days').",
    "varcorr[].variance and correlation are row-major k x k matrices in the order varcorr[].terms.",
    "Grouping factors have levels in C (code point) order; fixed-effect factors use treatment contrasts with the first level as reference."
  ),
  cases = cases
)

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE,
                  na = "null", null = "null"), out_file)

## Print a summary.
cat(sprintf("lme4 %s, performance %s, insight %s, %s\n", out$lme4_version,
            out$performance_version, out$insight_version, out$R_version))
for (nm in names(cases)) {
  f <- cases[[nm]]
  g <- f$get_variance
  cat(sprintf("\n== %s   %s   [%s/%s]\n", nm, f$formula, f$family, f$link))
  cat(sprintf("  var.fixed %.10g  var.random %.10g  var.residual %.10g  (dist %.10g, disp %.10g)\n",
              g$var.fixed, g$var.random, g$var.residual, g$var.distribution, g$var.dispersion))
  cat(sprintf("  R2 marginal %.10g  conditional %.10g   hand-check max |diff| %.3g\n",
              f$r2_nakagawa$marginal, f$r2_nakagawa$conditional, f$verification$max_abs_diff))
  w <- unlist(f$warnings)
  if (length(w)) cat("  warnings:", paste(unique(w), collapse = " | "), "\n")
}
cat("\nwrote", out_file, "\n")
