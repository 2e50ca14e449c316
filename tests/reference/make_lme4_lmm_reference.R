#!/usr/bin/env Rscript
## Produce lme4 reference values for hierarch's frequentist linear mixed model
## (LMM) tests.
##
## Run from the repository root:
##     Rscript tests/reference/make_lme4_lmm_reference.R
##
## Reads pigs.csv, alcohol.csv, sleepstudy.csv, penicillin.csv and pastes.csv
## from ../shared/data (relative to the repository root) and writes
## tests/reference/lme4_lmm.json.
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
out_file <- file.path(repo_root, "tests", "reference", "lme4_lmm.json")

## Grouping columns become factors whose levels are sorted in C (byte /
## code point) order, independent of the locale: numeric ids sort
## numerically, strings as Python's sorted() would sort them.
as_group <- function(x) {
  factor(x, levels = sort(unique(x), method = "radix"))
}
read_data <- function(name) {
  read.csv(file.path(data_dir, name), fileEncoding = "UTF-8",
           stringsAsFactors = FALSE)
}

pigs <- read_data("pigs.csv")
pigs$id <- as_group(pigs$id)

alcohol <- read_data("alcohol.csv")
alcohol$country <- as_group(alcohol$country)

sleepstudy <- read_data("sleepstudy.csv")
sleepstudy$Subject <- as_group(sleepstudy$Subject)

penicillin <- read_data("penicillin.csv")
penicillin$plate <- as_group(penicillin$plate)
penicillin$sample <- as_group(penicillin$sample)

pastes <- read_data("pastes.csv")
pastes$batch <- as_group(pastes$batch)
pastes$cask <- as_group(pastes$cask)
pastes$sample <- as_group(pastes$sample)  # batch:cask labels such as "A:a"; not used in the fit

named_list <- function(x) as.list(setNames(as.numeric(x), names(x)))
rows_of <- function(m) {
  m <- as.matrix(m)
  lapply(seq_len(nrow(m)), function(i) as.list(as.numeric(m[i, ])))
}

## Full conditional covariance of the random effects b given y (at the
## estimates, treating beta as known, as lme4's condVar does):
##   Var(b | y) = sigma^2 * Lambda (Lambda' Z' Z Lambda + I)^{-1} Lambda'.
## Returns, per grouping factor, a list of k x k per-level blocks covering all
## random-effect terms of that factor (k = total number of its columns, in the
## column order of ranef()). For a factor with a single term this equals
## lme4's postVar; for a factor with several terms (sleepstudy_uncorr) it also
## gives the cross-term covariances that lme4's postVar leaves out.
full_condvar_blocks <- function(fit) {
  L <- getME(fit, "L")
  Lambda <- getME(fit, "Lambda")
  q <- ncol(Lambda)
  Vu <- Matrix::solve(L, Matrix::Diagonal(q), system = "A")
  Vb <- as.matrix(sigma(fit)^2 * (Lambda %*% Vu %*% Matrix::t(Lambda)))
  flist <- getME(fit, "flist")
  asgn <- attr(flist, "assign")
  cnms <- getME(fit, "cnms")
  Gp <- getME(fit, "Gp")
  out <- list()
  for (f in seq_along(flist)) {
    nl <- nlevels(flist[[f]])
    terms <- which(asgn == f)
    idx_per_level <- lapply(seq_len(nl), function(j) {
      unlist(lapply(terms, function(t) {
        nc <- length(cnms[[t]])
        Gp[t] + (j - 1) * nc + seq_len(nc)
      }))
    })
    out[[names(flist)[f]]] <- lapply(idx_per_level, function(ix) Vb[ix, ix, drop = FALSE])
  }
  out
}

