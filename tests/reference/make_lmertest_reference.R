#!/usr/bin/env Rscript
## Produce lmerTest / pbkrtest / lme4 *inference* reference values for
## hierarch's frequentist LMM / GLMM tests: Satterthwaite and Kenward-Roger
## t- and F-tests, contrasts, profile / Wald / bootstrap intervals,
## predictions, simulation moments, likelihood-ratio model comparisons
## (including chi-bar-square boundary p-values and a parametric bootstrap).
##
## Run from the repository root:
##     Rscript tests/reference/make_lmertest_reference.R
##
## Reads sleepstudy.csv, pigs.csv, penicillin.csv, pastes.csv and cbpp.csv
## from ../shared/data (relative to the repository root). Simulates two data
## sets (the seed-757 data of seed document 004, and an unbalanced random-slope
## design), writes them to tests/reference/lmertest_sim_*.csv, reads them back
## and fits exactly the values in the files. Writes
## tests/reference/lmertest.json.
## Needs R with lme4, lmerTest, pbkrtest and jsonlite
## (Debian: r-base-core r-cran-lme4 r-cran-lmertest r-cran-pbkrtest r-cran-jsonlite).
## The Python test suite only reads the JSON and CSV files; it never needs R.
## The run takes about a minute (the bootstraps dominate).

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)   # masks lme4::lmer with lmerTest::lmer
  library(pbkrtest)
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
out_file <- file.path(ref_dir, "lmertest.json")

## Grouping columns become factors whose levels are sorted in C (byte /
## code point) order, independent of the locale: numeric ids sort
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
num_or_null <- function(x) if (length(x) == 0 || is.na(x)) NULL else as.numeric(x)

## Evaluate an expression, recording (and muffling) its warnings and messages
## so that they can be stored in the JSON.
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

## Fit at top level, with the data referred to by name in the stored call, so
## that update() / refits inside lme4, lmerTest and pbkrtest find the data.
## The formula is parsed in the global environment for the same reason.
fit_lmer <- function(formula_text, data_name, REML = TRUE, fun = quote(lmerTest::lmer)) {
  cl <- bquote(.(fun)(.(str2lang(formula_text)), data = .(as.name(data_name)), REML = .(REML)))
  capture(eval(cl, globalenv()))
}

## ---------------------------------------------------------------------------
## Data from ../shared/data
## ---------------------------------------------------------------------------

sleepstudy <- read_data(file.path(data_dir, "sleepstudy.csv"))
sleepstudy$Subject <- as_group(sleepstudy$Subject)

pigs <- read_data(file.path(data_dir, "pigs.csv"))
pigs$id <- as_group(pigs$id)

penicillin <- read_data(file.path(data_dir, "penicillin.csv"))
penicillin$plate <- as_group(penicillin$plate)
penicillin$sample <- as_group(penicillin$sample)

pastes <- read_data(file.path(data_dir, "pastes.csv"))
pastes$batch <- as_group(pastes$batch)
pastes$cask <- as_group(pastes$cask)
pastes$sample <- as_group(pastes$sample)  # batch:cask labels such as "A:a"; not used in the fit

cbpp <- read_data(file.path(data_dir, "cbpp.csv"))
cbpp$herd <- as_group(cbpp$herd)
cbpp$period <- as_group(cbpp$period)

## ---------------------------------------------------------------------------
## Simulated data: generated here, written to CSV, then read back so that R
## fits exactly the numbers that the Python tests read.
## ---------------------------------------------------------------------------

simulations <- list()
write_sim <- function(key, df, file, params) {
  path <- file.path(ref_dir, file)
  write.csv(df, path, row.names = FALSE, quote = FALSE)
  simulations[[key]] <<- c(list(file = file, nrow = nrow(df), columns = I(names(df))), params)
  read_data(path)
}

## Seed document 004 ("Random & Mixed Effects in Linear Models"), verbatim
## apart from the CSV round trip. X and Y are written with 17 significant
## digits ("%.17g"), which round-trips doubles exactly, so the fit reproduces
## the document's numbers (REML criterion 1200.681 etc.).
seed004 <- local({
  set.seed(757)
  Ngroups = 7; N = 20 # per group
  b0 = 50 # fixed, not random, intercept
  mean.b1 = 2.5 # random slope
  sd.b1 = 1
  b1 = sort(rnorm(Ngroups, mean.b1, sd.b1))
  X = runif(N * Ngroups, 1, 100)
  Y = rnorm(length(X), b0 + rep(b1, each = N) * X, sd = 16)
  df <- data.frame(Group = rep(1:Ngroups, each = N),
                   X = sprintf("%.17g", X), Y = sprintf("%.17g", Y))
  back <- write_sim("seed004", df, "lmertest_sim_seed004.csv",
    list(seed = 757L, n_groups = Ngroups, rows_per_group = N,
         truth = list(b0 = b0, mean_b1 = mean.b1, sd_b1 = sd.b1, b1 = I(b1), sigma = 16),
         design = paste("seed document 004: set.seed(757); Ngroups = 7; N = 20; b1 = sort(rnorm(Ngroups, 2.5, 1));",
                        "X = runif(N * Ngroups, 1, 100); Y = rnorm(length(X), 50 + rep(b1, each = N) * X, sd = 16);",
                        "Group = rep(1:Ngroups, each = N). No random intercept in the truth: only the slope varies by group.",
                        "X, Y written with 17 significant digits (exact doubles).")))
  stopifnot(identical(back$X, X), identical(back$Y, Y))
  back
})
seed004$Group <- as_group(seed004$Group)

