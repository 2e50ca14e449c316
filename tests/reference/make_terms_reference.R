#!/usr/bin/env Rscript
## Reference values for formula terms: orthogonal polynomials poly(x, k) and I(x^2), as R's
## model.matrix builds them, and lmer fits that use them.
##
## Run from the repository root:
##     Rscript tests/reference/make_terms_reference.R
##
## Reads pigs.csv from ../shared/data. Writes tests/reference/terms.json. Needs R with lme4 and
## jsonlite (Debian: r-base-core r-cran-lme4 r-cran-jsonlite). The Python tests never need R.
##
##   poly_week_3        poly(week, 3) of every row (columns 1..3), in data order
##   fit_poly2          lmer(weight ~ poly(week, 2) + (1 | id)) by REML: fixef, sigma, REML
##   fit_I2             lmer(weight ~ week + I(week^2) + (week | id)) by REML: the same
##   splines            splines::bs / splines::ns bases (columns, in data order) of pigs'
##                      weight and week for several settings, and predict(<basis>, newx) at
##                      new values inside and outside the boundary knots
##   fit_ns3            lmer(weight ~ ns(week, 3) + (1 | id)) by REML
##   fit_bs4            lmer(weight ~ bs(week, df = 4) + (1 | id)) by REML
##   cr                 mgcv's cubic regression spline bases with the sum-to-zero constraint
##                      absorbed (smoothCon(s(v, bs = "cr", k = df + 1), absorb.cons = TRUE)),
##                      on the data and on new values (PredictMat), for hierarch's cr()
##   fit_cr4            lmer(weight ~ <cr basis of week, k = 5> + (1 | id)) by REML

suppressPackageStartupMessages({
  library(lme4)
  library(splines)
  library(mgcv)
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
out_file <- file.path(repo_root, "tests", "reference", "terms.json")

pigs <- read.csv(file.path(data_dir, "pigs.csv"), stringsAsFactors = FALSE)
pigs$id <- factor(pigs$id, levels = sort(unique(pigs$id), method = "radix"))

summarise <- function(fit) {
  list(fixef = as.numeric(fixef(fit)), fixef_names = names(fixef(fit)), sigma = sigma(fit),
       reml = as.numeric(REMLcrit(fit)))
}
p3 <- poly(pigs$week, 3)
cols <- function(b) lapply(seq_len(ncol(b)), function(j) as.numeric(b[, j]))
newx <- c(0, 1, 2.5, 5, 7.75, 9, 10.5)
neww <- c(15, 20, 44.5, 60, 83, 90)
spline_case <- function(label, basis, newv) {
  list(label = label, columns = cols(basis), knots = as.numeric(attr(basis, "knots")),
       boundary = as.numeric(attr(basis, "Boundary.knots")),
       new = as.numeric(newv), predicted = cols(suppressWarnings(predict(basis, newv))))
}
cr_case <- function(label, var, k, newv) {
  d <- data.frame(v = pigs[[var]])
  sm <- smoothCon(s(v, bs = "cr", k = k), data = d, absorb.cons = TRUE)[[1]]
  list(label = label, columns = cols(sm$X), knots = as.numeric(sm$xp), new = as.numeric(newv),
       predicted = cols(PredictMat(sm, data.frame(v = newv))))
}
cr_out <- list(
  cr_case("cr(weight, df=4)", "weight", 5, neww),
  cr_case("cr(weight, df=6)", "weight", 7, neww),
  cr_case("cr(week, df=3)", "week", 4, newx)
)
cr_week <- smoothCon(s(week, bs = "cr", k = 5), data = pigs, absorb.cons = TRUE)[[1]]$X
pigs_cr <- pigs
pigs_cr$CR <- cr_week
splines_out <- list(
  spline_case("bs(weight, df=5)", bs(pigs$weight, df = 5), neww),
  spline_case("bs(weight, df=6, degree=2)", bs(pigs$weight, df = 6, degree = 2), neww),
  spline_case("bs(weight, knots=c(40, 60))", bs(pigs$weight, knots = c(40, 60)), neww),
  spline_case("bs(week, df=4, intercept=TRUE)", bs(pigs$week, df = 4, intercept = TRUE), newx),
  spline_case("ns(weight, df=4)", ns(pigs$weight, df = 4), neww),
  spline_case("ns(weight, knots=c(35, 50, 65))", ns(pigs$weight, knots = c(35, 50, 65)), neww),
  spline_case("ns(week, df=3, intercept=TRUE)", ns(pigs$week, df = 3, intercept = TRUE), newx),
  spline_case("ns(week, df=1)", ns(pigs$week, df = 1), newx)
)
out <- list(
  R_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  poly_week_3 = lapply(1:3, function(j) as.numeric(p3[, j])),
  fit_poly2 = summarise(lmer(weight ~ poly(week, 2) + (1 | id), data = pigs)),
  fit_I2 = summarise(lmer(weight ~ week + I(week^2) + (week | id), data = pigs)),
  splines = splines_out,
  fit_ns3 = summarise(lmer(weight ~ ns(week, 3) + (1 | id), data = pigs)),
  fit_bs4 = summarise(lmer(weight ~ bs(week, df = 4) + (1 | id), data = pigs)),
  mgcv_version = as.character(packageVersion("mgcv")),
  cr = cr_out,
  fit_cr4 = summarise(lmer(weight ~ CR + (1 | id), data = pigs_cr))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = 15), out_file)
cat("wrote", out_file, "\n")
