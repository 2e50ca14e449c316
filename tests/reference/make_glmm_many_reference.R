#!/usr/bin/env Rscript
## Produce many small random-intercept GLMM fits with lme4, so that hierarch's
## tests can check that its Laplace optimiser never ends below glmer's
## optimum (logLik_python >= logLik_glmer - tolerance) across families,
## group SDs and designs.
##
## Run from the repository root:
##     Rscript tests/reference/make_glmm_many_reference.R
##
## Simulates 53 data sets with fixed seeds (12 per family for bernoulli,
## binomial, poisson and negative binomial, plus 5 of the Bernoulli design of
## the bug report), writes them to one long CSV,
## tests/reference/glmm_many_sim.csv, reads it back and fits exactly the values
## in the file. Writes tests/reference/glmm_many.json.
## Needs R with lme4 and jsonlite (Debian: r-base-core r-cran-lme4 r-cran-jsonlite).
## The Python test suite only reads the JSON and CSV files; it never needs R.
## The run takes about half a minute.

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
ref_dir <- file.path(repo_root, "tests", "reference")
csv_file <- "glmm_many_sim.csv"
out_file <- file.path(ref_dir, "glmm_many.json")

## Grouping columns become factors whose levels are sorted in C (byte /
## code point) order, independent of the locale: integer ids sort numerically.
as_group <- function(x) {
  factor(x, levels = sort(unique(x), method = "radix"))
}
named_list <- function(x) as.list(setNames(as.numeric(x), names(x)))

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
  list(value = value, warnings = unique(warns), messages = unique(msgs))
}

## ---------------------------------------------------------------------------
## Simulation design
## ---------------------------------------------------------------------------

beta_binary <- c("(Intercept)" = -0.5, x = 0.5)   # bernoulli, binomial
beta_count <- c("(Intercept)" = 1.0, x = 0.5)     # poisson, negative binomial
nb_theta_true <- 2
base_seed <- 20250100L

designs <- list(few = c(n_groups = 8L, rows_per_group = 20L),
                many = c(n_groups = 60L, rows_per_group = 6L))
sds <- c(small = 0.3, large = 1.2)

spec <- list()
for (fam in c("bernoulli", "binomial", "poisson", "negbin")) {
  for (sd_name in names(sds)) for (des in names(designs)) for (r in 1:3) {
    spec[[length(spec) + 1]] <- list(
      dataset = sprintf("%s_%s_%s_%d", fam, sd_name, des, r),
      family = fam, sd = sds[[sd_name]], sd_label = sd_name, design = des,
      n_groups = designs[[des]][["n_groups"]], rows_per_group = designs[[des]][["rows_per_group"]],
      replicate = r)
  }
}
## The bug report's case: Bernoulli, 350 rows = 25 groups of 14, true group SD
## drawn from U(0.3, 1.2) (first draw after set.seed).
for (r in 1:5) {
  spec[[length(spec) + 1]] <- list(
    dataset = sprintf("bugreport_bernoulli_%d", r),
    family = "bernoulli", sd = NA_real_, sd_label = "uniform(0.3, 1.2)", design = "bugreport",
    n_groups = 25L, rows_per_group = 14L, replicate = r)
}
for (i in seq_along(spec)) spec[[i]]$seed <- base_seed + i

simulate_one <- function(s) {
  set.seed(s$seed)
  if (is.na(s$sd)) s$sd <- runif(1, 0.3, 1.2)
  G <- s$n_groups
  g <- rep(seq_len(G), each = s$rows_per_group)
  N <- length(g)
  n <- switch(s$family,
              bernoulli = rep(1L, N),
              binomial = sample(1:10, N, replace = TRUE),
              rep(NA_integer_, N))
  x <- round(rnorm(N), 6)
  b <- rnorm(G, 0, s$sd)
  beta <- if (s$family %in% c("bernoulli", "binomial")) beta_binary else beta_count
  eta <- beta[[1]] + beta[[2]] * x + b[g]
  y <- switch(s$family,
              bernoulli = rbinom(N, 1, plogis(eta)),
              binomial = rbinom(N, n, plogis(eta)),
              poisson = rpois(N, exp(eta)),
              negbin = rnbinom(N, size = nb_theta_true, mu = exp(eta)))
  list(spec = s, data = data.frame(dataset = s$dataset, g = g, x = x, n = n, y = y), beta = beta)
}