## Correlated (b0, b1) per group: rows of Z %*% chol(Sigma), Z standard normal.
correlated_effects <- function(n_groups, sd0, sd1, rho) {
  Sigma <- matrix(c(sd0^2, rho * sd0 * sd1, rho * sd0 * sd1, sd1^2), 2)
  matrix(rnorm(2 * n_groups), n_groups, 2) %*% chol(Sigma)
}

## Unbalanced random-slope design with a 3-level factor. Seeds 20240701 and
## 20240702 gave non-singular fits whose profile of the correlation was
## non-monotonic (lme4 warnings, spline fallback); 20240703 gave a singular fit
## (correlation 1). 20240704 is the first seed with a clean fit and profile.
unbalanced <- local({
  seed <- 20240704L
  set.seed(seed)
  G <- 30L
  n_g <- sample(3:20, G, replace = TRUE)
  g <- rep(seq_len(G), n_g)
  N <- length(g)
  x <- round(rnorm(N), 6)
  f <- sample(c("a", "b", "c"), N, replace = TRUE)
  b <- correlated_effects(G, 1.0, 0.5, 0.4)
  beta <- c("(Intercept)" = 1.0, x = 0.5, fb = 0.3, fc = -0.4)
  eta <- beta[1] + beta[2] * x + beta[3] * (f == "b") + beta[4] * (f == "c") + b[g, 1] + b[g, 2] * x
  y <- signif(eta + rnorm(N, 0, 1), 12)
  write_sim("unbalanced_slopes", data.frame(g = g, x = x, f = f, y = y),
            "lmertest_sim_unbalanced.csv",
            list(seed = seed,
                 seed_note = "seeds 20240701 and 20240702: non-monotonic profile of the correlation (lme4 warnings); 20240703: singular fit; 20240704 is the first clean one",
                 n_groups = G, group_sizes = I(n_g),
                 truth = list(fixef = as.list(beta),
                              sd = list("(Intercept)" = 1.0, x = 0.5), cor = 0.4, sigma = 1.0),
                 design = paste("g = 1..30 with sample(3:20, 30, replace = TRUE) rows each; x ~ N(0,1) rounded to 6 decimals;",
                                "f = sample(c('a','b','c'), N, replace = TRUE); (b0, b1) per group = rnorm(2G) rows %*% chol(Sigma);",
                                "y = 1 + 0.5 x + 0.3 [f=b] - 0.4 [f=c] + b0[g] + b1[g] x + N(0,1), rounded to 12 significant digits.")))
})
unbalanced$g <- as_group(unbalanced$g)
unbalanced$f <- as_group(unbalanced$f)

## ---------------------------------------------------------------------------
## Record builders
## ---------------------------------------------------------------------------

coef_records <- function(cf) {
  cf <- as.data.frame(cf)
  lapply(seq_len(nrow(cf)), function(i) list(
    term = rownames(cf)[i],
    estimate = cf[i, "Estimate"],
    se = cf[i, "Std. Error"],
    df = cf[i, "df"],
    t = cf[i, "t value"],
    p = cf[i, "Pr(>|t|)"]
  ))
}

ftable_records <- function(a, with_term = TRUE) {
  a <- as.data.frame(a)
  lapply(seq_len(nrow(a)), function(i) {
    r <- list(
      sum_sq = a[i, "Sum Sq"],
      mean_sq = a[i, "Mean Sq"],
      num_df = a[i, "NumDF"],
      den_df = a[i, "DenDF"],
      F = a[i, "F value"],
      p = a[i, "Pr(>F)"]
    )
    if (with_term) c(list(term = rownames(a)[i]), r) else r
  })
}

confint_records <- function(ci) {
  lapply(seq_len(nrow(ci)), function(i) list(
    parm = rownames(ci)[i],
    lower = num_or_null(ci[i, 1]),
    upper = num_or_null(ci[i, 2])
  ))
}