summarise_ranef <- function(fit) {
  re <- ranef(fit, condVar = TRUE)
  blocks <- full_condvar_blocks(fit)
  res <- list()
  for (g in names(re)) {
    m <- re[[g]]
    pv <- attr(m, "postVar")
    entry <- list(
      levels = I(rownames(m)),
      columns = I(colnames(m)),
      modes = lapply(as.list(m), as.numeric),
      postVar = lapply(blocks[[g]], rows_of)
    )
    if (is.list(pv)) {
      ## Several terms share this grouping factor: lme4 returns one postVar
      ## array per term (no cross-term covariances). Keep those as given.
      entry$postVar_source <- "computed: sigma^2 * Lambda (L L')^-1 Lambda' (joint over all terms of this factor)"
      term_cnms <- getME(fit, "cnms")[attr(getME(fit, "flist"), "assign") == match(g, names(getME(fit, "flist")))]
      entry$postVar_lme4_terms <- unname(Map(function(a, cn) {
        list(columns = I(cn),
             postVar = lapply(seq_len(dim(a)[3]), function(j) rows_of(matrix(a[, , j], dim(a)[1]))))
      }, pv, term_cnms))
      ## Check the computed blocks against lme4's per-term diagonal blocks.
      off <- 0
      for (a in pv) {
        k <- dim(a)[1]
        for (j in seq_len(dim(a)[3])) {
          d <- max(abs(blocks[[g]][[j]][off + seq_len(k), off + seq_len(k)] - a[, , j]))
          if (d > 1e-8) stop(sprintf("condVar mismatch for %s level %d: %g", g, j, d))
        }
        off <- off + k
      }
    } else {
      entry$postVar_source <- "lme4: attr(ranef(fit, condVar = TRUE)[[g]], 'postVar')"
      lme4_blocks <- lapply(seq_len(dim(pv)[3]), function(j) matrix(pv[, , j], dim(pv)[1]))
      d <- max(mapply(function(a, b) max(abs(a - b)), lme4_blocks, blocks[[g]]))
      if (d > 1e-8) stop(sprintf("condVar mismatch for %s: %g", g, d))
      entry$postVar <- lapply(lme4_blocks, rows_of)
    }
    res[[g]] <- entry
  }
  res
}

summarise_fit <- function(fit, formula_text, data_file) {
  reml <- isREML(fit)
  fe <- fixef(fit)
  V <- as.matrix(vcov(fit))
  se <- sqrt(diag(V))
  names(se) <- names(fe)
  vc <- as.data.frame(VarCorr(fit), order = "cov.last")
  ll <- logLik(fit)
  list(
    formula = formula_text,
    data = data_file,
    REML = reml,
    fixef = named_list(fe),
    se_fixef = named_list(se),
    vcov_names = I(names(fe)),
    vcov = rows_of(V),
    theta = named_list(getME(fit, "theta")),
    varcorr = lapply(seq_len(nrow(vc)), function(i) list(
      grp = vc$grp[i],
      var1 = if (is.na(vc$var1[i])) NULL else vc$var1[i],
      var2 = if (is.na(vc$var2[i])) NULL else vc$var2[i],
      vcov = vc$vcov[i],
      sdcor = vc$sdcor[i]
    )),
    sigma = sigma(fit),
    REMLcrit = if (reml) REMLcrit(fit) else NULL,
    logLik = as.numeric(ll),
    df = as.integer(attr(ll, "df")),
    deviance = if (reml) NULL else deviance(fit),
    AIC = AIC(fit),
    nobs = nobs(fit),
    ngrps = as.list(setNames(as.integer(ngrps(fit)), names(ngrps(fit)))),
    isSingular = isSingular(fit),
    ranef = summarise_ranef(fit),
    optimizer = fit@optinfo$optimizer,
    convergence_messages = as.list(fit@optinfo$conv$lme4$messages)
  )
}

spec <- list(
  pigs_reml = list("weight ~ week + (week | id)", "pigs.csv", pigs, TRUE),
  pigs_ml = list("weight ~ week + (week | id)", "pigs.csv", pigs, FALSE),
  alcohol_reml = list("alcohol ~ 1 + (1 | country)", "alcohol.csv", alcohol, TRUE),
  alcohol_ml = list("alcohol ~ 1 + (1 | country)", "alcohol.csv", alcohol, FALSE),
  sleepstudy_reml = list("Reaction ~ Days + (Days | Subject)", "sleepstudy.csv", sleepstudy, TRUE),
  sleepstudy_ml = list("Reaction ~ Days + (Days | Subject)", "sleepstudy.csv", sleepstudy, FALSE),
  sleepstudy_uncorr_reml = list("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)",
                                "sleepstudy.csv", sleepstudy, TRUE),
  sleepstudy_slope_only_reml = list("Reaction ~ Days + (0 + Days | Subject)",
                                    "sleepstudy.csv", sleepstudy, TRUE),
  penicillin_reml = list("diameter ~ 1 + (1 | plate) + (1 | sample)", "penicillin.csv", penicillin, TRUE),
  pastes_reml = list("strength ~ 1 + (1 | batch/cask)", "pastes.csv", pastes, TRUE),
  pigs_factor_reml = list("weight ~ factor(week > 4) * week + (1 | id)", "pigs.csv", pigs, TRUE)
)