sims <- lapply(spec, simulate_one)
long <- do.call(rbind, lapply(sims, `[[`, "data"))
write.csv(long, file.path(ref_dir, csv_file), row.names = FALSE, quote = FALSE, na = "")
back <- read.csv(file.path(ref_dir, csv_file), stringsAsFactors = FALSE)
## (round() does not always return the double nearest to the 6-decimal value,
## so x can differ from the file by 1 ulp; the fits use the values read back.)
stopifnot(nrow(back) == nrow(long), max(abs(back$x - long$x)) < 1e-12,
          identical(as.integer(back$y), as.integer(long$y)),
          identical(back$dataset, long$dataset), identical(back$g, long$g))

## ---------------------------------------------------------------------------
## Fits
## ---------------------------------------------------------------------------

tight_ctrl <- glmerControl(tolPwrss = 1e-12)

formula_of <- function(fam) {
  if (fam == "binomial") "cbind(y, n - y) ~ x + (1 | g)" else "y ~ x + (1 | g)"
}

## Fit in the global environment with the data under the name `d_cur`, so
## that glmer.nb's internal refits / updates find it.
fit_in_global <- function(call) capture(eval(call, globalenv()))

summarise_glmer <- function(cap) {
  fit <- cap$value
  list(
    logLik = as.numeric(logLik(fit)),
    fixef = named_list(fixef(fit)),
    re_sd = as.data.frame(VarCorr(fit))$sdcor[1],
    theta = named_list(getME(fit, "theta")),
    isSingular = isSingular(fit),
    convergence_messages = I(c(fit@optinfo$conv$lme4$messages, cap$warnings)),
    messages = I(cap$messages)
  )
}