varcorr_records <- function(fit) {
  vc <- as.data.frame(VarCorr(fit), order = "cov.last")
  lapply(seq_len(nrow(vc)), function(i) list(
    grp = vc$grp[i],
    var1 = if (is.na(vc$var1[i])) NULL else vc$var1[i],
    var2 = if (is.na(vc$var2[i])) NULL else vc$var2[i],
    vcov = vc$vcov[i],
    sdcor = vc$sdcor[i]
  ))
}

## lme4's anova(<merMod>, <merMod>, ...) table. Row names are the names of the
## objects in the call (m0, m1, m2 here).
anova_model_records <- function(a) {
  a <- as.data.frame(a)
  lapply(seq_len(nrow(a)), function(i) list(
    model = rownames(a)[i],
    npar = a[i, "npar"],
    AIC = a[i, "AIC"],
    BIC = a[i, "BIC"],
    logLik = a[i, "logLik"],
    deviance = a[i, "deviance"],
    Chisq = num_or_null(a[i, "Chisq"]),
    Df = num_or_null(a[i, "Df"]),
    p = num_or_null(a[i, "Pr(>Chisq)"])
  ))
}

## Median elapsed time (seconds) of `reps` evaluations of expr.
time_it <- function(expr_fun, reps = 3) {
  t <- vapply(seq_len(reps), function(i) system.time(expr_fun())[["elapsed"]], numeric(1))
  list(runs = I(t), median_elapsed_s = median(t))
}

## ---------------------------------------------------------------------------
## Linear mixed models
## ---------------------------------------------------------------------------

lmm_spec <- list(
  sleepstudy = list(formula = "Reaction ~ Days + (Days | Subject)", data_name = "sleepstudy",
                    file = "sleepstudy.csv",
                    L = list(slope = matrix(c(0, 1), 1)),
                    newdata = data.frame(Subject = c("308", "309", "new"), Days = c(2.5, 9, 4)),
                    simulate = TRUE, boot = TRUE),
  pigs = list(formula = "weight ~ week + (week | id)", data_name = "pigs", file = "pigs.csv",
              L = list(slope = matrix(c(0, 1), 1)),
              newdata = data.frame(id = c("1", "2", "new"), week = c(2.5, 9, 4))),
  penicillin = list(formula = "diameter ~ 1 + (1 | plate) + (1 | sample)", data_name = "penicillin",
                    file = "penicillin.csv"),
  pastes = list(formula = "strength ~ 1 + (1 | batch/cask)", data_name = "pastes", file = "pastes.csv"),
  seed004_slopes = list(formula = "Y ~ X + (X | Group)", data_name = "seed004",
                        file = "lmertest_sim_seed004.csv",
                        L = list(slope = matrix(c(0, 1), 1))),
  seed004_nocorr = list(formula = "Y ~ X + (X - 1 | Group)", data_name = "seed004",
                        file = "lmertest_sim_seed004.csv",
                        L = list(slope = matrix(c(0, 1), 1))),
  unbalanced_slopes = list(formula = "y ~ x + f + (x | g)", data_name = "unbalanced",
                           file = "lmertest_sim_unbalanced.csv",
                           L = list(slope = matrix(c(0, 1, 0, 0), 1),
                                    f_joint = matrix(c(0, 0, 1, 0,
                                                       0, 0, 0, 1), 2, byrow = TRUE)),
                           newdata = data.frame(g = c("1", "2", "new"), x = c(0.5, -1, 0.25),
                                                f = c("a", "b", "c")))
)

## Exact moments of simulate(fit, use.u = FALSE) for an LMM:
## y = X beta + Z Lambda u + e, u ~ N(0, sigma^2 I), e ~ N(0, sigma^2 I), so
## E y = X beta and Var y_i = sigma^2 (rowSums((Z Lambda)^2)_i + 1).
lmm_exact_moments <- function(fit) {
  X <- getME(fit, "X")
  ZL <- Matrix::t(getME(fit, "Zt")) %*% getME(fit, "Lambda")
  list(mean = as.numeric(X %*% fixef(fit)),
       var = as.numeric(sigma(fit)^2 * (Matrix::rowSums(ZL^2) + 1)))
}

