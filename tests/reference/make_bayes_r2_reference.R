#!/usr/bin/env Rscript
## Reference values for the Bayesian R-squared of mixed models (Gelman, Goodrich, Gabry &
## Vehtari 2019, "R-squared for Bayesian regression models", The American Statistician 73)
## as brms::bayes_R2 computes it, for two brms fits (rstan backend, NUTS):
##   sleep   gaussian  bf(Reaction ~ 0 + Intercept + Days + (Days | Subject))   sleepstudy.csv
##   cbpp    binomial  bf(incidence | trials(size) ~ 0 + Intercept + period + (1 | herd))  cbpp.csv
##
## Run from the repository root:
##     Rscript tests/reference/make_bayes_r2_reference.R
##
## Reads sleepstudy.csv and cbpp.csv from ../shared/data (relative to the repository root)
## and writes tests/reference/bayes_r2.json (full precision: digits = NA).
## Needs R with brms, rstan, posterior, matrixStats and jsonlite (Debian: r-base-core
## r-cran-brms r-cran-posterior r-cran-jsonlite). The versions used are stored in the JSON.
## brms compiles two Stan models (about 35 s each here); the whole run took 91 s
## (sampling 8 s sleep, 2 s cbpp, cores = 1). The Python test suite only reads the JSON.
##
## How brms 2.18.0 computes bayes_R2 (brms:::bayes_R2.brmsfit and brms:::.bayes_R2):
##   y     = get_y(fit): the response as Stan sees it (sleep: Reaction; cbpp: incidence, the
##           COUNT of cases, not the proportion incidence / size)
##   mu    = posterior_epred(fit, re_formula = ...): an (ndraws x n) matrix of E[y | draw]
##   e     = y - mu (per draw, per row): the residual-based version of the paper, NOT the
##           model-based one that would use the distribution's variance
##   R2[s] = var(mu[s, ]) / (var(mu[s, ]) + var(e[s, ])), var = matrixStats::rowVars, the
##           sample variance over the n rows with denominator n - 1 (the n - 1 cancels)
##   conditional: re_formula = NULL (mu includes the random effects at each draw's values)
##   marginal:    re_formula = NA   (mu = fixed part only, X b; y - mu then also holds the
##                                   random effects)
## Binomial: brms:::posterior_epred_binomial is `prep$dpars$mu * trials`, i.e.
##   mu[s, i] = size_i * plogis(eta[s, i]), the expected COUNT trials * p, on the same scale
##   as y = incidence. So the cbpp R2 is on the count scale: rows with larger herds weigh
##   more, and it is not the R2 of the proportions incidence / size. The script checks
##   this: posterior_epred equals size * plogis(eta) recomputed from the draws (eta = X b
##   [+ r_herd]) to 1e-8, and the gaussian mu equals X b [+ Z r] likewise.
## Draw order: bayes_R2(fit, summary = FALSE) returns one value per draw in chain order
## (chain 1's iterations, then chain 2's, ...), the order of as_draws_df(fit). The script
## recomputes every per-draw R2 from hand-made mu (built from as_draws_df with its .chain and
## .iteration columns) and stops unless it equals bayes_R2's to 1e-10, so the reshape to an
## (iterations x chains) matrix for posterior::mcse_mean is the right one.
##
## Each entry of "cases" holds:
##   formula, family, data, priors (text), prior_summary (brms's own table), sampler settings
##   parameters         posterior::summarise_draws of b_*, sd_*, cor_*, sigma (mean, sd,
##                      quantile2 2.5/50/97.5 %, mcse_mean, mcse_sd, ess_bulk, ess_tail, rhat)
##   bayes_R2           conditional and marginal: mean, sd, q2.5, q50, q97.5 (posterior::quantile2,
##                      type 7), mcse_mean (posterior::mcse_mean on the iterations x chains
##                      matrix), mcse_sd, mcse of the three quantiles, ess_bulk, ess_tail, rhat,
##                      brms's own summary (bayes_R2(fit): Estimate, Est.Error, Q2.5, Q97.5),
##                      and the posterior means of var(mu) and var(y - mu)
##   checks             largest |hand mu - posterior_epred| and |hand R2 - bayes_R2| per draw
##   divergences, rhat_max (over the parameters and both R2), treedepth hits, timings
##   draws_check        the first 100 post-warmup draws of chain 1 (rows 1..100 of
##                      as_draws_df(fit) and of bayes_R2(fit, summary = FALSE)), for an exact
##                      check of a recomputed R2 on the same draws:
##                        chain (1), iterations, draw_rows (1..100), ndraws (100)
##                        b_names, model_matrix_columns: colnames(standata(fit)$X), in order
##                        b: {"b_<column>": [100 values], ...} in model matrix column order
##                        r_<group>: {group, levels (brms's order, attr(fit$ranef, "levels")),
##                                    terms, name_pattern, "<term>": 100 x n_levels matrix
##                                    (rows = draws, JSON arrays of rows; column j is level j)}
##                        sigma: [100 values] (gaussian only)
##                        bayes_R2: {conditional: [100], marginal: [100]}: brms's per-draw R2,
##                                  re_formula = NULL and NA
##                        checks: how the draw order and level order were verified
##                      Its numbers are written with 17 significant digits (sprintf "%.17g",
##                      inserted verbatim): jsonlite's digits = NA (used for everything else,
##                      unchanged) writes only 15 and does not round-trip doubles. The script
##                      reads the file back and stops unless these values are identical.

