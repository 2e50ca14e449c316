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
out_file <- file.path(repo_root, "tests", "reference", "terms.json")

pigs <- read.csv(file.path(data_dir, "pigs.csv"), stringsAsFactors = FALSE)
pigs$id <- factor(pigs$id, levels = sort(unique(pigs$id), method = "radix"))

summarise <- function(fit) {
  list(fixef = as.numeric(fixef(fit)), fixef_names = names(fixef(fit)), sigma = sigma(fit),
       reml = as.numeric(REMLcrit(fit)))
}
p3 <- poly(pigs$week, 3)
out <- list(
  R_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  poly_week_3 = lapply(1:3, function(j) as.numeric(p3[, j])),
  fit_poly2 = summarise(lmer(weight ~ poly(week, 2) + (1 | id), data = pigs)),
  fit_I2 = summarise(lmer(weight ~ week + I(week^2) + (week | id), data = pigs))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = 15), out_file)
cat("wrote", out_file, "\n")