summarise_lmm <- function(key, s) {
  cap <- fit_lmer(s$formula, s$data_name, REML = TRUE)
  fit <- cap$value
  stopifnot(inherits(fit, "lmerModLmerTest"))
  fe <- fixef(fit)
  V <- as.matrix(vcov(fit))
  ml <- refitML(fit)
  res <- list(
    formula = s$formula,
    data = s$file,
    REML = TRUE,
    nobs = nobs(fit),
    ngrps = as.list(setNames(as.integer(ngrps(fit)), names(ngrps(fit)))),
    isSingular = isSingular(fit),
    convergence_messages = I(c(fit@optinfo$conv$lme4$messages, cap$warnings)),
    messages = I(cap$messages),
    fixef = named_list(fe),
    coef_satterthwaite = coef_records(summary(fit, ddf = "Satterthwaite")$coefficients),
    coef_kenward_roger = coef_records(summary(fit, ddf = "Kenward-Roger")$coefficients),
    anova_satterthwaite = ftable_records(anova(fit, type = 3, ddf = "Satterthwaite")),
    anova_kenward_roger = ftable_records(anova(fit, type = 3, ddf = "Kenward-Roger"))
  )
  if (!is.null(s$L)) {
    res$contrast <- lapply(names(s$L), function(nm) {
      L <- s$L[[nm]]
      colnames(L) <- names(fe)
      kr <- pbkrtest::KRmodcomp(fit, L)
      list(
        name = nm,
        L = rows_of(L),
        L_columns = I(names(fe)),
        satterthwaite = ftable_records(contest(fit, L, ddf = "Satterthwaite"), with_term = FALSE)[[1]],
        kenward_roger = ftable_records(contest(fit, L, ddf = "Kenward-Roger"), with_term = FALSE)[[1]],
        pbkrtest_KRmodcomp = lapply(c(Ftest = "Ftest", FtestU = "FtestU"), function(r) list(
          stat = kr$test[r, "stat"], ndf = kr$test[r, "ndf"], ddf = kr$test[r, "ddf"],
          F_scaling = num_or_null(kr$test[r, "F.scaling"]), p = kr$test[r, "p.value"]))
      )
    })
    names(res$contrast) <- names(s$L)
  }
  prof <- capture(confint(fit, method = "profile", oldNames = FALSE))
  res$confint_profile <- confint_records(prof$value)
  res$confint_profile_warnings <- I(prof$warnings)
  res$confint_wald <- confint_records(confint(fit, method = "Wald", oldNames = FALSE))
  res$varcorr <- varcorr_records(fit)
  res$sigma <- sigma(fit)
  res$REMLcrit <- REMLcrit(fit)
  res$logLik <- as.numeric(logLik(fit))
  res$logLik_ml <- as.numeric(logLik(ml))
  res$theta <- named_list(getME(fit, "theta"))
  res$theta_ml <- named_list(getME(ml, "theta"))
  res$fixef_ml <- named_list(fixef(ml))
  res$vcov_names <- I(names(fe))
  res$vcov <- rows_of(V)
  if (!is.null(s$newdata)) {
    nd <- s$newdata
    res$predict <- list(
      conditional = as.numeric(predict(fit)),
      population = as.numeric(predict(fit, re.form = NA)),
      newdata = lapply(seq_len(nrow(nd)), function(i) as.list(nd[i, , drop = FALSE])),
      newdata_conditional = as.numeric(predict(fit, newdata = nd, allow.new.levels = TRUE)),
      newdata_population = as.numeric(predict(fit, newdata = nd, re.form = NA))
    )
  }
  if (isTRUE(s$simulate)) {
    sims <- as.matrix(simulate(fit, nsim = 2000, seed = 101))
    ex <- lmm_exact_moments(fit)
    res$simulate_moments <- list(
      nsim = 2000L, seed = 101L, use.u = FALSE,
      mean = as.numeric(rowMeans(sims)),
      var = as.numeric(apply(sims, 1, var)),
      exact_mean = ex$mean,
      exact_var = ex$var
    )
  }
  if (isTRUE(s$boot)) {
    t0 <- proc.time()[["elapsed"]]
    bt <- capture(confint(fit, method = "boot", nsim = 500, seed = 2024,
                          boot.type = "perc", oldNames = FALSE))
    res$confint_boot <- list(
      nsim = 500L, seed = 2024L, boot.type = "perc", level = 0.95,
      records = confint_records(bt$value),
      warnings = I(bt$warnings),
      elapsed_s = proc.time()[["elapsed"]] - t0
    )
  }
  list(summary = res, fit = fit)
}

lmm <- list()
lmm_fits <- list()
for (key in names(lmm_spec)) {
  r <- summarise_lmm(key, lmm_spec[[key]])
  lmm[[key]] <- r$summary
  lmm_fits[[key]] <- r$fit
}
stopifnot(!lmm$unbalanced_slopes$isSingular,
          length(lmm$unbalanced_slopes$confint_profile_warnings) == 0)

## ---------------------------------------------------------------------------
## Model comparisons (lme4's anova: REML fits are refitted by ML)
## ---------------------------------------------------------------------------