t_start <- proc.time()[["elapsed"]]

suppressPackageStartupMessages({
  library(brms)
  library(posterior)
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
out_file <- file.path(repo_root, "tests", "reference", "bayes_r2.json")

## Grouping columns become factors whose levels are sorted in C (code point) order
## (for integer columns: numeric order), as in make_r2_reference.R.
as_group <- function(x) factor(x, levels = sort(unique(x), method = "radix"))
read_data <- function(name) {
  read.csv(file.path(data_dir, name), fileEncoding = "UTF-8", stringsAsFactors = FALSE)
}

sleepstudy <- read_data("sleepstudy.csv")
sleepstudy$Subject <- as_group(sleepstudy$Subject)
cbpp <- read_data("cbpp.csv")
cbpp$herd <- as_group(cbpp$herd)
cbpp$period <- as_group(cbpp$period)
stopifnot(identical(levels(cbpp$period), c("1", "2", "3", "4")))

## Evaluate a fitting call, recording (and muffling) its warnings and messages.
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

## Debian's r-cran-bh is a virtual package without BH/include (Boost is in
## /usr/include), and rstan 2.21 stops with "Boost not found" unless it is
## told where Boost is.
if (!nzchar(system.file("include", package = "BH")) && dir.exists("/usr/include/boost")) {
  rstan::rstan_options(boost_lib = "/usr/include")
}

n_chains <- 4L
n_iter <- 3000L
n_warmup <- 1000L
n_keep <- n_iter - n_warmup
n_check <- 100L   # draws_check: the first n_check post-warmup draws of chain 1
probs <- c(0.025, 0.5, 0.975)
summary_functions_text <- paste(
  "posterior::summarise_draws(mean, sd, quantile2(probs = c(0.025, 0.5, 0.975)), mcse_mean,",
  "mcse_sd, ess_bulk, ess_tail, rhat)")
summarise <- function(d) {
  as.data.frame(summarise_draws(d, mean, sd, ~quantile2(.x, probs = probs),
                                mcse_mean, mcse_sd, ess_bulk, ess_tail, rhat))
}
row_list <- function(s, i) list(
  mean = s$mean[i], sd = s$sd[i], q2.5 = s$q2.5[i], q50 = s$q50[i], q97.5 = s$q97.5[i],
  mcse_mean = s$mcse_mean[i], mcse_sd = s$mcse_sd[i], ess_bulk = s$ess_bulk[i],
  ess_tail = s$ess_tail[i], rhat = s$rhat[i])

## Per-draw R2 exactly as brms:::.bayes_R2: rowVars of mu and of y - mu (denominator n - 1).
r2_by_hand <- function(y, mu) {
  e <- -1 * sweep(mu, 2, y)
  vm <- matrixStats::rowVars(mu)
  ve <- matrixStats::rowVars(e)
  list(r2 = vm / (vm + ve), var_mu = vm, var_e = ve)
}

## ---------------------------------------------------------------------------
## Cases
## ---------------------------------------------------------------------------
specs <- list(
  sleep = list(
    data = sleepstudy,
    data_text = "../shared/data/sleepstudy.csv; Subject as factor (levels in C order: 308..372 numerically); Days numeric.",
    formula = bf(Reaction ~ 0 + Intercept + Days + (Days | Subject)),
    formula_text = "bf(Reaction ~ 0 + Intercept + Days + (Days | Subject))",
    family = gaussian(),
    family_text = "gaussian(link = \"identity\"): Reaction ~ normal(mu, sigma), mu = b_Intercept + b_Days Days + r_Subject[Intercept] + r_Subject[Days] Days",
    prior = c(
      prior(normal(250, 100), class = b, coef = Intercept),
      prior(normal(0, 50), class = b, coef = Days),
      prior(normal(0, 50), class = sd),
      prior(normal(0, 50), class = sigma),
      prior(lkj(2), class = cor)),
    prior_text = c("b_Intercept ~ normal(250, 100)", "b_Days ~ normal(0, 50)",
                   "sd_Subject__Intercept, sd_Subject__Days ~ normal(0, 50) truncated to > 0 (half-normal), each",
                   "sigma ~ normal(0, 50) truncated to > 0 (half-normal)",
                   "cor_Subject__Intercept__Days: the 2 x 2 correlation matrix ~ lkj_corr_cholesky(2) (LKJ(2); for 2 x 2 the correlation r has density proportional to (1 - r^2))"),
    vars = c("b_Intercept", "b_Days", "sd_Subject__Intercept", "sd_Subject__Days",
             "cor_Subject__Intercept__Days", "sigma"),
    seed = 20240711L),
  cbpp = list(
    data = cbpp,
    data_text = "../shared/data/cbpp.csv; herd and period as factors (levels in C order: herd 1..15, period 1..4), treatment contrasts, reference period 1.",
    formula = bf(incidence | trials(size) ~ 0 + Intercept + period + (1 | herd)),
    formula_text = "bf(incidence | trials(size) ~ 0 + Intercept + period + (1 | herd))",
    family = binomial(),
    family_text = "binomial(link = \"logit\"): incidence ~ binomial(size, plogis(eta)), eta = b_Intercept + b_period2 [period 2] + b_period3 [period 3] + b_period4 [period 4] + r_herd",
    prior = c(
      prior(normal(0, 2.5), class = b),
      prior(normal(0, 1), class = sd)),
    prior_text = c("b_Intercept, b_period2, b_period3, b_period4 ~ normal(0, 2.5), each (one class-b prior; with 0 + Intercept the intercept is an ordinary b coefficient)",
                   "sd_herd__Intercept ~ normal(0, 1) truncated to > 0 (half-normal)"),
    vars = c("b_Intercept", "b_period2", "b_period3", "b_period4", "sd_herd__Intercept"),
    seed = 20240712L)
)

## 17 significant digits for draws_check (jsonlite's digits = NA gives 15, which does not
## round-trip doubles): a JSON array (vector) or array of row arrays (matrix) as a "json"
## string that toJSON(json_verbatim = TRUE) inserts as it is; indent = the spaces before the
## key that holds it (for the layout of a matrix only).
json17 <- function(x, indent = 0L) {
  stopifnot(is.numeric(x), all(is.finite(x)))
  fmt <- function(v) paste0("[", paste(sprintf("%.17g", v), collapse = ", "), "]")
  txt <- if (is.matrix(x)) {
    pad <- strrep(" ", indent + 2L)
    rows <- vapply(seq_len(nrow(x)), function(i) paste0(pad, fmt(x[i, ])), "")
    paste0("[\n", paste(rows, collapse = ",\n"), "\n", strrep(" ", indent), "]")
  } else {
    fmt(x)
  }
  structure(txt, class = "json")
}

## The hand-made mu for every draw (rows in as_draws_df order): fixed part, and with the
## random effects added.
hand_mu <- function(key, dm, d) {
  if (key == "sleep") {
    s <- levels(d$Subject)[as.integer(d$Subject)]
    fixed <- outer(dm[, "b_Intercept"], rep(1, nrow(d))) + outer(dm[, "b_Days"], d$Days)
    r0 <- dm[, sprintf("r_Subject[%s,Intercept]", s), drop = FALSE]
    r1 <- dm[, sprintf("r_Subject[%s,Days]", s), drop = FALSE]
    full <- fixed + r0 + sweep(r1, 2, d$Days, `*`)
    list(fixed = unname(fixed), full = unname(full))
  } else {
    X <- cbind(1, sapply(c("2", "3", "4"), function(l) as.numeric(d$period == l)))
    eta_f <- dm[, c("b_Intercept", "b_period2", "b_period3", "b_period4")] %*% t(X)
    h <- levels(d$herd)[as.integer(d$herd)]
    eta <- eta_f + dm[, sprintf("r_herd[%s,Intercept]", h), drop = FALSE]
    list(fixed = unname(sweep(plogis(eta_f), 2, d$size, `*`)),
         full = unname(sweep(plogis(eta), 2, d$size, `*`)))
  }
}

cases <- list()
draws_check_values <- list()   # the draws_check numbers, for the read-back check
for (key in names(specs)) {
  sp <- specs[[key]]
  cat(sprintf("%s: compiling and sampling\n", key))
  cap <- capture_fit(brm(sp$formula, data = sp$data, family = sp$family, prior = sp$prior,
                         chains = n_chains, iter = n_iter, warmup = n_warmup, seed = sp$seed,
                         refresh = 0, cores = 1, backend = "rstan"))
  fit <- cap$fit
  t_post <- proc.time()[["elapsed"]]
  dr <- as_draws_df(fit)
  stopifnot(nrow(dr) == n_chains * n_keep,
            identical(as.integer(dr$.chain), rep(seq_len(n_chains), each = n_keep)),
            identical(as.integer(dr$.iteration), rep(seq_len(n_keep), n_chains)))
  s <- summarise(subset_draws(dr, variable = sp$vars))
  stopifnot(identical(s$variable, sp$vars))

  ## bayes_R2, per draw and brms's own summary.
  y <- get_y(fit)
  r2 <- list(conditional = list(re_formula = NULL, re_text = "NULL"),
             marginal = list(re_formula = NA, re_text = "NA"))
  dm <- unclass(as_draws_matrix(dr))
  mu_hand <- hand_mu(key, dm, sp$data)
  r2_out <- list()
  r2_draws <- list()
  checks <- list()
  for (nm in names(r2)) {
    rf <- r2[[nm]]$re_formula
    per_draw <- bayes_R2(fit, re_formula = rf, summary = FALSE)
    stopifnot(is.matrix(per_draw), ncol(per_draw) == 1, nrow(per_draw) == n_chains * n_keep)
    per_draw <- as.numeric(per_draw[, 1])
    brms_summary <- bayes_R2(fit, re_formula = rf)
    epred <- posterior_epred(fit, re_formula = rf)
    mh <- if (nm == "conditional") mu_hand$full else mu_hand$fixed
    hand <- r2_by_hand(y, mh)
    d_mu <- max(abs(unname(epred) - mh))
    d_r2 <- max(abs(hand$r2 - per_draw))
    stopifnot(d_mu < 1e-8, d_r2 < 1e-10)
    checks[[nm]] <- list(max_abs_diff_mu_hand_vs_posterior_epred = d_mu,
                         max_abs_diff_r2_hand_vs_bayes_R2 = d_r2)
    ## iterations x chains: the draws are in chain order, so a column-major fill is right.
    arr <- array(per_draw, dim = c(n_keep, n_chains, 1), dimnames = list(NULL, NULL, "R2"))
    da <- as_draws_array(arr)
    r2s <- summarise(da)
    mq <- sapply(probs, function(p) mcse_quantile(matrix(per_draw, n_keep, n_chains), probs = p))
    stopifnot(abs(mcse_mean(matrix(per_draw, n_keep, n_chains)) - r2s$mcse_mean) < 1e-15,
              abs(brms_summary[1, "Estimate"] - r2s$mean) < 1e-12)
    r2_draws[[nm]] <- per_draw
    r2_out[[nm]] <- c(
      list(call = sprintf("bayes_R2(fit, re_formula = %s)", r2[[nm]]$re_text)),
      row_list(r2s, 1),
      list(mcse_q2.5 = mq[1], mcse_q50 = mq[2], mcse_q97.5 = mq[3],
           mcse_method = "posterior::mcse_mean(matrix(bayes_R2(fit, re_formula, summary = FALSE), 2000, 4)) (iterations x chains); mcse_sd, ess_*, rhat by summarise_draws on the same array; mcse_q* by posterior::mcse_quantile",
           brms_summary = list(Estimate = brms_summary[1, "Estimate"],
                               Est.Error = brms_summary[1, "Est.Error"],
                               Q2.5 = brms_summary[1, "Q2.5"], Q97.5 = brms_summary[1, "Q97.5"]),
           mean_var_mu = mean(hand$var_mu), mean_var_residual = mean(hand$var_e),
           mu_definition = if (nm == "conditional") {
             if (key == "cbpp") "size * plogis(X b + r_herd) (expected count)" else "X b + Z r"
           } else {
             if (key == "cbpp") "size * plogis(X b) (expected count, random effects set to 0)" else "X b (random effects set to 0)"
           }))
  }

  ## draws_check: the first n_check post-warmup draws of chain 1 and brms's per-draw R2 for
  ## them, so that another implementation can recompute R2 from exactly the same draws.
  idx <- which(as.integer(dr$.chain) == 1L & as.integer(dr$.iteration) <= n_check)
  stopifnot(identical(idx, seq_len(n_check)))
  ## (a) as_draws_df's rows are rstan's draws in chain order: chain c of the stanfit's own
  ## (iterations x chains x variables) array equals the rows with .chain == c.
  ra <- as.array(fit$fit)
  common <- intersect(dimnames(ra)[[3]], colnames(dm))
  stopifnot(dim(ra)[1] == n_keep, dim(ra)[2] == n_chains, length(common) >= length(sp$vars),
            all(sp$vars %in% common))
  for (ch in seq_len(n_chains)) {
    stopifnot(identical(unname(ra[, ch, common]),
                        unname(dm[as.integer(dr$.chain) == ch, common, drop = FALSE])))
  }
  sdat <- standata(fit)
  X <- sdat$X
  b_names <- paste0("b_", colnames(X))
  stopifnot(identical(b_names, grep("^b_", colnames(dm), value = TRUE)))
  B <- unname(dm[idx, b_names, drop = FALSE])
  re <- fit$ranef
  stopifnot(identical(unique(re$group), if (key == "sleep") "Subject" else "herd"))
  g <- unique(re$group)
  levs <- attr(re, "levels")[[g]]
  terms <- re$coef[re$group == g]
  data_levels <- levels(sp$data[[g]])
  stopifnot(identical(levs, data_levels))
  r_list <- ranef(fit, summary = FALSE)[[g]]   # draws x levels x terms (brms's layout)
  stopifnot(identical(dimnames(r_list)[[2]], levs), identical(dimnames(r_list)[[3]], terms))
  R <- setNames(lapply(terms, function(tm) {
    m <- unname(dm[idx, sprintf("r_%s[%s,%s]", g, levs, tm), drop = FALSE])
    stopifnot(identical(m, unname(r_list[idx, , tm])))
    m
  }), terms)
  ## (b) bayes_R2 restricted to draw_ids = 1..n_check gives the same values as rows 1..n_check
  ## of the full bayes_R2(fit, summary = FALSE).
  r2_check <- list()
  d_ids <- list()
  for (nm in names(r2)) {
    sub <- bayes_R2(fit, re_formula = r2[[nm]]$re_formula, summary = FALSE, draw_ids = idx)
    stopifnot(nrow(sub) == n_check)
    r2_check[[nm]] <- r2_draws[[nm]][idx]
    d_ids[[nm]] <- max(abs(as.numeric(sub[, 1]) - r2_check[[nm]]))
    stopifnot(d_ids[[nm]] < 1e-12)
  }
  ## (c) R2 recomputed from the stored draws only, with brms's Stan data (X, J_1 = each row's
  ## level index into levs, Z_1_k = term k's covariate, trials) equals the stored bayes_R2.
  eta_fixed <- B %*% t(X)
  eta_full <- eta_fixed
  for (k in seq_along(terms)) {
    eta_full <- eta_full + sweep(R[[k]][, sdat$J_1, drop = FALSE], 2, sdat[[paste0("Z_1_", k)]], `*`)
  }
  to_mu <- if (key == "cbpp") function(eta) sweep(plogis(eta), 2, sdat$trials, `*`) else identity
  d_stored <- list(
    conditional = max(abs(r2_by_hand(y, to_mu(eta_full))$r2 - r2_check$conditional)),
    marginal = max(abs(r2_by_hand(y, to_mu(eta_fixed))$r2 - r2_check$marginal)))
  stopifnot(d_stored$conditional < 1e-12, d_stored$marginal < 1e-12)
  ind <- 8L   # indentation of draws_check's keys in the pretty-printed file
  draws_check <- list(
    description = sprintf("The first %d post-warmup draws of chain 1 (rows 1..%d of as_draws_df(fit) and of bayes_R2(fit, summary = FALSE)) and brms's per-draw bayes_R2 for them. Numbers with 17 significant digits.", n_check, n_check),
    chain = 1L,
    iterations = I(as.integer(dr$.iteration[idx])),
    draw_rows = I(idx),
    ndraws = n_check,
    b_names = I(b_names),
    model_matrix_columns = I(colnames(X)),
    b = setNames(lapply(seq_along(b_names), function(j) json17(B[, j])), b_names))
  draws_check[[paste0("r_", g)]] <- c(
    list(group = g, levels = I(levs), terms = I(terms),
         name_pattern = sprintf("r_%s[<level>,<term>]", g),
         layout = sprintf("for each term: a %d x %d matrix, rows = draws (JSON: array of rows), column j = levels[j]", n_check, length(levs))),
    setNames(lapply(terms, function(tm) json17(R[[tm]], ind + 2L)), terms))
  if (key == "sleep") draws_check$sigma <- json17(unname(dm[idx, "sigma"]))
  draws_check$bayes_R2 <- list(
    conditional = json17(r2_check$conditional),
    marginal = json17(r2_check$marginal),
    re_formula = list(conditional = "NULL", marginal = "NA"))
  draws_check$checks <- list(
    draw_order = "as_draws_df(fit) rows are chain 1 iterations 1..2000, then chain 2, ... (.chain/.iteration columns) and equal, chain by chain, as.array(fit$fit)[, chain, ] (rstan's own post-warmup array); bayes_R2(fit, summary = FALSE) rows are in that order: every per-draw R2 recomputed from as_draws_df draws matches (checks.*.max_abs_diff_r2_hand_vs_bayes_R2), and bayes_R2(fit, draw_ids = 1:100) equals its rows 1..100",
    level_order = "levels = attr(fit$ranef, 'levels') = dimnames(ranef(fit, summary = FALSE))[[2]] = the data factor's levels; the stored matrices equal ranef(fit, summary = FALSE)[1:100, , term]",
    max_abs_diff_bayes_R2_draw_ids_vs_rows = d_ids,
    max_abs_diff_r2_from_stored_draws_vs_bayes_R2 = d_stored,
    r2_from_stored_draws = "mu = X b + sum_k Z_1_k * r_k[, J_1] (sleep), size * plogis(X b + r_herd[, J_1]) (cbpp), from standata(fit); marginal without the r terms; R2 = rowVars(mu) / (rowVars(mu) + rowVars(y - mu))")
  draws_check_values[[key]] <- list(b = B, r = R, sigma = if (key == "sleep") unname(dm[idx, "sigma"]),
                                    bayes_R2 = r2_check)

  ## Convergence.
  r2_rhat <- c(r2_out$conditional$rhat, r2_out$marginal$rhat)
  np <- nuts_params(fit)
  dv <- np[np$Parameter == "divergent__", ]
  td <- np[np$Parameter == "treedepth__", ]
  nd <- sum(dv$Value)
  rhat_max <- max(c(s$rhat, r2_rhat))
  if (nd > 0) note_problem(key, sprintf("%d divergent transitions", nd))
  if (rhat_max > 1.01) note_problem(key, "R-hat > 1.01")
  if (min(s$ess_bulk) < 400) note_problem(key, "ess_bulk < 400")
  if (length(cap$warnings)) note_problem(key, paste("warnings:", paste(cap$warnings, collapse = " | ")))
  ps <- as.data.frame(prior_summary(fit))
  el <- rstan::get_elapsed_time(fit$fit)
  cases[[key]] <- list(
    engine = "brms (rstan backend)",
    formula = sp$formula_text,
    family = sp$family_text,
    data = sp$data_text,
    nobs = nrow(sp$data),
    y = if (key == "cbpp") "get_y(fit) = incidence (counts)" else "get_y(fit) = Reaction",
    priors = I(sp$prior_text),
    prior_summary = lapply(seq_len(nrow(ps)), function(i) {
      p <- ps[i, ]
      list(prior = p$prior, class = p$class, coef = p$coef, group = p$group, lb = p$lb, ub = p$ub,
           source = p$source)
    }),
    chains = n_chains, iter = n_iter, warmup = n_warmup, draws_per_chain = n_keep,
    seed = sp$seed, adapt_delta = 0.8, max_treedepth = 10L,
    parameter_names = I(sp$vars),
    parameters = setNames(lapply(seq_len(nrow(s)), function(i) row_list(s, i)), s$variable),
    summary_functions = summary_functions_text,
    bayes_R2 = r2_out,
    checks = checks,
    divergences = as.integer(nd),
    divergences_per_chain = I(as.integer(tapply(dv$Value, dv$Chain, sum))),
    max_treedepth_hits = as.integer(sum(td$Value >= 10)),
    rhat_max = rhat_max,
    rhat_max_parameters = max(s$rhat),
    stancode = as.character(stancode(fit)),
    warnings = I(cap$warnings),
    messages = I(cap$messages),
    seconds = cap$seconds,
    sampling_seconds_per_chain = list(warmup = I(unname(el[, "warmup"])), sample = I(unname(el[, "sample"]))),
    compile_and_overhead_seconds = cap$seconds - sum(el),
    post_processing_seconds = proc.time()[["elapsed"]] - t_post,
    draws_check = draws_check
  )
}

out <- list(
  R_version = R.version.string,
  brms_version = as.character(packageVersion("brms")),
  rstan_version = as.character(packageVersion("rstan")),
  StanHeaders_version = as.character(packageVersion("StanHeaders")),
  posterior_version = as.character(packageVersion("posterior")),
  matrixStats_version = as.character(packageVersion("matrixStats")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  notes = I(c(
    "bayes_R2 (brms 2.18.0, brms:::.bayes_R2): per draw s, R2[s] = var(mu[s, ]) / (var(mu[s, ]) + var(y - mu[s, ])), var = sample variance over the n rows (matrixStats::rowVars, denominator n - 1, which cancels). mu = posterior_epred(fit, re_formula): the residual-based R2 of Gelman, Goodrich, Gabry & Vehtari (2019), not the model-based one.",
    "conditional: re_formula = NULL, mu includes the random effects of each draw. marginal: re_formula = NA, mu = the fixed part only (random effects 0), so y - mu also contains the random effects.",
    "Binomial (cbpp): posterior_epred is trials * p = size * plogis(eta) (brms:::posterior_epred_binomial: prep$dpars$mu * trials), the expected COUNT, and y = incidence (the count). The R2 is on the count scale, not on the proportion scale incidence / size. Verified: posterior_epred equals size * plogis(X b [+ r_herd]) recomputed from the draws (checks.*.max_abs_diff_mu_hand_vs_posterior_epred).",
    "Draw order: bayes_R2(fit, summary = FALSE) is in chain order (chain 1 iterations 1..2000, then chain 2, ...), the order of as_draws_df(fit); verified by recomputing every per-draw R2 from mu built with as_draws_df (checks.*.max_abs_diff_r2_hand_vs_bayes_R2). mcse_mean = posterior::mcse_mean of the (2000 x 4) iterations x chains matrix.",
    "Quantiles: posterior::quantile2 (type 7). brms_summary is bayes_R2(fit, re_formula)'s own table (Estimate = mean, Est.Error = sd, Q2.5, Q97.5).",
    "parameters: posterior::summarise_draws over 4 x 2000 post-warmup draws of b_*, sd_*, cor_*, sigma (brms names). Priors: see each case's priors and prior_summary; brms bounds sd and sigma below at 0, so the normal priors on them are half-normals.",
    "convergence_problems lists divergences, R-hat > 1.01 (parameters or R2), ess_bulk < 400 and sampler warnings; empty means none.",
    "seconds: wall time of each brm() call (compilation + sampling, cores = 1) on the machine that made the file."
  )),
  cases = cases,
  convergence_problems = I(problems)
)
out$total_seconds <- proc.time()[["elapsed"]] - t_start

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE,
                  na = "null", null = "null", json_verbatim = TRUE), out_file)

## Read draws_check back: the values must be the same doubles, and R2 must match.
back <- fromJSON(out_file, simplifyVector = TRUE)
for (key in names(draws_check_values)) {
  v <- draws_check_values[[key]]
  b <- back$cases[[key]]$draws_check
  stopifnot(identical(names(b$b), b$b_names),
            identical(as.numeric(unlist(b$b[b$b_names])), as.numeric(v$b)))
  rg <- b[[grep("^r_", names(b), value = TRUE)]]
  for (tm in rg$terms) {
    stopifnot(is.matrix(rg[[tm]]), identical(rg[[tm]], v$r[[tm]]))
  }
  stopifnot(identical(b$bayes_R2$conditional, v$bayes_R2$conditional),
            identical(b$bayes_R2$marginal, v$bayes_R2$marginal),
            is.null(v$sigma) || identical(b$sigma, v$sigma))
}

## ---------------------------------------------------------------------------
## Print a summary.
## ---------------------------------------------------------------------------
cat(sprintf("\n%s; brms %s, rstan %s, posterior %s\n", out$R_version, out$brms_version,
            out$rstan_version, out$posterior_version))
for (key in names(cases)) {
  f <- cases[[key]]
  cat(sprintf("\n== %s  %s\n", key, f$formula))
  s <- do.call(rbind, lapply(names(f$parameters), function(v) data.frame(variable = v, f$parameters[[v]])))
  print(format(s, digits = 5), row.names = FALSE, width = 160)
  for (nm in names(f$bayes_R2)) {
    r <- f$bayes_R2[[nm]]
    cat(sprintf("R2 %-11s mean %.6f  mcse %.6f  sd %.6f  q2.5 %.6f  q50 %.6f  q97.5 %.6f  ess_bulk %.0f  rhat %.4f\n",
                nm, r$mean, r$mcse_mean, r$sd, r$q2.5, r$q50, r$q97.5, r$ess_bulk, r$rhat))
  }
  v <- draws_check_values[[key]]$bayes_R2
  cat(sprintf("draws_check (chain 1, draws 1..%d): R2 conditional %s ...; marginal %s ...\n",
              n_check, paste(sprintf("%.17g", v$conditional[1:3]), collapse = ", "),
              paste(sprintf("%.17g", v$marginal[1:3]), collapse = ", ")))
  cat(sprintf("divergences %d  treedepth hits %d  rhat max %.4f  %.1f s (sampling %.1f s)\n",
              f$divergences, f$max_treedepth_hits, f$rhat_max, f$seconds,
              f$seconds - f$compile_and_overhead_seconds))
}
cat("\nconvergence problems:", if (length(problems)) paste(problems, collapse = "\n") else "none", "\n")
cat(sprintf("total %.1f s\nwrote %s\n", out$total_seconds, out_file))