results <- list()
t_start <- proc.time()[["elapsed"]]
for (sim in sims) {
  s <- sim$spec
  d <- back[back$dataset == s$dataset, c("g", "x", "n", "y")]
  d$g <- as_group(d$g)
  assign("d_cur", d, envir = globalenv())
  ftxt <- formula_of(s$family)
  fml <- str2lang(ftxt)
  truth <- list(fixef = as.list(sim$beta),
                re_sd = s$sd)
  if (s$family == "negbin") {
    truth$nb_theta <- nb_theta_true
    cap <- fit_in_global(bquote(glmer.nb(.(fml), data = d_cur)))
    nb_theta <- getME(cap$value, "glmer.nb.theta")
    ## Tight PIRLS at glmer.nb's theta.
    capt <- fit_in_global(bquote(glmer(.(fml), data = d_cur, control = tight_ctrl,
                                       family = MASS::negative.binomial(theta = .(nb_theta)))))
    ## Tight PIRLS and theta re-optimised: optimize() over log(theta), tol 1e-10
    ## (glmer.nb uses tol = 5e-5 and default tolPwrss).
    nb_dev <- function(lt) {
      f <- suppressWarnings(suppressMessages(
        eval(bquote(glmer(.(fml), data = d_cur, control = tight_ctrl,
                          family = MASS::negative.binomial(theta = .(exp(lt))))), globalenv())))
      -2 * as.numeric(logLik(f))
    }
    opt <- optimize(nb_dev, interval = log(nb_theta) + c(-1, 1), tol = 1e-10)
    capo <- fit_in_global(bquote(glmer(.(fml), data = d_cur, control = tight_ctrl,
                                       family = MASS::negative.binomial(theta = .(exp(opt$minimum))))))
    fam_info <- list(family = "negative binomial (glmer.nb, NB2)", link = "log")
  } else {
    fam_call <- if (s$family == "poisson") quote(poisson) else quote(binomial)
    cap <- fit_in_global(bquote(glmer(.(fml), data = d_cur, family = .(fam_call))))
    capt <- fit_in_global(bquote(glmer(.(fml), data = d_cur, family = .(fam_call), control = tight_ctrl)))
    fam_info <- list(family = if (s$family == "poisson") "poisson" else "binomial",
                     link = if (s$family == "poisson") "log" else "logit")
  }
  main <- summarise_glmer(cap)
  tight <- summarise_glmer(capt)
  ## The exact Laplace log-likelihood (PIRLS converged to tolPwrss = 1e-12) at
  ## the default fit's estimates (theta, beta): lme4's deviance function for
  ## the same model (for negbin at nb_theta), evaluated there. Checked against
  ## the tight fit's own logLik at the tight estimates.
  dev_family <- if (s$family == "negbin") bquote(MASS::negative.binomial(theta = .(nb_theta))) else fam_call
  devfun <- eval(bquote(glmer(.(fml), data = d_cur, family = .(dev_family), control = tight_ctrl,
                              devFunOnly = TRUE)), globalenv())
  ll_exact_default <- -0.5 * devfun(c(getME(cap$value, "theta"), fixef(cap$value)))
  ll_exact_tight <- -0.5 * devfun(c(getME(capt$value, "theta"), fixef(capt$value)))
  stopifnot(abs(ll_exact_tight - tight$logLik) < 1e-6)
  rec <- c(
    list(dataset = s$dataset, family_key = s$family, family = fam_info$family, link = fam_info$link,
         seed = s$seed, design = s$design, sd_label = s$sd_label,
         n_groups = s$n_groups, rows_per_group = s$rows_per_group, replicate = s$replicate,
         truth = truth, formula = ftxt, nobs = nrow(d)),
    main,
    list(logLik_exact_at_default_estimates = ll_exact_default,
         logLik_tight = tight$logLik, fixef_tight = tight$fixef, re_sd_tight = tight$re_sd,
         isSingular_tight = tight$isSingular,
         convergence_messages_tight = tight$convergence_messages, messages_tight = tight$messages)
  )
  if (s$family == "negbin") {
    rec$nb_theta <- nb_theta
    rec$nb_theta_evaluations <- attr(cap$value, "nevals")
    oo <- summarise_glmer(capo)
    rec$nb_theta_opt <- exp(opt$minimum)
    rec$logLik_tight_theta_opt <- oo$logLik
    rec$fixef_tight_theta_opt <- oo$fixef
    rec$re_sd_tight_theta_opt <- oo$re_sd
  }
  results[[s$dataset]] <- rec
}
elapsed <- proc.time()[["elapsed"]] - t_start