model_info <- function(fits) {
  lapply(names(fits), function(nm) list(
    name = nm,
    formula = paste(deparse(formula(fits[[nm]]), width.cutoff = 500L), collapse = " "),
    REML_fit = isREML(fits[[nm]]),
    logLik_ml = as.numeric(logLik(if (isREML(fits[[nm]])) refitML(fits[[nm]]) else fits[[nm]]))
  ))
}

## lme4 fits (class lmerMod), so that anova() is lme4's anova.merMod.
m0 <- fit_lmer("Reaction ~ Days + (1 | Subject)", "sleepstudy", fun = quote(lme4::lmer))$value
m1 <- fit_lmer("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", "sleepstudy", fun = quote(lme4::lmer))$value
m2 <- fit_lmer("Reaction ~ Days + (Days | Subject)", "sleepstudy", fun = quote(lme4::lmer))$value
a012 <- anova(m0, m1, m2)
a01 <- anova(m0, m1)
LR01 <- a01[2, "Chisq"]

set.seed(2024)  # pbkrtest 0.5.2's PBrefdist.merMod ignores its `seed` argument
pb_time <- system.time(
  pb <- capture(PBmodcomp(m1, m0, nsim = 500, seed = 2024, cl = 1))
)[["elapsed"]]
pbt <- pb$value$test

anova_models <- list()
anova_models$sleepstudy_m0_m1_m2 <- list(
  data = "sleepstudy.csv",
  models = model_info(list(m0 = m0, m1 = m1, m2 = m2)),
  refitted_ml = TRUE,
  rows = anova_model_records(a012)
)
anova_models$sleepstudy_m0_m1 <- list(
  data = "sleepstudy.csv",
  models = model_info(list(m0 = m0, m1 = m1)),
  refitted_ml = TRUE,
  rows = anova_model_records(a01),
  chibar_p = 0.5 * pchisq(LR01, 0, lower.tail = FALSE) + 0.5 * pchisq(LR01, 1, lower.tail = FALSE),
  chibar_formula = "0.5 * pchisq(LR, 0, lower = FALSE) + 0.5 * pchisq(LR, 1, lower = FALSE) (one variance on the boundary; the chi^2_0 term is 0 for LR > 0)",
  pbmodcomp = list(
    call = "set.seed(2024); PBmodcomp(m1, m0, nsim = 500, seed = 2024, cl = 1)",
    nsim = 500L, seed = 2024L,
    npos = unname(pb$value$samples[["npos"]]),
    n_extreme = pb$value$n.extreme,
    LRT = list(stat = pbt["LRT", "stat"], df = pbt["LRT", "df"], p = pbt["LRT", "p.value"]),
    PBtest = list(stat = pbt["PBtest", "stat"], df = num_or_null(pbt["PBtest", "df"]),
                  p = pbt["PBtest", "p.value"]),
    warnings = I(pb$warnings),
    elapsed_s = pb_time
  )
)

p0 <- fit_lmer("weight ~ week + (1 | id)", "pigs", fun = quote(lme4::lmer))$value
p1 <- fit_lmer("weight ~ week + (week | id)", "pigs", fun = quote(lme4::lmer))$value
ap <- anova(p0, p1)
LRp <- ap[2, "Chisq"]
anova_models$pigs <- list(
  data = "pigs.csv",
  models = model_info(list(p0 = p0, p1 = p1)),
  refitted_ml = TRUE,
  rows = anova_model_records(ap),
  chibar_p = 0.5 * pchisq(LRp, 1, lower.tail = FALSE) + 0.5 * pchisq(LRp, 2, lower.tail = FALSE),
  chibar_formula = "0.5 * pchisq(LR, 1, lower = FALSE) + 0.5 * pchisq(LR, 2, lower = FALSE) (adding a slope variance and its covariance; Self & Liang 1987 case 5, Stram & Lee 1994)"
)

u0 <- fit_lmer("y ~ x + (x | g)", "unbalanced", fun = quote(lme4::lmer))$value
u1 <- fit_lmer("y ~ x + f + (x | g)", "unbalanced", fun = quote(lme4::lmer))$value
au <- anova(u0, u1)
anova_models$unbalanced_slopes <- list(
  data = "lmertest_sim_unbalanced.csv",
  models = model_info(list(u0 = u0, u1 = u1)),
  refitted_ml = TRUE,
  rows = anova_model_records(au)
)

## ---------------------------------------------------------------------------
## GLMM: cbpp, binomial logit, Laplace (lme4 defaults)
## ---------------------------------------------------------------------------

