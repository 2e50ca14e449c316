#!/usr/bin/env Rscript
## Reference values for the extras of lme4's printed summary (seed document 004 shows them):
## scaled residuals, the correlation of the fixed effects and isSingular().
##
## Run from the repository root:
##     Rscript tests/reference/make_lme4_summary_reference.R
##
## Reads sleepstudy.csv, pigs.csv, penicillin.csv, pastes.csv and cbpp.csv from ../shared/data
## and lmertest_sim_seed004.csv / lmertest_sim_unbalanced.csv from tests/reference (the data
## sets of make_lmertest_reference.R, with the same factor levels). Writes
## tests/reference/lme4_summary.json. Needs R with lme4 and jsonlite
## (Debian: r-base-core r-cran-lme4 r-cran-jsonlite). The Python tests never need R.
##
## Per case:
##   resid_scaled      residuals(fit, type = "pearson", scaled = TRUE), every row in data order
##                     (what summary() prints the quantiles of: "Scaled residuals")
##   resid_quantiles   quantile(resid_scaled) as summary() prints it (Min 1Q Median 3Q Max)
##   fitted            fitted(fit) (conditional: X beta + Z b)
##   corr_fixef        cov2cor(vcov(fit)), row by row ("Correlation of Fixed Effects")
##   isSingular        isSingular(fit) at lme4's default tol = 1e-4
##
## And glmer's nAGQ = 0 (seed document 003: the fastest, least precise method) under
## "nagq0": fixef, theta, logLik and the standard errors of vcov(fit) for cbpp and for
## grouseticks (Poisson, brood and location effects).

suppressPackageStartupMessages({
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
out_file <- file.path(ref_dir, "lme4_summary.json")

## factor levels in C (code point) order, as hierarch and make_lmertest_reference.R
as_group <- function(x) factor(x, levels = sort(unique(x), method = "radix"))
read_data <- function(path) read.csv(path, fileEncoding = "UTF-8", stringsAsFactors = FALSE)

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
seed004 <- read_data(file.path(ref_dir, "lmertest_sim_seed004.csv"))
seed004$Group <- as_group(seed004$Group)
unbalanced <- read_data(file.path(ref_dir, "lmertest_sim_unbalanced.csv"))
unbalanced$g <- as_group(unbalanced$g)
unbalanced$f <- as_group(unbalanced$f)
cbpp <- read_data(file.path(data_dir, "cbpp.csv"))
cbpp$herd <- as_group(cbpp$herd)
cbpp$period <- as_group(cbpp$period)

extras <- function(fit, formula, data_name, family = "gaussian") {
  r <- residuals(fit, type = "pearson", scaled = TRUE)
  q <- quantile(r)
  C <- cov2cor(as.matrix(vcov(fit)))
  list(
    formula = formula,
    data = data_name,
    family = family,
    REML = isREML(fit),
    resid_scaled = as.numeric(r),
    resid_quantiles = setNames(as.list(as.numeric(q)), c("Min", "1Q", "Median", "3Q", "Max")),
    fitted = as.numeric(fitted(fit)),
    fixef_names = I(names(fixef(fit))),
    corr_fixef = lapply(seq_len(nrow(C)), function(i) as.numeric(C[i, ])),
    isSingular = isSingular(fit)
  )
}

lmm_cases <- list(
  sleepstudy = list("Reaction ~ Days + (Days | Subject)", "sleepstudy"),
  pigs = list("weight ~ week + (week | id)", "pigs"),
  penicillin = list("diameter ~ 1 + (1 | plate) + (1 | sample)", "penicillin"),
  pastes = list("strength ~ 1 + (1 | batch/cask)", "pastes"),
  seed004_slopes = list("Y ~ X + (X | Group)", "seed004"),
  unbalanced_slopes = list("y ~ x + f + (x | g)", "unbalanced")
)
out <- list(
  lme4_version = as.character(packageVersion("lme4")),
  R_version = R.version.string,
  notes = I(c(
    "Made by tests/reference/make_lme4_summary_reference.R; fields described at its top.",
    "LMMs: lmer(formula, data, REML = TRUE), lme4's default optimizer.",
    "cbpp: glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), binomial), Laplace.",
    "nagq0: glmer(..., nAGQ = 0); its logLik carries lme4's default PIRLS tolerance (tolPwrss = 1e-7).",
    "Pearson residuals of a binomial GLMM: (y/n - mu) sqrt(n) / sqrt(mu (1 - mu)); scaled = TRUE divides by sigma(fit) = 1."
  )),
  cases = list()
)
for (nm in names(lmm_cases)) {
  f <- lmm_cases[[nm]]
  fit <- suppressMessages(lmer(as.formula(f[[1]]), data = get(f[[2]]), REML = TRUE))
  out$cases[[nm]] <- extras(fit, f[[1]], f[[2]])
}
gform <- "cbind(incidence, size - incidence) ~ period + (1 | herd)"
gfit <- glmer(as.formula(gform), data = cbpp, family = binomial)
out$cases$cbpp <- extras(gfit, gform, "cbpp", family = "binomial")

grouse <- read_data(file.path(data_dir, "grouseticks.csv"))
grouse$BROOD <- as_group(grouse$BROOD)
grouse$LOCATION <- as_group(grouse$LOCATION)
grouse$YEAR <- as_group(grouse$YEAR)
nagq0 <- list(
  cbpp = list(gform, "cbpp", "binomial"),
  grouseticks = list("TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", "grouse", "poisson")
)
out$nagq0 <- list()
for (nm in names(nagq0)) {
  f <- nagq0[[nm]]
  fit <- glmer(as.formula(f[[1]]), data = get(f[[2]]), family = f[[3]], nAGQ = 0)
  out$nagq0[[nm]] <- list(
    formula = f[[1]], family = f[[3]],
    fixef = as.numeric(fixef(fit)), fixef_names = I(names(fixef(fit))),
    theta = I(as.numeric(getME(fit, "theta"))),
    logLik = as.numeric(logLik(fit)),
    se = as.numeric(sqrt(diag(as.matrix(vcov(fit)))))
  )
}

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), out_file)
for (nm in names(out$cases)) {
  cs <- out$cases[[nm]]
  cat(sprintf("%-18s singular %-5s resid quantiles %s\n", nm, cs$isSingular,
              paste(sprintf("%.4f", unlist(cs$resid_quantiles)), collapse = " ")))
}