out <- list(
  lme4_version = as.character(packageVersion("lme4")),
  R_version = R.version.string,
  csv = csv_file,
  notes = I(c(
    "Purpose: for each data set, hierarch's Laplace ML fit should reach a log-likelihood >= logLik_tight (up to ~1e-6) and >= logLik (glmer defaults).",
    "Data: one long CSV glmm_many_sim.csv with columns dataset, g, x, n, y. n = trials (1 for bernoulli, 1..10 for binomial, empty/NA for poisson and negbin). g = 1..n_groups within each data set (factor, levels in C order = numeric). x ~ N(0,1) rounded to 6 decimals. The CSV was read back before fitting.",
    "Simulation per data set: set.seed(seed); [bugreport only: re_sd = runif(1, 0.3, 1.2)]; n (binomial: sample(1:10, N, replace = TRUE)); x = round(rnorm(N), 6); b = rnorm(n_groups, 0, re_sd); eta = beta0 + 0.5 x + b[g]; y from rbinom / rpois / rnbinom(size = 2, mu = exp(eta)). beta0 = -0.5 (bernoulli, binomial) or 1.0 (poisson, negbin). seed = 20250100 + index in the list.",
    "Designs: few = 8 groups x 20 rows; many = 60 groups x 6 rows; bugreport = 25 groups x 14 rows (350 rows). sd_label small = 0.3, large = 1.2.",
    "Fits: glmer(y ~ x + (1 | g), binomial) (bernoulli), glmer(cbind(y, n - y) ~ x + (1 | g), binomial), glmer(y ~ x + (1 | g), poisson), glmer.nb(y ~ x + (1 | g)); Laplace (nAGQ = 1), lme4 default optimizer settings. logLik is the full log-likelihood (binomial coefficients, log(y!) and NB normalising constants included).",
    "logLik / fixef / re_sd / theta / isSingular / convergence_messages / messages: default glmer (glmer.nb) fit. re_sd = the random-intercept SD (= theta for these families).",
    "logLik_exact_at_default_estimates: the Laplace log-likelihood at the default fit's (theta, beta) with PIRLS converged (lme4's deviance function, devFunOnly = TRUE, tolPwrss = 1e-12; for negbin at nb_theta). lme4's default tolPwrss = 1e-7 leaves the conditional modes unconverged, so the reported default logLik can be below *or above* this exact value (above by 4.4e-5 for negbin_small_many_2). Use logLik_tight (negbin: logLik_tight_theta_opt) as the bar, not logLik.",
  "*_tight: the same model refitted with glmerControl(tolPwrss = 1e-12). For negbin the tight fit is glmer(..., family = MASS::negative.binomial(nb_theta)) at glmer.nb's estimate nb_theta (theta held fixed). For negbin *_tight_theta_opt additionally re-optimises theta: optimize() over log(theta) within log(nb_theta) +- 1, tol = 1e-10, with tolPwrss = 1e-12; nb_theta_opt is that theta and logLik_tight_theta_opt the profile maximum, the best glmer value to compare with.",
    "convergence_messages: lme4's fit@optinfo$conv$lme4$messages plus warnings raised while fitting; messages: message() output (e.g. 'boundary (singular) fit').",
    "elapsed_s: total fitting time on the machine that made the file (2 cores)."
  )),
  design = list(base_seed = base_seed, beta_binary = as.list(beta_binary), beta_count = as.list(beta_count),
                nb_theta = nb_theta_true, sds = as.list(sds),
                designs = lapply(designs, function(x) as.list(x))),
  n_datasets = length(results),
  elapsed_s = elapsed,
  datasets = unname(results)
)

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE,
                  na = "null", null = "null"), out_file)

## ---------------------------------------------------------------------------
## Print a summary.
## ---------------------------------------------------------------------------
cat(sprintf("lme4 %s, %s; %d data sets, %d rows; fitting %.1fs\n", out$lme4_version, out$R_version,
            length(results), nrow(back), elapsed))
cat(sprintf("%-28s %5s %12s %12s %12s %10s %8s %8s %s\n", "dataset", "nobs", "logLik", "tight-def", "exact-def",
            "re_sd", "sd_true", "singular", "msgs"))
for (r in results) {
  extra <- if (!is.null(r$nb_theta)) sprintf(" theta %.4f opt %.4f (+%.2e)", r$nb_theta, r$nb_theta_opt,
                                             r$logLik_tight_theta_opt - r$logLik_tight) else ""
  cat(sprintf("%-28s %5d %12.5f %12.3e %12.3e %10.5f %8.4f %8s %s%s\n", r$dataset, r$nobs, r$logLik,
              r$logLik_tight - r$logLik, r$logLik_exact_at_default_estimates - r$logLik, r$re_sd, r$truth$re_sd, r$isSingular,
              paste(c(unlist(r$convergence_messages), unlist(r$messages)), collapse = "; "), extra))
}
cat("wrote", out_file, "and", file.path(ref_dir, csv_file), "\n")