g_form <- "cbind(incidence, size - incidence) ~ period + (1 | herd)"
g0_form <- "cbind(incidence, size - incidence) ~ 1 + (1 | herd)"
fit_glmer <- function(formula_text) {
  cl <- bquote(lme4::glmer(.(str2lang(formula_text)), data = cbpp, family = binomial))
  capture(eval(cl, globalenv()))
}
gcap <- fit_glmer(g_form)
gfit <- gcap$value
g0 <- fit_glmer(g0_form)$value
g1 <- gfit
ag <- anova(g0, g1)
anova_models$cbpp <- list(
  data = "cbpp.csv",
  models = model_info(list(g0 = g0, g1 = g1)),
  refitted_ml = FALSE,
  rows = anova_model_records(ag)
)

## Exact per-row moments of simulate(gfit) (use.u = FALSE): y_i | b ~ Bin(n_i, p_i),
## p_i = plogis(eta_i + s z), z ~ N(0,1). E y = n E p; Var y = n E p - n E p^2 + n^2 Var p.
glmm_exact_moments <- function(fit, n) {
  eta <- as.numeric(getME(fit, "X") %*% fixef(fit))
  s <- getME(fit, "theta")[[1]]
  Ep <- function(e, k) integrate(function(z) plogis(e + s * z)^k * dnorm(z), -Inf, Inf,
                                 rel.tol = 1e-12, abs.tol = 0)$value
  m1 <- vapply(eta, Ep, numeric(1), k = 1)
  m2 <- vapply(eta, Ep, numeric(1), k = 2)
  list(mean = n * m1, var = n * m1 - n * m2 + n^2 * (m2 - m1^2))
}

gsim <- simulate(gfit, nsim = 2000, seed = 101)
## Each column of a binomial cbind() simulation is a 2-column matrix
## (successes, failures); keep the successes (simulated incidence).
gsim_inc <- sapply(gsim, function(s) if (is.matrix(s)) s[, 1] else s)
stopifnot(all(sapply(gsim, function(s) all(rowSums(s) == cbpp$size))))
gex <- glmm_exact_moments(gfit, cbpp$size)
gprof <- capture(confint(gfit, method = "profile", oldNames = FALSE))
gcf <- summary(gfit)$coefficients

glmm_cbpp <- list(
  formula = g_form,
  data = "cbpp.csv",
  family = list(family = "binomial", link = "logit"),
  nAGQ = 1L,
  nobs = nobs(gfit),
  isSingular = isSingular(gfit),
  convergence_messages = I(c(gfit@optinfo$conv$lme4$messages, gcap$warnings)),
  fixef = named_list(fixef(gfit)),
  coef = lapply(seq_len(nrow(gcf)), function(i) list(
    term = rownames(gcf)[i], estimate = gcf[i, "Estimate"], se = gcf[i, "Std. Error"],
    z = gcf[i, "z value"], p = gcf[i, "Pr(>|z|)"])),
  varcorr = varcorr_records(gfit),
  theta = named_list(getME(gfit, "theta")),
  logLik = as.numeric(logLik(gfit)),
  confint_profile = confint_records(gprof$value),
  confint_profile_warnings = I(gprof$warnings),
  confint_wald = confint_records(confint(gfit, method = "Wald", oldNames = FALSE)),
  predict = list(
    link = as.numeric(predict(gfit, type = "link")),
    response = as.numeric(predict(gfit, type = "response")),
    link_population = as.numeric(predict(gfit, type = "link", re.form = NA)),
    response_population = as.numeric(predict(gfit, type = "response", re.form = NA))
  ),
  simulate_moments = list(
    nsim = 2000L, seed = 101L, use.u = FALSE,
    quantity = "simulated incidence (successes), first column of each simulated cbind matrix",
    mean = as.numeric(rowMeans(gsim_inc)),
    var = as.numeric(apply(gsim_inc, 1, var)),
    exact_mean = gex$mean,
    exact_var = gex$var
  )
)

## ---------------------------------------------------------------------------
## Timing (benchmark)
## ---------------------------------------------------------------------------

timing <- list(
  pigs_confint_profile = c(
    list(call = "confint(fit, method = 'profile', oldNames = FALSE) on pigs (lmerTest fit)"),
    time_it(function() suppressWarnings(confint(lmm_fits$pigs, method = "profile", oldNames = FALSE)))
  ),
  sleepstudy_confint_boot_s = lmm$sleepstudy$confint_boot$elapsed_s,
  sleepstudy_pbmodcomp_s = pb_time,
  machine_cores = parallel::detectCores()
)

## ---------------------------------------------------------------------------
## Output
## ---------------------------------------------------------------------------

