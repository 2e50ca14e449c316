#!/usr/bin/env Rscript
## Reference values for hierarch's response-scale reports of the zero-inflated, hurdle and
## ordinal families (issue 15): each group's mean response E[y | group] from the packages'
## own predict() at the ML estimates, and an ordinal model without covariates.
##
## Run from the repository root (reads CSVs written by make_families_reference.R):
##     Rscript tests/reference/make_response_scale_reference.R
## Writes tests/reference/response_scale.json. Needs r-cran-glmmtmb, r-cran-ordinal,
## r-cran-jsonlite. The Python test suite only reads the JSON; it never needs R.
##
##   A. glmmTMB, y ~ 1 + (1 | g), ziformula = ~1, on families_sim_zi.csv, for
##      ziP / ziNB2 / truncated Poisson (hurdle) / truncated NB2 (hurdle):
##      fixef, zi probability, NB size; per group predict(type = "response") (E[y] given
##      the group's conditional mode) and predict(type = "conditional") (the count part's
##      mean), and the population-level predict(re.form = NA, type = "response").
##   B. ordinal::clmm(rating ~ 1 + (1 | judge)) on families_wine.csv (logit): thresholds,
##      SEs, judge SD, logLik (Laplace; nAGQ = 10 too), conditional modes and variances;
##      each judge's expected
##      rating sum_k k P(Y = k | mode) computed from clmm's own estimates.

suppressPackageStartupMessages({
  library(glmmTMB)
  library(ordinal)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
repo_root <- if (length(file_arg) == 1) normalizePath(file.path(dirname(file_arg), "..", "..")) else getwd()
ref_dir <- file.path(repo_root, "tests", "reference")
as_group <- function(x) factor(x, levels = sort(unique(x), method = "radix"))

out <- list(
  versions = list(R = R.version.string, glmmTMB = as.character(packageVersion("glmmTMB")),
                  ordinal = as.character(packageVersion("ordinal")))
)

## A. zero-inflated and hurdle counts, intercept-only fixed part
zi <- read.csv(file.path(ref_dir, "families_sim_zi.csv"))
zi$g <- as_group(zi$g)
lv <- levels(zi$g)
fams <- list(
  zero_inflated_poisson = poisson(), zero_inflated_negative_binomial = nbinom2(),
  hurdle_poisson = truncated_poisson(), hurdle_negative_binomial = truncated_nbinom2()
)
for (nm in names(fams)) {
  fit <- glmmTMB(y ~ 1 + (1 | g), ziformula = ~1, data = zi, family = fams[[nm]])
  nd <- data.frame(g = factor(lv, levels = lv))
  fe <- fixef(fit)
  out[[nm]] <- list(
    formula = "y ~ 1 + (1 | g), ziformula = ~1",
    intercept = unname(fe$cond[["(Intercept)"]]),
    zi = unname(plogis(fe$zi[["(Intercept)"]])),
    size = if (grepl("negative", nm)) unname(sigma(fit)) else NULL,
    group_sd = unname(attr(VarCorr(fit)$cond$g, "stddev")),
    logLik = as.numeric(logLik(fit)),
    levels = I(lv),
    modes = I(unname(ranef(fit)$cond$g[[1]])),
    group_response = I(unname(predict(fit, newdata = nd, type = "response"))),
    group_conditional = I(unname(predict(fit, newdata = nd, type = "conditional"))),
    population_response = unname(predict(fit, newdata = nd[1, , drop = FALSE], re.form = NA,
                                          type = "response"))
  )
}

## B. ordinal model without covariates
wine <- read.csv(file.path(ref_dir, "families_wine.csv"))
wine$rating <- factor(wine$rating, levels = 1:5, ordered = TRUE)
wine$judge <- as_group(as.character(wine$judge))
## clmm's default optimiser (ucminf) stops here with inner-loop warnings ("step factor
## reduced below minimum when updating the random effects") about 1e-3 below the maximum of
## its own Laplace likelihood; nlminb with a tight gradient tolerance reaches it. Both are
## stored; the tests use the nlminb fit.
default_fit <- suppressWarnings(clmm(rating ~ 1 + (1 | judge), data = wine, link = "logit"))
fit <- clmm(rating ~ 1 + (1 | judge), data = wine, link = "logit",
            control = clmm.control(method = "nlminb", gradTol = 1e-10))
agq <- clmm(rating ~ 1 + (1 | judge), data = wine, link = "logit", nAGQ = 10,
            control = clmm.control(method = "nlminb", gradTol = 1e-10))
modes <- ranef(fit)$judge[[1]]
cum <- sapply(fit$alpha, function(a) plogis(a - modes))  # judges x 4: P(Y <= j)
p <- cbind(cum, 1) - cbind(0, cum)
se <- sqrt(diag(vcov(fit)))
out$wine_null_clmm <- list(
  formula = "rating ~ 1 + (1 | judge)", link = "logit",
  alpha = as.list(fit$alpha), se_alpha = as.list(se[names(fit$alpha)]),
  judge_sd = unname(fit$ST$judge[1, 1]), se_log_judge_sd = unname(se[["ST1"]]),
  logLik = as.numeric(logLik(fit)),
  default_optimizer_logLik = as.numeric(logLik(default_fit)),
  max_abs_gradient = max(abs(fit$gradient)),
  agq10 = list(alpha = as.list(agq$alpha), judge_sd = unname(agq$ST$judge[1, 1]),
               logLik = as.numeric(logLik(agq))),
  levels = I(rownames(ranef(fit)$judge)), modes = I(modes),
  condvar = I(condVar(fit)$judge[[1]]),
  expected_rating = I(as.numeric(p %*% (1:5))),
  note = "expected_rating: sum_k k P(Y = k) with P(Y <= j) = plogis(alpha_j - mode), clmm's convention"
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
           file.path(ref_dir, "response_scale.json"))
cat("wrote", file.path(ref_dir, "response_scale.json"), "\n")
