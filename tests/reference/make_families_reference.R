#!/usr/bin/env Rscript
## Reference values for hierarch's new response families:
##   A. Student-t linear mixed models          (glmmTMB, family = t_family(), ML)
##   B. zero-inflated and hurdle count models   (glmmTMB, ziformula = ~1)
##   C. ordinal cumulative link mixed models    (ordinal::clmm, Laplace and AGQ)
##   D. Bayesian Student-t mixed model          (brms / rstan, NUTS)
##   E. Bayesian zero-inflated and hurdle counts (brms / rstan, NUTS; data of case B)
##   F. Bayesian cumulative logit / probit mixed models (brms / rstan, NUTS; data of case C)
##
## Run from the repository root:
##     Rscript tests/reference/make_families_reference.R
##
## Writes, all in tests/reference/:
##   families.json                 every reference value (full precision: digits = NA)
##   families_sleepstudy.csv       lme4::sleepstudy (Reaction, Days, Subject)
##   families_sim_t.csv            simulated Student-t data (y, x, g)
##   families_sim_zi.csv           simulated zero-inflated NB counts (y, x, g)
##   families_wine.csv             ordinal::wine (rating 1..5, temp, contact, judge, bottle)
## Every data set is written to CSV first and read back before fitting, so R fits
## exactly the numbers the Python tests read. Simulated covariates are rounded to
## 6 decimals and continuous responses to 12 significant digits before writing.
##
## Needs R with glmmTMB, TMB, lme4, ordinal, brms, rstan, posterior and jsonlite
## (Debian: r-base-core r-cran-glmmtmb r-cran-lme4 r-cran-ordinal r-cran-brms
##  r-cran-posterior r-cran-jsonlite). The versions used are stored in the JSON.
## brms compiles seven Stan models (about 30 to 40 s each here); the whole run takes about 6 minutes.
## See FAMILIES.md for the layout of the JSON and the caveats.
## The Python test suite only reads the JSON and CSV files; it never needs R.

t_start <- proc.time()[["elapsed"]]