out <- list(
  lme4_version = as.character(packageVersion("lme4")),
  lmerTest_version = as.character(packageVersion("lmerTest")),
  pbkrtest_version = as.character(packageVersion("pbkrtest")),
  Matrix_version = as.character(packageVersion("Matrix")),
  R_version = R.version.string,
  notes = I(c(
    "All LMM fits: lmerTest::lmer(formula, data, REML = TRUE) with lme4's default optimizer (nloptwrap). Grouping columns (and f, period) are factors with levels in C (code point) order.",
    "Simulated data (simulations.*) were written to tests/reference/lmertest_sim_*.csv and read back before fitting; seed004 X and Y are written with 17 significant digits (exact doubles).",
    "coef_satterthwaite / coef_kenward_roger: summary(fit, ddf = ...)$coefficients records {term, estimate, se, df, t, p}. For Kenward-Roger the se is sqrt(diag(pbkrtest::vcovAdj(fit))), the adjusted covariance, not vcov(fit).",
    "anova_satterthwaite / anova_kenward_roger: lmerTest anova(fit, type = 3, ddf = ...) records {term, sum_sq, mean_sq, num_df, den_df, F, p}; empty for intercept-only models (lmerTest does not test the intercept).",
    "contrast[name]: lmerTest contest(fit, L, ddf = ...) (joint F test, rhs = 0), L row-major with columns L_columns. pbkrtest_KRmodcomp: pbkrtest::KRmodcomp(fit, L)$test rows Ftest (scaled F, F_scaling) and FtestU (unscaled). lmerTest's Kenward-Roger contest (multi-row L) calls KRmodcomp: its F and p equal Ftest's (scaled F, KR ddf), but its mean_sq = FtestU * sigma^2 (unscaled) and sum_sq = num_df * mean_sq, so mean_sq / sigma^2 differs from F by F_scaling. For a 1-row L lmerTest uses the adjusted-vcov t test (F = t^2) and the scaling is 1.",
    "confint_profile: confint(fit, method = 'profile', oldNames = FALSE), 95%; parm names as lme4 gives them: 'sd_(Intercept)|Subject', 'cor_Days.(Intercept)|Subject', 'sd_Days|Subject', 'sigma', then fixed effects. confint_wald: method = 'Wald'; variance-parameter rows are null.",
    "confint_boot: confint(fit, method = 'boot', nsim = 500, seed = 2024, boot.type = 'perc', oldNames = FALSE) (parametric bootstrap via bootMer, use.u = FALSE); compare only within Monte Carlo error.",
    "varcorr records {grp, var1, var2, vcov, sdcor} from as.data.frame(VarCorr(fit), order = 'cov.last'); logLik is the REML log-likelihood (-REMLcrit/2); logLik_ml, theta_ml, fixef_ml from refitML(fit).",
    "predict: conditional = predict(fit) (re.form = NULL), population = predict(fit, re.form = NA), on the fitted rows; newdata_* on the stored newdata records, conditional with allow.new.levels = TRUE (a new group gets random effect 0).",
    "simulate_moments: per-row mean and variance (denominator nsim - 1) over simulate(fit, nsim = 2000, seed = 101) (use.u = FALSE). exact_mean = X beta, exact_var = sigma^2 * (diag(Z Lambda Lambda' Z') + 1) for the LMM; for cbpp the exact binomial-normal moments of the incidence by numerical integration over the herd effect. The RNG cannot be reproduced in Python: compare the exact moments, and the simulated ones within Monte Carlo error.",
    "anova_models: lme4 anova(m_small, m_large, ...) on lme4::lmer REML fits, which anova refits by ML (refitted_ml); rows {model, npar, AIC, BIC, logLik, deviance, Chisq, Df, p}, Chisq/Df/p null on the first row. models[].logLik_ml checks the refit. cbpp: glmer fits (ML already), refitted_ml = FALSE.",
    "chibar_p (Self & Liang 1987; Stram & Lee 1994): sleepstudy m0 vs m1 (one variance on the boundary) 0.5 * pchisq(LR, 0, lower = FALSE) + 0.5 * pchisq(LR, 1, lower = FALSE) = half the naive p; pigs p0 vs p1 (slope variance + covariance) 0.5 * pchisq(LR, 1, lower = FALSE) + 0.5 * pchisq(LR, 2, lower = FALSE).",
    "pbmodcomp: pbkrtest PBmodcomp(m1, m0, nsim = 500, seed = 2024, cl = 1) for sleepstudy. pbkrtest 0.5.2 ignores `seed` in PBrefdist.merMod, so the script calls set.seed(2024) just before. Both models are refitted with REML = FALSE; the PB p-value is (1 + n_extreme) / (1 + npos), counting only the simulated LRT statistics > 0. Compare within Monte Carlo error.",
    "timing: elapsed seconds on the machine that made the file (2 cores); benchmarks only, not reproducible values."
  )),
  simulations = simulations,
  lmm = lmm,
  glmm_cbpp = glmm_cbpp,
  anova_models = anova_models,
  timing = timing
)

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE,
                  na = "null", null = "null"), out_file)