fits <- lapply(spec, function(s) lmer(as.formula(s[[1]]), data = s[[3]], REML = s[[4]]))

out <- list(
  lme4_version = as.character(packageVersion("lme4")),
  R_version = R.version.string,
  family = "gaussian (lmer)",
  notes = paste(
    "Grouping columns are factors with levels in C (code point) order.",
    "se_fixef = sqrt(diag(vcov(fit))); vcov is row-major in the order vcov_names.",
    "theta = getME(fit, 'theta') (relative Cholesky factors, by term, lower triangle column-wise).",
    "varcorr = as.data.frame(VarCorr(fit), order = 'cov.last') records; missing var1/var2 are null.",
    "REMLcrit only for REML fits; deviance only for ML fits (deviance(fit) = -2*logLik).",
    "AIC of a REML fit is based on the REML criterion (as lme4 computes it).",
    "ranef[g]: levels, columns, modes (conditional modes by column) and postVar",
    "(per-level k x k conditional covariance, row-major lists; beta treated as known, as in lme4).",
    "For a factor with several terms (sleepstudy_uncorr_reml) postVar is the joint block over all",
    "its terms computed from Lambda and L; lme4's per-term arrays are in postVar_lme4_terms."
  )
)
for (nm in names(fits)) {
  s <- spec[[nm]]
  out[[nm]] <- summarise_fit(fits[[nm]], s[[1]], s[[2]])
}

## Partially pooled line of pig "1" from pigs_reml.
cf <- coef(fits$pigs_reml)$id
out$pigs_reml$coef_pig_1 <- named_list(unlist(cf["1", ]))

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE,
                  na = "null", null = "null"), out_file)

## Print a summary.
cat(sprintf("lme4 %s, %s\n", out$lme4_version, out$R_version))
for (nm in names(fits)) {
  f <- out[[nm]]
  cat(sprintf("\n== %s   %s   (REML=%s)\n", nm, f$formula, f$REML))
  cat("fixef:   ", paste(sprintf("%s=%.6f", names(f$fixef), unlist(f$fixef)), collapse = "  "), "\n")
  cat("se:      ", sprintf("%.6f", unlist(f$se_fixef)), "\n")
  cat("theta:   ", paste(sprintf("%s=%.6f", names(f$theta), unlist(f$theta)), collapse = "  "), "\n")
  for (r in f$varcorr) {
    lab <- paste(c(r$grp, r$var1, r$var2), collapse = " ")
    cat(sprintf("  varcorr %-40s vcov %12.6f  sdcor %.6f\n", lab, r$vcov, r$sdcor))
  }
  cat(sprintf("sigma %.6f  REMLcrit %s  logLik %.6f  deviance %s  AIC %.4f  nobs %d  singular %s\n",
              f$sigma,
              if (is.null(f$REMLcrit)) "-" else sprintf("%.6f", f$REMLcrit),
              f$logLik,
              if (is.null(f$deviance)) "-" else sprintf("%.6f", f$deviance),
              f$AIC, f$nobs, f$isSingular))
  cat("ngrps:   ", paste(names(f$ngrps), unlist(f$ngrps), sep = "=", collapse = "  "), "\n")
  for (g in names(f$ranef)) {
    lv <- f$ranef[[g]]$levels
    cat(sprintf("ranef %s: %d levels, first %s, columns %s\n", g, length(lv),
                paste(head(lv, 4), collapse = ","), paste(f$ranef[[g]]$columns, collapse = ",")))
  }
  if (length(f$convergence_messages)) cat("convergence:", unlist(f$convergence_messages), "\n")
}
cat("\npigs_reml coef for pig 1:",
    paste(sprintf("%s=%.6f", names(out$pigs_reml$coef_pig_1), unlist(out$pigs_reml$coef_pig_1)),
          collapse = "  "), "\n")
cat("wrote", out_file, "\n")