suppressPackageStartupMessages({
  library(lme4)
  library(glmmTMB)
  library(ordinal)
  library(brms)
  library(posterior)
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
out_file <- file.path(ref_dir, "families.json")

## Grouping columns become factors whose levels are sorted in C (code point)
## order, independent of the locale (as Python's sorted() would sort them).
as_group <- function(x) factor(x, levels = sort(unique(x), method = "radix"))
read_data <- function(path) read.csv(path, fileEncoding = "UTF-8", stringsAsFactors = FALSE)
write_data <- function(df, file) {
  path <- file.path(ref_dir, file)
  write.csv(df, path, row.names = FALSE, quote = FALSE)
  read_data(path)
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
  t0 <- proc.time()[["elapsed"]]
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
  list(fit = fit, warnings = warns, messages = msgs,
       seconds = proc.time()[["elapsed"]] - t0)
}

problems <- character(0)   # convergence problems found; also stored in the JSON
note_problem <- function(key, what) {
  problems <<- c(problems, sprintf("%s: %s", key, what))
}

## ---------------------------------------------------------------------------
## Data
## ---------------------------------------------------------------------------

simulations <- list()

## lme4::sleepstudy (Subject ids are integers 308..372).
sleep <- write_data(data.frame(Reaction = lme4::sleepstudy$Reaction,
                               Days = lme4::sleepstudy$Days,
                               Subject = as.integer(as.character(lme4::sleepstudy$Subject))),
                    "families_sleepstudy.csv")
sleep$Subject <- as_group(sleep$Subject)
stopifnot(max(abs(sleep$Reaction - lme4::sleepstudy$Reaction)) < 1e-12)

## Student-t simulation.
sim_t <- local({
  seed <- 20240701L
  set.seed(seed)
  J <- 20L
  n_per <- 15L
  g_lab <- sprintf("g%02d", seq_len(J))
  gi <- rep(seq_len(J), each = n_per)
  n <- length(gi)
  b <- rnorm(J, 0, 0.8)
  x <- round(rnorm(n), 6)
  e <- rt(n, df = 4)
  y <- signif(1 + 0.5 * x + b[gi] + 0.7 * e, 12)
  simulations$sim_t <<- list(
    file = "families_sim_t.csv", seed = seed, nrow = n, n_groups = J,
    design = paste("set.seed(seed); b = rnorm(20, 0, 0.8); x = round(rnorm(300), 6);",
                   "e = rt(300, df = 4); y = signif(1 + 0.5 x + b[g] + 0.7 e, 12);",
                   "g = g01..g20, 15 consecutive rows each"),
    truth = list(fixef = list("(Intercept)" = 1, x = 0.5), sd_g = 0.8, sigma = 0.7, df = 4),
    b_true = as.list(setNames(b, g_lab)))
  write_data(data.frame(y = y, x = x, g = g_lab[gi]), "families_sim_t.csv")
})
sim_t$g <- as_group(sim_t$g)

## Zero-inflated negative binomial simulation.
sim_zi <- local({
  seed <- 20240702L
  set.seed(seed)
  J <- 25L
  n_per <- 16L
  g_lab <- sprintf("g%02d", seq_len(J))
  gi <- rep(seq_len(J), each = n_per)
  n <- length(gi)
  b <- rnorm(J, 0, 0.5)
  x <- round(rnorm(n), 6)
  mu <- exp(0.5 + 0.4 * x + b[gi])
  y <- rnbinom(n, mu = mu, size = 2)
  structural <- rbinom(n, 1, 0.3)
  y[structural == 1] <- 0L
  simulations$sim_zi <<- list(
    file = "families_sim_zi.csv", seed = seed, nrow = n, n_groups = J,
    design = paste("set.seed(seed); b = rnorm(25, 0, 0.5); x = round(rnorm(400), 6);",
                   "mu = exp(0.5 + 0.4 x + b[g]); y = rnbinom(400, mu = mu, size = 2);",
                   "z = rbinom(400, 1, 0.3); y[z == 1] = 0; g = g01..g25, 16 consecutive rows each"),
    truth = list(fixef = list("(Intercept)" = 0.5, x = 0.4), sd_g = 0.5, nb_size = 2,
                 zi_prob = 0.3, zi_logit = qlogis(0.3)),
    n_structural_zeros = sum(structural), n_zeros = sum(y == 0),
    b_true = as.list(setNames(b, g_lab)))
  write_data(data.frame(y = y, x = x, g = g_lab[gi]), "families_sim_zi.csv")
})
sim_zi$g <- as_group(sim_zi$g)

## ordinal::wine. rating is written as its integer category 1..5; bottle and
## judge as integers.
wine_df <- write_data(data.frame(
  rating = as.integer(as.character(ordinal::wine$rating)),
  temp = as.character(ordinal::wine$temp),
  contact = as.character(ordinal::wine$contact),
  judge = as.integer(as.character(ordinal::wine$judge)),
  bottle = as.integer(as.character(ordinal::wine$bottle))), "families_wine.csv")
wine_df$rating <- factor(wine_df$rating, levels = 1:5, ordered = TRUE)
wine_df$temp <- factor(wine_df$temp, levels = c("cold", "warm"))
wine_df$contact <- factor(wine_df$contact, levels = c("no", "yes"))
wine_df$judge <- as_group(wine_df$judge)
wine_df$bottle <- as_group(wine_df$bottle)
stopifnot(all(wine_df$rating == ordinal::wine$rating))

## ---------------------------------------------------------------------------
## glmmTMB summaries
## ---------------------------------------------------------------------------

## Per grouping factor: terms, sd (named), correlation (k x k, row-major list of rows).
varcorr_tmb <- function(vc) {
  lapply(vc, function(v) {
    s <- attr(v, "stddev")
    cr <- attr(v, "correlation")
    if (is.null(cr)) cr <- diag(length(s))
    list(terms = I(names(s)), sd = named_list(s), correlation = rows_of(unname(as.matrix(cr))))
  })
}

## Conditional modes per grouping factor: levels, columns, one list per column.
ranef_modes <- function(re) {
  lapply(re, function(m) list(
    levels = I(rownames(m)),
    columns = I(colnames(m)),
    modes = setNames(lapply(seq_len(ncol(m)), function(j) as.numeric(m[[j]])), colnames(m))
  ))
}

summarise_tmb <- function(cap, key, formula_text, data_file, zi = FALSE) {
  fit <- cap$fit
  fe <- fixef(fit)$cond
  V <- vcov(fit)$cond
  se <- sqrt(diag(V))
  names(se) <- names(fe)
  ll <- logLik(fit)
  pdHess <- fit$sdr$pdHess
  conv <- fit$fit$convergence
  if (!isTRUE(pdHess)) note_problem(key, "pdHess is FALSE")
  if (!identical(as.integer(conv), 0L)) note_problem(key, sprintf("nlminb convergence %s (%s)", conv, fit$fit$message))
  if (length(cap$warnings)) note_problem(key, paste("warnings:", paste(cap$warnings, collapse = " | ")))
  ## All fixed parameters on TMB's internal scale with their SEs (sdreport).
  sp <- summary(fit$sdr, "fixed")
  out <- list(
    engine = "glmmTMB",
    formula = formula_text,
    ziformula = if (zi) "~1" else NULL,
    data = data_file,
    family = list(family = family(fit)$family, link = family(fit)$link),
    fixef = named_list(fe),
    se_fixef = named_list(se),
    vcov_names = I(names(fe)),
    vcov = rows_of(V),
    sigma = sigma(fit),
    varcorr = varcorr_tmb(VarCorr(fit)$cond),
    logLik = as.numeric(ll),
    df = as.integer(attr(ll, "df")),
    AIC = AIC(fit),
    nobs = nobs(fit),
    ranef = ranef_modes(ranef(fit)$cond),
    internal_parameters = list(names = I(rownames(sp)), estimate = I(unname(sp[, 1])),
                               se = I(unname(sp[, 2]))),
    pdHess = pdHess,
    optimizer_convergence = conv,
    optimizer_message = fit$fit$message,
    max_abs_gradient = max(abs(fit$sdr$gradient.fixed)),
    warnings = I(cap$warnings),
    messages = I(cap$messages),
    seconds = cap$seconds
  )
  if (zi) {
    zfe <- fixef(fit)$zi
    zse <- sqrt(diag(vcov(fit)$zi))
    out$zi_fixef <- named_list(zfe)
    out$zi_se <- as.list(setNames(as.numeric(zse), names(zfe)))
    out$zi_prob <- as.list(setNames(plogis(as.numeric(zfe)), names(zfe)))
    idx <- 1:5
    out$predict_first5 <- list(
      rows = I(idx),
      response = I(as.numeric(predict(fit, type = "response"))[idx]),
      zprob = I(as.numeric(predict(fit, type = "zprob"))[idx]),
      conditional = I(as.numeric(predict(fit, type = "conditional"))[idx]),
      link = I(as.numeric(predict(fit, type = "link"))[idx]))
  }
  out
}

out <- list(
  R_version = R.version.string,
  glmmTMB_version = as.character(packageVersion("glmmTMB")),
  TMB_version = as.character(packageVersion("TMB")),
  lme4_version = as.character(packageVersion("lme4")),
  ordinal_version = as.character(packageVersion("ordinal")),
  brms_version = as.character(packageVersion("brms")),
  rstan_version = as.character(packageVersion("rstan")),
  StanHeaders_version = as.character(packageVersion("StanHeaders")),
  posterior_version = as.character(packageVersion("posterior")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  simulations = simulations
)

## ---------------------------------------------------------------------------
## A. Student-t mixed models
## ---------------------------------------------------------------------------

## The t degrees of freedom: glmmTMB 1.1.5 has family_params(fit), which
## returns c("Student-t df" = exp(psi)); psi is the internal parameter (log df)
## in fit$fit$par / the sdreport. Both are stored and checked against each other.
## vcov(fit, full = TRUE) labels its last row "Student-t df", but that entry is
## the variance of psi = log(df), not of df.
summarise_t <- function(cap, key, formula_text, data_file) {
  fit <- cap$fit
  s <- summarise_tmb(cap, key, formula_text, data_file)
  fp <- family_params(fit)
  sp <- summary(fit$sdr, "fixed")
  psi <- sp[rownames(sp) == "psi", , drop = FALSE]
  stopifnot(nrow(psi) == 1, abs(exp(psi[1, 1]) - fp[["Student-t df"]]) < 1e-12)
  betad <- sp[rownames(sp) == "betad", , drop = FALSE]
  stopifnot(abs(exp(betad[1, 1]) - sigma(fit)) < 1e-12)
  s$df_t <- unname(fp[["Student-t df"]])
  s$df_t_accessor <- "family_params(fit)[['Student-t df']] (= exp(psi))"
  s$log_df_t <- psi[1, 1]
  s$se_log_df_t <- psi[1, 2]
  s$log_sigma <- betad[1, 1]
  s$se_log_sigma <- betad[1, 2]
  s
}

## Check of the t parameterisation without random effects (exact ML, no Laplace):
## glmmTMB's logLik equals sum(dt((y - mu) / sigma, df, log = TRUE) - log(sigma)),
## i.e. y = mu + sigma * T_df, sigma a scale (the SD is sigma * sqrt(df / (df - 2))).
t_check <- local({
  f0 <- glmmTMB(y ~ x, data = sim_t, family = t_family())
  mu <- predict(f0, type = "response")
  df0 <- unname(family_params(f0))
  by_hand <- sum(dt((sim_t$y - mu) / sigma(f0), df = df0, log = TRUE) - log(sigma(f0)))
  stopifnot(abs(by_hand - as.numeric(logLik(f0))) < 1e-8)
  list(model = "y ~ x (no random effects) on families_sim_t.csv, t_family()",
       fixef = named_list(fixef(f0)$cond), sigma = sigma(f0), df_t = df0,
       logLik = as.numeric(logLik(f0)), logLik_by_hand = by_hand,
       formula = "sum(dt((y - mu) / sigma, df, log = TRUE) - log(sigma))")
})

cat("A. Student-t models\n")
f_sleep <- "Reaction ~ Days + (Days | Subject)"
out$sleep_t <- summarise_t(
  capture_fit(glmmTMB(as.formula(f_sleep), data = sleep, family = t_family())),
  "sleep_t", f_sleep, "families_sleepstudy.csv")
f_simt <- "y ~ x + (1 | g)"
out$sim_t <- summarise_t(
  capture_fit(glmmTMB(as.formula(f_simt), data = sim_t, family = t_family())),
  "sim_t", f_simt, "families_sim_t.csv")
out$t_parameterisation_check <- t_check

## ---------------------------------------------------------------------------
## B. Zero-inflated and hurdle counts
## ---------------------------------------------------------------------------

cat("B. zero-inflated / hurdle models\n")
zi_families <- list(
  zip = list(fam = poisson(), label = "poisson"),
  zinb = list(fam = nbinom2(), label = "nbinom2"),
  hurdle_poisson = list(fam = truncated_poisson(), label = "truncated_poisson"),
  hurdle_nb = list(fam = truncated_nbinom2(), label = "truncated_nbinom2")
)
f_zi <- "y ~ x + (1 | g)"
for (nm in names(zi_families)) {
  cap <- capture_fit(glmmTMB(as.formula(f_zi), ziformula = ~1, data = sim_zi,
                             family = zi_families[[nm]]$fam))
  out[[nm]] <- summarise_tmb(cap, nm, f_zi, "families_sim_zi.csv", zi = TRUE)
  if (nm %in% c("zip", "hurdle_poisson")) out[[nm]]$sigma_note <- "Poisson: no dispersion parameter, sigma(fit) = 1"
  if (nm == "zinb") out[[nm]]$sigma_note <- "nbinom2 theta (size): Var = mu + mu^2 / theta for the count part"
  if (startsWith(nm, "hurdle")) {
    ## The hurdle likelihood factorises into a Bernoulli part for y = 0 and a
    ## truncated count part, so with ziformula = ~1 the ML zero probability is
    ## exactly the share of zeros; glmmTMB's value differs only by the
    ## optimizer's tolerance.
    out[[nm]]$zi_fixef_closed_form <- qlogis(mean(sim_zi$y == 0))
  }
  if (nm == "hurdle_nb") out[[nm]]$sigma_note <- paste(
    "theta (size) of the untruncated NB2 parent: the positive part is NB2(mu, theta) truncated at 0,",
    "mu = exp(eta) is the parent's mean, not the mean of the truncated distribution")
}

## Check of the zero-inflated / hurdle likelihoods without random effects
## (exact ML): glmmTMB's logLik equals the hand-written sums below, with
## p = plogis(zi intercept), mu = exp(eta), f = dpois(., mu) or dnbinom(., size = theta, mu = mu).
##   zero-inflated: y = 0: log(p + (1 - p) f(0));  y > 0: log(1 - p) + log f(y)
##   hurdle:        y = 0: log(p);                 y > 0: log(1 - p) + log f(y) - log(1 - f(0))
## and predict(type = "response") = (1 - p) mu (zero-inflated) or (1 - p) mu / (1 - f(0)) (hurdle).
zi_check <- lapply(names(zi_families), function(nm) {
  f0 <- glmmTMB(y ~ x, ziformula = ~1, data = sim_zi, family = zi_families[[nm]]$fam)
  y <- sim_zi$y
  mu <- exp(drop(model.matrix(~ x, sim_zi) %*% fixef(f0)$cond))
  p <- plogis(fixef(f0)$zi[[1]])
  th <- sigma(f0)
  lf <- if (grepl("nb", nm)) function(k) dnbinom(k, size = th, mu = mu, log = TRUE) else
    function(k) dpois(k, mu, log = TRUE)
  f0y <- exp(lf(0))
  if (startsWith(nm, "hurdle")) {
    ll <- ifelse(y == 0, log(p), log1p(-p) + lf(y) - log1p(-f0y))
    mean_hand <- (1 - p) * mu / (1 - f0y)
  } else {
    ll <- ifelse(y == 0, log(p + (1 - p) * f0y), log1p(-p) + lf(y))
    mean_hand <- (1 - p) * mu
  }
  stopifnot(abs(sum(ll) - as.numeric(logLik(f0))) < 1e-8,
            max(abs(mean_hand - predict(f0, type = "response"))) < 1e-10)
  list(model = sprintf("y ~ x, ziformula = ~1 (no random effects), %s", zi_families[[nm]]$label),
       fixef = named_list(fixef(f0)$cond), zi_fixef = named_list(fixef(f0)$zi),
       sigma = th, logLik = as.numeric(logLik(f0)), logLik_by_hand = sum(ll),
       max_abs_diff_response_mean = max(abs(mean_hand - predict(f0, type = "response"))))
})
names(zi_check) <- names(zi_families)
out$zi_parameterisation_check <- zi_check

## ---------------------------------------------------------------------------
## C. Ordinal cumulative link mixed models
## ---------------------------------------------------------------------------

cat("C. clmm\n")
summarise_clmm <- function(cap, key, formula_text, link, nAGQ) {
  fit <- cap$fit
  V <- vcov(fit)
  se <- sqrt(diag(V))
  ## clmm optimises log(ST) (the log of the random-effect SD); check that the
  ## last parameter is log of fit$ST and that vcov's "ST1" row is on that scale.
  st <- sapply(fit$ST, function(m) m[1, 1])
  stopifnot(abs(tail(fit$optRes$par, 1) - log(st[[1]])) < 1e-10)
  conv <- fit$optRes$convergence
  if (!identical(as.integer(conv), 0L)) note_problem(key, sprintf("optimizer convergence %s (%s)", conv, fit$optRes$message))
  if (length(cap$warnings)) note_problem(key, paste("warnings:", paste(cap$warnings, collapse = " | ")))
  ev <- eigen(fit$Hessian, symmetric = TRUE, only.values = TRUE)$values
  if (min(ev) <= 0) note_problem(key, "Hessian not positive definite")
  vc <- VarCorr(fit)
  re <- ranef(fit)
  cv <- condVar(fit)
  ll <- logLik(fit)
  list(
    engine = "ordinal::clmm",
    formula = formula_text,
    data = "families_wine.csv",
    link = link,
    nAGQ = nAGQ,
    threshold = fit$threshold,
    alpha = named_list(fit$alpha),
    beta = named_list(fit$beta),
    se_alpha = named_list(se[names(fit$alpha)]),
    se_beta = named_list(se[names(fit$beta)]),
    judge_sd = st[[1]],
    judge_sd_varcorr = unname(attr(vc$judge, "stddev")),
    log_judge_sd = log(st[[1]]),
    se_log_judge_sd = unname(se[["ST1"]]),
    vcov_names = I(rownames(V)),
    vcov = rows_of(V),
    logLik = as.numeric(ll),
    df = as.integer(attr(ll, "df")),
    AIC = AIC(fit),
    nobs = nobs(fit),
    ranef = list(judge = list(levels = I(rownames(re$judge)),
                              modes = I(as.numeric(re$judge[[1]])),
                              condvar = I(as.numeric(cv$judge[[1]])))),
    optimizer = fit$control$method,
    optimizer_convergence = conv,
    optimizer_message = fit$optRes$message,
    max_abs_gradient = max(abs(fit$gradient)),
    hessian_condition_number = max(ev) / min(ev),
    warnings = I(cap$warnings),
    messages = I(cap$messages),
    seconds = cap$seconds
  )
}
f_wine <- "rating ~ temp + contact + (1 | judge)"
for (lk in c("logit", "probit")) {
  key <- paste0("wine_clmm_", lk)
  out[[key]] <- summarise_clmm(
    capture_fit(clmm(as.formula(f_wine), data = wine_df, link = lk)), key, f_wine, lk, 1L)
}
out$wine_clmm_logit_agq10 <- summarise_clmm(
  capture_fit(clmm(as.formula(f_wine), data = wine_df, link = "logit", nAGQ = 10)),
  "wine_clmm_logit_agq10", f_wine, "logit", 10L)

## ---------------------------------------------------------------------------
## D. Bayesian Student-t model (brms)
## ---------------------------------------------------------------------------

cat("D. brms (compiling the Stan model takes a minute or two)\n")
## Priors. brms bounds sd and sigma below at 0, so normal(0, 2) on them is a
## half-normal. brms also bounds nu below at 1: the prior is Gamma(2, 0.1)
## truncated to nu > 1. The Python side uses the untruncated Gamma(2, 0.1);
## the truncation only changes a constant, so the two posteriors differ only by
## the posterior mass the untruncated model would put on nu < 1, which is
## negligible when nu is far above 1 (p_nu_below_1.5 below shows it).
brms_priors <- c(
  prior(normal(0, 5), class = b, coef = Intercept),
  prior(normal(0, 2.5), class = b, coef = x),
  prior(normal(0, 2), class = sd),
  prior(normal(0, 2), class = sigma),
  prior(gamma(2, 0.1), class = nu)
)
brms_seed <- 20240703L
## Debian's r-cran-bh is a virtual package without BH/include (Boost is in
## /usr/include), and rstan 2.21 stops with "Boost not found" unless it is
## told where Boost is.
if (!nzchar(system.file("include", package = "BH")) && dir.exists("/usr/include/boost")) {
  rstan::rstan_options(boost_lib = "/usr/include")
}
brms_formula <- bf(y ~ 0 + Intercept + x + (1 | g))
cap_b <- capture_fit(brm(brms_formula, data = sim_t, family = student(),
                         prior = brms_priors, chains = 4, iter = 6000, warmup = 1000,
                         seed = brms_seed, refresh = 0, cores = 1, backend = "rstan"))
bfit <- cap_b$fit
vars <- c("b_Intercept", "b_x", "sd_g__Intercept", "sigma", "nu")
draws <- as_draws_df(bfit)
sm <- summarise_draws(subset_draws(draws, variable = vars),
                      mean, sd, ~quantile2(.x, probs = c(0.05, 0.5, 0.95)),
                      mcse_mean, ess_bulk, ess_tail, rhat)
sm <- as.data.frame(sm)
np <- nuts_params(bfit)
div <- np[np$Parameter == "divergent__", ]
treedepth <- np[np$Parameter == "treedepth__", ]
n_div <- sum(div$Value)
n_div_chain <- as.integer(tapply(div$Value, div$Chain, sum))
if (n_div > 0) note_problem("brms_student", sprintf("%d divergent transitions", n_div))
if (max(sm$rhat) > 1.01) note_problem("brms_student", "R-hat > 1.01")
nu_draws <- as.numeric(draws$nu)
out$brms_student <- list(
  engine = "brms (rstan backend)",
  formula = "bf(y ~ 0 + Intercept + x + (1 | g))",
  family = "student(link = \"identity\"): y ~ student_t(nu, mu, sigma), mu = Intercept + b_x x + r_g",
  data = "families_sim_t.csv",
  priors = I(c("b_Intercept ~ normal(0, 5)", "b_x ~ normal(0, 2.5)",
               "sd_g__Intercept ~ normal(0, 2) truncated to > 0 (half-normal)",
               "sigma ~ normal(0, 2) truncated to > 0 (half-normal)",
               "nu ~ gamma(shape = 2, rate = 0.1) truncated to nu > 1 (brms's lower bound for nu)")),
  prior_summary = lapply(seq_len(nrow(prior_summary(bfit))), function(i) {
    p <- as.data.frame(prior_summary(bfit))[i, ]
    list(prior = p$prior, class = p$class, coef = p$coef, group = p$group, lb = p$lb, ub = p$ub)
  }),
  chains = 4L, iter = 6000L, warmup = 1000L, draws_per_chain = 5000L,
  seed = brms_seed, adapt_delta = 0.8, max_treedepth = 10L,
  summary = setNames(lapply(seq_len(nrow(sm)), function(i) list(
    mean = sm$mean[i], sd = sm$sd[i], q5 = sm$q5[i], q50 = sm$q50[i], q95 = sm$q95[i],
    mcse_mean = sm$mcse_mean[i], ess_bulk = sm$ess_bulk[i], ess_tail = sm$ess_tail[i],
    rhat = sm$rhat[i])), sm$variable),
  summary_functions = "posterior::summarise_draws(mean, sd, quantile2(probs = c(0.05, 0.5, 0.95)), mcse_mean, ess_bulk, ess_tail, rhat)",
  divergences = as.integer(n_div),
  divergences_per_chain = I(n_div_chain),
  max_treedepth_hits = as.integer(sum(treedepth$Value >= 10)),
  p_nu_below_1.5 = mean(nu_draws < 1.5),
  min_nu_draw = min(nu_draws),
  stancode = as.character(stancode(bfit)),
  warnings = I(cap_b$warnings),
  messages = I(cap_b$messages),
  seconds = cap_b$seconds
)

## ---------------------------------------------------------------------------
## E. Bayesian zero-inflated and hurdle count models (brms)
## ---------------------------------------------------------------------------

cat("E. brms zero-inflated / hurdle models (four Stan models, each compiled once)\n")
## Same data as case B (families_sim_zi.csv), same formula as case D, log link.
## brms's parameters:
##   zi = P(structural zero) (zero-inflated):  P(0) = zi + (1 - zi) f(0), P(k > 0) = (1 - zi) f(k)
##   hu = P(y = 0) (hurdle):                   P(0) = hu, P(k > 0) = (1 - hu) f(k) / (1 - f(0))
##   shape = NB size phi (neg_binomial_2):      Var = mu + mu^2 / shape, mu = exp(eta)
## with f the Poisson or NB2 pmf of the count part (for the hurdle models the
## untruncated parent, mu its mean). zi and hu are constants with a beta(1, 1)
## (uniform) prior on (0, 1). brms bounds sd and shape below at 0, so
## normal(0, 1) on sd is a half-normal(0, 1) and exponential(1) on shape is
## exactly Exponential(1).
brms_zi_cases <- list(
  brms_zip = list(family = zero_inflated_poisson(), fam_text = "zero_inflated_poisson(link = \"log\", link_zi = \"logit\")",
                  zpar = "zi", nb = FALSE),
  brms_zinb = list(family = zero_inflated_negbinomial(), fam_text = "zero_inflated_negbinomial(link = \"log\", link_shape = \"log\", link_zi = \"logit\")",
                   zpar = "zi", nb = TRUE),
  brms_hurdle_poisson = list(family = hurdle_poisson(), fam_text = "hurdle_poisson(link = \"log\", link_hu = \"logit\")",
                             zpar = "hu", nb = FALSE),
  brms_hurdle_nb = list(family = hurdle_negbinomial(), fam_text = "hurdle_negbinomial(link = \"log\", link_shape = \"log\", link_hu = \"logit\")",
                        zpar = "hu", nb = TRUE)
)
brms_zi_seed <- 20240704L
brms_zi_iter <- 3000L
brms_zi_warmup <- 1000L
zi_likelihood_text <- list(
  zi = "zero-inflated: P(y = 0) = zi + (1 - zi) f(0), P(y = k > 0) = (1 - zi) f(k); zi = probability of a structural zero",
  hu = "hurdle: P(y = 0) = hu, P(y = k > 0) = (1 - hu) f(k) / (1 - f(0)); hu = probability of a zero"
)
for (key in names(brms_zi_cases)) {
  cs <- brms_zi_cases[[key]]
  zpar <- cs$zpar
  ## prior() quotes its arguments, so build the zi / hu prior with prior_string().
  pri <- c(
    prior(normal(0, 2.5), class = b, coef = Intercept),
    prior(normal(0, 2.5), class = b, coef = x),
    prior(normal(0, 1), class = sd),
    prior_string("beta(1, 1)", class = zpar)
  )
  if (cs$nb) pri <- c(pri, prior(exponential(1), class = shape))
  cat(sprintf("  %s\n", key))
  cap <- capture_fit(brm(brms_formula, data = sim_zi, family = cs$family, prior = pri,
                         chains = 4, iter = brms_zi_iter, warmup = brms_zi_warmup,
                         seed = brms_zi_seed, refresh = 0, cores = 1, backend = "rstan"))
  fit <- cap$fit
  vars <- c("b_Intercept", "b_x", "sd_g__Intercept", zpar, if (cs$nb) "shape")
  dr <- as_draws_df(fit)
  s <- as.data.frame(summarise_draws(subset_draws(dr, variable = vars),
                                     mean, sd, ~quantile2(.x, probs = c(0.05, 0.5, 0.95)),
                                     mcse_mean, ess_bulk, ess_tail, rhat))
  np <- nuts_params(fit)
  dv <- np[np$Parameter == "divergent__", ]
  td <- np[np$Parameter == "treedepth__", ]
  nd <- sum(dv$Value)
  if (nd > 0) note_problem(key, sprintf("%d divergent transitions", nd))
  if (max(s$rhat) > 1.01) note_problem(key, "R-hat > 1.01")
  if (min(s$ess_bulk) < 400) note_problem(key, "ess_bulk < 400")
  if (length(cap$warnings)) note_problem(key, paste("warnings:", paste(cap$warnings, collapse = " | ")))
  ps <- as.data.frame(prior_summary(fit))
  el <- rstan::get_elapsed_time(fit$fit)
  out[[key]] <- list(
    engine = "brms (rstan backend)",
    formula = "bf(y ~ 0 + Intercept + x + (1 | g))",
    family = cs$fam_text,
    likelihood = zi_likelihood_text[[zpar]],
    count_part = if (cs$nb) "f = NB2 pmf dnbinom(k, size = shape, mu = mu), Var = mu + mu^2 / shape, mu = exp(Intercept + b_x x + r_g)" else
      "f = Poisson pmf dpois(k, mu), mu = exp(Intercept + b_x x + r_g)",
    data = "families_sim_zi.csv",
    priors = I(c("b_Intercept ~ normal(0, 2.5)", "b_x ~ normal(0, 2.5)",
                 "sd_g__Intercept ~ normal(0, 1) truncated to > 0 (half-normal)",
                 sprintf("%s ~ beta(1, 1) (uniform on (0, 1), constant: no predictors)", zpar),
                 if (cs$nb) "shape ~ exponential(1) (rate 1; lower bound 0)")),
    prior_summary = lapply(seq_len(nrow(ps)), function(i) {
      p <- ps[i, ]
      list(prior = p$prior, class = p$class, coef = p$coef, group = p$group, lb = p$lb, ub = p$ub,
           source = p$source)
    }),
    chains = 4L, iter = brms_zi_iter, warmup = brms_zi_warmup,
    draws_per_chain = brms_zi_iter - brms_zi_warmup,
    seed = brms_zi_seed, adapt_delta = 0.8, max_treedepth = 10L,
    summary = setNames(lapply(seq_len(nrow(s)), function(i) list(
      mean = s$mean[i], sd = s$sd[i], q5 = s$q5[i], q50 = s$q50[i], q95 = s$q95[i],
      mcse_mean = s$mcse_mean[i], ess_bulk = s$ess_bulk[i], ess_tail = s$ess_tail[i],
      rhat = s$rhat[i])), s$variable),
    summary_functions = "posterior::summarise_draws(mean, sd, quantile2(probs = c(0.05, 0.5, 0.95)), mcse_mean, ess_bulk, ess_tail, rhat)",
    divergences = as.integer(nd),
    divergences_per_chain = I(as.integer(tapply(dv$Value, dv$Chain, sum))),
    max_treedepth_hits = as.integer(sum(td$Value >= 10)),
    stancode = as.character(stancode(fit)),
    warnings = I(cap$warnings),
    messages = I(cap$messages),
    seconds = cap$seconds,
    sampling_seconds_per_chain = list(warmup = I(unname(el[, "warmup"])), sample = I(unname(el[, "sample"]))),
    compile_and_overhead_seconds = cap$seconds - sum(el)
  )
  if (zpar == "hu") {
    ## With a constant hu the hurdle likelihood factorises into a Bernoulli(hu)
    ## part for y = 0 and a part for y > 0 that does not involve hu, so with
    ## the beta(1, 1) prior hu's posterior is exactly Beta(1 + #zeros, 1 + #positives).
    a <- 1 + sum(sim_zi$y == 0)
    b <- 1 + sum(sim_zi$y > 0)
    out[[key]]$hu_exact_posterior <- list(
      distribution = sprintf("Beta(%d, %d) = Beta(1 + #zeros, 1 + #positives)", as.integer(a), as.integer(b)),
      shape1 = a, shape2 = b, mean = a / (a + b),
      sd = sqrt(a * b / ((a + b)^2 * (a + b + 1))),
      q5 = qbeta(0.05, a, b), q50 = qbeta(0.5, a, b), q95 = qbeta(0.95, a, b))
  }
}

## ---------------------------------------------------------------------------
## F. Bayesian ordinal (cumulative) mixed models (brms)
## ---------------------------------------------------------------------------

cat("F. brms cumulative logit / probit models on the wine data (two Stan models)\n")
## Same data and model as case C: rating (ordered 1..5) ~ temp + contact + (1 | judge),
## treatment contrasts (cold / no are the reference levels).
## brms's cumulative family: P(Y <= j) = F(disc * (Intercept_j - eta)), disc = 1,
## eta = b_tempwarm tempwarm + b_contactyes contactyes + r_judge, with F = plogis or
## pnorm: the same convention as clmm's alpha_j - x'beta - u_judge.
## Centring: by default brms fits the thresholds of the *centred* design
## (eta = (X - colMeans(X)) b) and reports b_Intercept = Intercept + colMeans(X) b, so the
## reported thresholds are on the uncentred scale but the Intercept prior applies
## to the centred ones. With bf(..., center = FALSE) brms uses the uncentred X
## (tempwarm, contactyes; the thresholds replace the intercept column), the
## ordered[4] parameter Intercept is the threshold vector alpha itself,
## b_Intercept = Intercept, and the normal(0, 5) prior applies to alpha_1..alpha_4
## directly (jointly: the product of the four normal densities restricted to
## alpha_1 < ... < alpha_4, brms's ordered type). The checks below confirm this
## from the Stan data and code, and from brms's log_lik against a hand-written
## likelihood.
brms_ord_cases <- list(
  brms_cumulative_logit = list(link = "logit", cdf = plogis, clmm_key = "wine_clmm_logit"),
  brms_cumulative_probit = list(link = "probit", cdf = pnorm, clmm_key = "wine_clmm_probit")
)
brms_ord_seed <- 20240705L
brms_ord_iter <- 3000L
brms_ord_warmup <- 1000L
brms_ord_formula <- bf(rating ~ temp + contact + (1 | judge), center = FALSE)
brms_ord_priors <- c(
  prior(normal(0, 5), class = b),
  prior(normal(0, 5), class = Intercept),
  prior(normal(0, 1), class = sd)
)
thr_names <- sprintf("b_Intercept[%d]", 1:4)
ord_vars <- c("b_tempwarm", "b_contactyes", thr_names, "sd_judge__Intercept")
for (key in names(brms_ord_cases)) {
  cs <- brms_ord_cases[[key]]
  cat(sprintf("  %s\n", key))
  cap <- capture_fit(brm(brms_ord_formula, data = wine_df, family = cumulative(link = cs$link),
                         prior = brms_ord_priors, chains = 4, iter = brms_ord_iter,
                         warmup = brms_ord_warmup, seed = brms_ord_seed, refresh = 0,
                         cores = 1, backend = "rstan"))
  fit <- cap$fit
  ## No centring: the design is the uncentred treatment coding, and the
  ## reported thresholds are the sampled (prior-bearing) ones.
  sdat <- standata(fit)
  X_expected <- cbind(tempwarm = as.numeric(wine_df$temp == "warm"),
                      contactyes = as.numeric(wine_df$contact == "yes"))
  stopifnot(identical(colnames(sdat$X), c("tempwarm", "contactyes")),
            max(abs(unname(sdat$X) - unname(X_expected))) == 0,
            sdat$nthres == 4, all(sdat$Y == as.integer(wine_df$rating)))
  code <- as.character(stancode(fit))
  stopifnot(!grepl("means_X", code, fixed = TRUE),
            grepl("b_Intercept = Intercept;", code, fixed = TRUE),
            grepl("lprior += normal_lpdf(Intercept | 0, 5);", code, fixed = TRUE))
  dr <- as_draws_df(fit)
  s <- as.data.frame(summarise_draws(subset_draws(dr, variable = ord_vars),
                                     mean, sd, ~quantile2(.x, probs = c(0.05, 0.5, 0.95)),
                                     mcse_mean, ess_bulk, ess_tail, rhat))
  stopifnot(identical(s$variable, ord_vars))
  ## Likelihood check on the first 5 draws: brms's log_lik equals
  ## log(F(alpha_y - eta) - F(alpha_{y-1} - eta)) with alpha_0 = -Inf, alpha_5 = Inf,
  ## eta = X b + r_judge (the uncentred design).
  ll_brms <- log_lik(fit, draw_ids = 1:5)
  dm <- unclass(as_draws_matrix(dr))[1:5, , drop = FALSE]
  r_names <- sprintf("r_judge[%s,Intercept]", levels(wine_df$judge))
  y <- as.integer(wine_df$rating)
  ll_hand <- t(sapply(1:5, function(d) {
    eta <- drop(X_expected %*% as.numeric(dm[d, c("b_tempwarm", "b_contactyes")])) +
      as.numeric(dm[d, r_names])[as.integer(wine_df$judge)]
    a <- c(-Inf, as.numeric(dm[d, thr_names]), Inf)
    log(cs$cdf(a[y + 1] - eta) - cs$cdf(a[y] - eta))
  }))
  ll_diff <- max(abs(ll_brms - ll_hand))
  stopifnot(ll_diff < 1e-8)
  np <- nuts_params(fit)
  dv <- np[np$Parameter == "divergent__", ]
  td <- np[np$Parameter == "treedepth__", ]
  nd <- sum(dv$Value)
  if (nd > 0) note_problem(key, sprintf("%d divergent transitions", nd))
  if (max(s$rhat) > 1.01) note_problem(key, "R-hat > 1.01")
  if (min(s$ess_bulk) < 400) note_problem(key, "ess_bulk < 400")
  if (length(cap$warnings)) note_problem(key, paste("warnings:", paste(cap$warnings, collapse = " | ")))
  ## Posterior means and medians against clmm's ML estimates (case C, Laplace).
  cl <- out[[cs$clmm_key]]
  ml <- c(unlist(cl$beta), unlist(cl$alpha), judge_sd = cl$judge_sd)
  cmp <- data.frame(variable = ord_vars, clmm_name = names(ml), clmm = unname(ml),
                    posterior_mean = as.numeric(s$mean), posterior_median = as.numeric(s$q50))
  cmp$mean_minus_clmm <- cmp$posterior_mean - cmp$clmm
  fixed_rows <- cmp$variable != "sd_judge__Intercept"
  ps <- as.data.frame(prior_summary(fit))
  el <- rstan::get_elapsed_time(fit$fit)
  out[[key]] <- list(
    engine = "brms (rstan backend)",
    formula = "bf(rating ~ temp + contact + (1 | judge), center = FALSE)",
    family = sprintf("cumulative(link = \"%s\", threshold = \"flexible\"), disc = 1", cs$link),
    likelihood = sprintf("P(rating <= j) = %s(Intercept_j - eta), j = 1..4; eta = b_tempwarm tempwarm + b_contactyes contactyes + r_judge; r_judge ~ N(0, sd_judge__Intercept^2). Same convention as clmm (alpha_j - x'beta - u).",
                         if (cs$link == "logit") "plogis" else "pnorm"),
    data = "families_wine.csv",
    response = "rating as an ordered factor with levels 1..5",
    design = "uncentred treatment coding: tempwarm = 1 if temp == warm (cold reference), contactyes = 1 if contact == yes (no reference); no intercept column",
    centring = "center = FALSE: brms samples the thresholds of the uncentred design, b_Intercept[j] = Intercept[j] (no means_X shift), and the Intercept prior applies to these thresholds; checked from standata() and stancode()",
    priors = I(c("b_tempwarm, b_contactyes ~ normal(0, 5)",
                 "b_Intercept[1..4] ~ normal(0, 5) each, on the uncentred thresholds, restricted to b_Intercept[1] < ... < b_Intercept[4] (Stan ordered vector)",
                 "sd_judge__Intercept ~ normal(0, 1) truncated to > 0 (half-normal)")),
    prior_summary = lapply(seq_len(nrow(ps)), function(i) {
      p <- ps[i, ]
      list(prior = p$prior, class = p$class, coef = p$coef, group = p$group, lb = p$lb, ub = p$ub,
           source = p$source)
    }),
    chains = 4L, iter = brms_ord_iter, warmup = brms_ord_warmup,
    draws_per_chain = brms_ord_iter - brms_ord_warmup,
    seed = brms_ord_seed, adapt_delta = 0.8, max_treedepth = 10L,
    summary = setNames(lapply(seq_len(nrow(s)), function(i) list(
      mean = s$mean[i], sd = s$sd[i], q5 = s$q5[i], q50 = s$q50[i], q95 = s$q95[i],
      mcse_mean = s$mcse_mean[i], ess_bulk = s$ess_bulk[i], ess_tail = s$ess_tail[i],
      rhat = s$rhat[i])), s$variable),
    summary_functions = "posterior::summarise_draws(mean, sd, quantile2(probs = c(0.05, 0.5, 0.95)), mcse_mean, ess_bulk, ess_tail, rhat)",
    clmm_comparison = list(
      clmm_key = cs$clmm_key,
      variables = I(cmp$variable), clmm_names = I(cmp$clmm_name), clmm = I(cmp$clmm),
      posterior_mean = I(cmp$posterior_mean), posterior_median = I(cmp$posterior_median),
      mean_minus_clmm = I(cmp$mean_minus_clmm),
      max_abs_diff_thresholds_and_beta = max(abs(cmp$mean_minus_clmm[fixed_rows]))),
    log_lik_check = list(
      what = "max |brms log_lik - log(F(alpha_y - eta) - F(alpha_{y-1} - eta))| over the first 5 draws and all 72 rows, eta = uncentred X b + r_judge",
      max_abs_diff = ll_diff),
    divergences = as.integer(nd),
    divergences_per_chain = I(as.integer(tapply(dv$Value, dv$Chain, sum))),
    max_treedepth_hits = as.integer(sum(td$Value >= 10)),
    stancode = code,
    warnings = I(cap$warnings),
    messages = I(cap$messages),
    seconds = cap$seconds,
    sampling_seconds_per_chain = list(warmup = I(unname(el[, "warmup"])), sample = I(unname(el[, "sample"]))),
    compile_and_overhead_seconds = cap$seconds - sum(el)
  )
}

## ---------------------------------------------------------------------------
## Notes, problems, write
## ---------------------------------------------------------------------------

out$convergence_problems <- I(problems)
out$notes <- I(c(
  "glmmTMB fits use its defaults (ML, nlminb, Laplace approximation via TMB); se_fixef = sqrt(diag(vcov(fit)$cond)); vcov is row-major in the order vcov_names.",
  "Grouping factors have levels in C (code point) order: g01..g25, Subject 308..372 numerically, judge 1..9.",
  "t_family: y = mu + sigma * T_df with sigma = sigma(fit) = exp(betad) a scale, not the SD. df_t = family_params(fit)[['Student-t df']] = exp(psi); log_df_t / se_log_df_t are psi and its sdreport SE. vcov(fit, full = TRUE) labels the psi row 'Student-t df' but it is on the log scale. t_parameterisation_check verifies the density against dt() on a fit without random effects.",
  "varcorr[group]: terms, sd (named), correlation (k x k, list of rows, order of terms).",
  "ranef[group]: levels, columns, modes (conditional modes, one list per column).",
  "internal_parameters: every fixed parameter on TMB's internal scale (beta, betazi, betad = log sigma, theta = log SDs and correlation parameters, psi = log df) with its sdreport SE, in sdreport order.",
  "Zero-inflated families (zip, zinb): P(y = 0) = p + (1 - p) f(0), P(y = k > 0) = (1 - p) f(k), p = plogis(zi intercept). Hurdle families (truncated_poisson, truncated_nbinom2 with ziformula): P(y = 0) = p, P(y = k > 0) = (1 - p) f(k) / (1 - f(0)). zi_fixef / zi_se are on the logit scale; zi_prob = plogis(zi_fixef).",
  "nbinom2 / truncated_nbinom2: sigma = theta (NB size) of the untruncated NB2, Var = mu + mu^2 / theta, mu = exp(eta) the untruncated mean. zi_parameterisation_check verifies all four likelihoods and the response mean against hand-written sums on fits without random effects.",
  "predict_first5: rows 1..5 of families_sim_zi.csv, with random effects at their conditional modes (re.form = NULL, the default). response = E[y] = (1 - p) mu (zero-inflated) or (1 - p) mu / (1 - f(0)) (hurdle); zprob = p; conditional = mu = exp(eta); link = eta.",
  "clmm: logit P(Y <= j) = alpha_j - x'beta - u_judge (probit: Phi^-1). So a positive beta or u raises the ratings. alpha = thresholds ('1|2', ...), beta = tempwarm, contactyes (treatment contrasts, cold / no as reference). judge_sd = fit$ST$judge (= attr(VarCorr(fit)$judge, 'stddev')). clmm optimises log(judge_sd); se_log_judge_sd is from vcov's 'ST1' row, which is on that log scale. se_* = sqrt(diag(vcov(fit))).",
  "clmm ranef: modes = ranef(fit)$judge (conditional modes), condvar = condVar(fit)$judge. nAGQ = 1 is the Laplace approximation; wine_clmm_logit_agq10 uses nAGQ = 10, clmm's adaptive Gauss-Hermite quadrature.",
  "brms_student: summary by posterior::summarise_draws over 4 x 5000 post-warmup draws. p_nu_below_1.5 is the share of draws of nu below 1.5, showing that brms's lower bound nu > 1 (truncation of the Gamma(2, 0.1) prior) is immaterial. stancode is the Stan program brms generated.",
  "brms_zip, brms_zinb, brms_hurdle_poisson, brms_hurdle_nb: bf(y ~ 0 + Intercept + x + (1 | g)) on families_sim_zi.csv, log link, 4 x 2000 post-warmup draws. zi = P(structural zero): P(0) = zi + (1 - zi) f(0), P(k > 0) = (1 - zi) f(k). hu = P(y = 0): P(0) = hu, P(k > 0) = (1 - hu) f(k) / (1 - f(0)). f = dpois(k, mu) or dnbinom(k, size = shape, mu = mu), mu = exp(eta) (for the hurdle models the mean of the untruncated parent). shape = NB size, Var = mu + mu^2 / shape. Priors: normal(0, 2.5) on b_Intercept and b_x, half-normal(0, 1) on sd_g__Intercept, beta(1, 1) on zi / hu, exponential(1) on shape. brms's zi / hu are probabilities, glmmTMB's zi_fixef (case B) is on the logit scale.",
  "brms_hurdle_poisson / brms_hurdle_nb: hu_exact_posterior is the exact posterior of hu, Beta(1 + #zeros, 1 + #positives), because the hurdle likelihood with a constant hu factorises; the MCMC summary of hu should match it within its MCSE.",
  "brms_cumulative_logit, brms_cumulative_probit: bf(rating ~ temp + contact + (1 | judge), center = FALSE), cumulative(link = logit / probit) on families_wine.csv, 4 x 2000 post-warmup draws. P(rating <= j) = F(b_Intercept[j] - eta), eta = b_tempwarm tempwarm + b_contactyes contactyes + r_judge (uncentred treatment coding), as clmm's alpha_j - x'beta - u. center = FALSE makes the sampled thresholds those of the uncentred design, so b_Intercept[j] are comparable with clmm's alpha and the normal(0, 5) Intercept prior applies to them (restricted to increasing order). Priors: normal(0, 5) on b_tempwarm, b_contactyes and each threshold, half-normal(0, 1) on sd_judge__Intercept. clmm_comparison lists posterior mean - clmm estimate; log_lik_check verifies brms's log_lik against the hand-written likelihood.",
  "convergence_problems lists every fit that did not converge cleanly (pdHess FALSE, optimizer code not 0, warnings, divergences, R-hat > 1.01, and for cases E and F ess_bulk < 400); empty means none.",
  "seconds: wall time of each fit on the machine that made the file."
))
out$total_seconds <- proc.time()[["elapsed"]] - t_start

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE,
                  na = "null", null = "null"), out_file)

## ---------------------------------------------------------------------------
## Print a summary.
## ---------------------------------------------------------------------------
fmt <- function(l) paste(sprintf("%s=%.6f", names(l), unlist(l)), collapse = "  ")
cat(sprintf("\n%s; glmmTMB %s, TMB %s, ordinal %s, brms %s, rstan %s\n", out$R_version,
            out$glmmTMB_version, out$TMB_version, out$ordinal_version, out$brms_version,
            out$rstan_version))
for (nm in c("sleep_t", "sim_t", names(zi_families))) {
  f <- out[[nm]]
  cat(sprintf("\n== %s  %s  [%s]\n", nm, f$formula, f$family$family))
  cat("fixef: ", fmt(f$fixef), "\n")
  cat("se:    ", fmt(f$se_fixef), "\n")
  for (g in names(f$varcorr)) cat(sprintf("sd %s: %s\n", g, fmt(f$varcorr[[g]]$sd)),
                                  if (length(f$varcorr[[g]]$sd) > 1) sprintf("  cor %.6f\n", f$varcorr[[g]]$correlation[[1]][[2]]))
  cat(sprintf("sigma %.6f%s\n", f$sigma, if (is.null(f$df_t)) "" else sprintf("  df %.6f", f$df_t)))
  if (!is.null(f$zi_fixef)) cat(sprintf("zi %.6f (se %.6f)  p %.6f\n", f$zi_fixef[[1]], f$zi_se[[1]], f$zi_prob[[1]]))
  cat(sprintf("logLik %.6f  df %d  AIC %.4f  nobs %d  pdHess %s  conv %d (%s)\n", f$logLik, f$df, f$AIC,
              f$nobs, f$pdHess, f$optimizer_convergence, f$optimizer_message))
  if (!is.null(f$predict_first5)) {
    cat("response[1:5]:", sprintf("%.6f", unlist(f$predict_first5$response)), "\n")
    cat("zprob[1:5]:   ", sprintf("%.6f", unlist(f$predict_first5$zprob)), "\n")
  }
}
for (nm in c("wine_clmm_logit", "wine_clmm_probit", "wine_clmm_logit_agq10")) {
  f <- out[[nm]]
  cat(sprintf("\n== %s  %s  [%s, nAGQ %d]\n", nm, f$formula, f$link, f$nAGQ))
  cat("alpha: ", fmt(f$alpha), "\n")
  cat("beta:  ", fmt(f$beta), "\n")
  cat("se:    ", fmt(c(f$se_alpha, f$se_beta)), "\n")
  cat(sprintf("judge sd %.6f  logLik %.6f  AIC %.4f  nobs %d  conv %d (%s)\n", f$judge_sd, f$logLik, f$AIC,
              f$nobs, f$optimizer_convergence, f$optimizer_message))
}
cat("\n== brms_student\n")
print(format(sm, digits = 5), row.names = FALSE)
cat(sprintf("divergences %d  P(nu < 1.5) %.6f  min nu %.4f\n", n_div, out$brms_student$p_nu_below_1.5,
            out$brms_student$min_nu_draw))
for (key in c(names(brms_zi_cases), names(brms_ord_cases))) {
  f <- out[[key]]
  cat(sprintf("\n== %s  [%s]\n", key, f$family))
  s <- do.call(rbind, lapply(names(f$summary), function(v) data.frame(variable = v, f$summary[[v]])))
  print(format(s, digits = 5), row.names = FALSE, width = 160)
  if (!is.null(f$hu_exact_posterior)) with(f$hu_exact_posterior, cat(sprintf(
    "exact hu posterior %s: mean %.6f sd %.6f q5 %.6f q50 %.6f q95 %.6f\n", distribution, mean, sd, q5, q50, q95)))
  cat(sprintf("divergences %d  treedepth hits %d  %.1f s (sampling %.1f s)\n", f$divergences,
              f$max_treedepth_hits, f$seconds, f$seconds - f$compile_and_overhead_seconds))
}
for (key in names(brms_ord_cases)) {
  cm <- out[[key]]$clmm_comparison
  cat(sprintf("\n%s vs %s (posterior mean - clmm):\n", key, cm$clmm_key))
  print(format(data.frame(variable = cm$variables, clmm = cm$clmm, mean = cm$posterior_mean,
                          median = cm$posterior_median, diff = cm$mean_minus_clmm), digits = 5),
        row.names = FALSE)
  cat(sprintf("log_lik check max |diff| %.3g\n", out[[key]]$log_lik_check$max_abs_diff))
}
cat("\nconvergence problems:", if (length(problems)) paste(problems, collapse = "\n") else "none", "\n")
cat(sprintf("total %.1f s\nwrote %s\n", out$total_seconds, out_file))