## ---------------------------------------------------------------------------
## Print a summary.
## ---------------------------------------------------------------------------
cat(sprintf("lme4 %s, lmerTest %s, pbkrtest %s, %s\n", out$lme4_version, out$lmerTest_version,
            out$pbkrtest_version, out$R_version))
for (nm in names(lmm)) {
  f <- lmm[[nm]]
  cat(sprintf("\n== %s   %s   nobs %d  singular %s  REMLcrit %.6f  logLik_ml %.6f\n", nm, f$formula,
              f$nobs, f$isSingular, f$REMLcrit, f$logLik_ml))
  for (r in f$coef_satterthwaite) cat(sprintf("  S  %-12s %12.6f  se %10.6f  df %10.4f  p %.4g\n", r$term, r$estimate, r$se, r$df, r$p))
  for (r in f$coef_kenward_roger) cat(sprintf("  KR %-12s %12.6f  se %10.6f  df %10.4f  p %.4g\n", r$term, r$estimate, r$se, r$df, r$p))
  for (r in f$varcorr) cat(sprintf("  varcorr %-30s sdcor %.6f\n", paste(c(r$grp, r$var1, r$var2), collapse = " "), r$sdcor))
  for (r in f$confint_profile) cat(sprintf("  profile %-32s [%s, %s]\n", r$parm,
                                            format(r$lower, digits = 7), format(r$upper, digits = 7)))
  if (length(f$confint_profile_warnings)) cat("  profile warnings:", unlist(f$confint_profile_warnings), sep = "\n    ")
  for (cn in names(f$contrast)) {
    cc <- f$contrast[[cn]]
    cat(sprintf("  contest %-8s S: F %.6f ddf %.4f | KR: F %.6f ddf %.4f | KRmodcomp Ftest F %.6f ddf %.4f scale %.6f\n",
                cn, cc$satterthwaite$F, cc$satterthwaite$den_df, cc$kenward_roger$F, cc$kenward_roger$den_df,
                cc$pbkrtest_KRmodcomp$Ftest$stat, cc$pbkrtest_KRmodcomp$Ftest$ddf, cc$pbkrtest_KRmodcomp$Ftest$F_scaling))
  }
  if (length(f$convergence_messages)) cat("  CONVERGENCE:", unlist(f$convergence_messages), "\n")
  if (length(f$messages)) cat("  MESSAGES:", unlist(f$messages), "\n")
}
cat("\n== simulate moments (sleepstudy): max |mean - exact| ",
    max(abs(lmm$sleepstudy$simulate_moments$mean - lmm$sleepstudy$simulate_moments$exact_mean)),
    " max rel var err ", max(abs(lmm$sleepstudy$simulate_moments$var / lmm$sleepstudy$simulate_moments$exact_var - 1)), "\n")
cat("== boot (sleepstudy):", sprintf("%.2fs", lmm$sleepstudy$confint_boot$elapsed_s), "\n")
for (r in lmm$sleepstudy$confint_boot$records) cat(sprintf("  %-32s [%.5g, %.5g]\n", r$parm, r$lower, r$upper))
for (nm in names(anova_models)) {
  a <- anova_models[[nm]]
  cat("\n== anova_models", nm, "\n")
  for (r in a$rows) cat(sprintf("  %-4s npar %d  logLik %.6f  Chisq %s  Df %s  p %s\n", r$model, as.integer(r$npar),
                                r$logLik, format(r$Chisq), format(r$Df), format(r$p)))
  if (!is.null(a$chibar_p)) cat(sprintf("  chi-bar p %.6g\n", a$chibar_p))
  if (!is.null(a$pbmodcomp)) cat(sprintf("  PBmodcomp: LRT p %.6g, PB p %.6g (npos %d)\n",
                                         a$pbmodcomp$LRT$p, a$pbmodcomp$PBtest$p, as.integer(a$pbmodcomp$npos)))
}
cat("\n== cbpp glmm: logLik", glmm_cbpp$logLik, "\n")
for (r in glmm_cbpp$confint_profile) cat(sprintf("  profile %-22s [%.6f, %.6f]\n", r$parm, r$lower, r$upper))
cat("  simulate: max |mean - exact|", max(abs(glmm_cbpp$simulate_moments$mean - glmm_cbpp$simulate_moments$exact_mean)), "\n")
cat("\n== timing: pigs profile median", timing$pigs_confint_profile$median_elapsed_s, "s\n")
cat("wrote", out_file, "\n")
