# Self-made R reference values for rwe_cart.survival.logrank, beyond tests/reference:
#   * Fleming–Harrington weights: survdiff(rho = 1) and rho = 0.5 (2 groups, 4 groups,
#     stratified), on whole-number times (mgus2 futime in months, lung time in days);
#   * left truncation: survdiff has no counting-process form, so the reference is the
#     score test of coxph(Surv(entry, time, status) ~ group) at beta = 0 on simulated
#     whole-number data with no tied times, where it equals the log-rank statistic;
#     O - E and its variance come from the score residuals and the information matrix.
#
# Run from the repository root (writes tests/data/logrank_rho.json, about 1 s):
#   Rscript tests/data/make_logrank_rho.R
# The reference CSVs are read from tests/reference (run from the repository root).
# Made with R 4.2.2, survival 3.5-3, jsonlite 1.8.4; rerunning gives identical output.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

ref <- file.path("tests", "reference")
out_file <- file.path("tests", "data", "logrank_rho.json")
mgus2 <- read.csv(file.path(ref, "data", "mgus2.csv"))
lung <- read.csv(file.path(ref, "data", "lung.csv"))

# survdiff's printed quantities; obs/exp are summed over strata, as print.survdiff
sd_values <- function(fit) {
  obs <- fit$obs
  exp <- fit$exp
  if (is.matrix(obs)) {
    obs <- rowSums(obs)
    exp <- rowSums(exp)
  }
  list(group = names(fit$n), n = as.vector(fit$n), observed = as.vector(obs),
       expected = as.vector(exp), var = unname(fit$var), chisq = fit$chisq,
       df = sum(exp > 0) - 1, p = fit$pvalue)
}

case <- function(call_text, data_name) {
  fit <- eval(parse(text = call_text))
  list(data = data_name, r_call = call_text, values = sd_values(fit))
}

cases <- list(
  mgus2_sex_rho1 = case(
    "survdiff(Surv(futime, death) ~ sex, data = mgus2, rho = 1)", "mgus2"),
  mgus2_sex_strata_rho1 = case(
    "survdiff(Surv(futime, death) ~ sex + strata(agecat), data = mgus2, rho = 1)", "mgus2"),
  mgus2_agecat_rho1 = case(
    "survdiff(Surv(futime, death) ~ agecat, data = mgus2, rho = 1)", "mgus2"),
  mgus2_agecat_rho05 = case(
    "survdiff(Surv(futime, death) ~ agecat, data = mgus2, rho = 0.5)", "mgus2"),
  lung_sex_rho1 = case(
    "survdiff(Surv(time, status) ~ sex, data = lung, rho = 1)", "lung")
)

# Left truncation: distinct whole-number exit times (so no tied times at all), entries
# that often coincide with other subjects' exit times (entry at t: not at risk at t).
set.seed(20240601)
n <- 90
time <- sample(31:400, n)
entry <- pmin(sample(0:60, n, replace = TRUE), time - 1L)
status <- rbinom(n, 1, 0.7)
group <- sample(c("a", "b", "c"), n, replace = TRUE)
trunc <- data.frame(entry = entry, time = time, status = status, group = group)

tcall <- paste("coxph(Surv(entry, time, status) ~ group, data = trunc,",
               "ties = \"breslow\", init = c(0, 0), iter.max = 0)")
cfit <- eval(parse(text = tcall))
u <- colSums(residuals(cfit, type = "score"))          # O - E of groups b, c
info <- solve(cfit$var)                                 # Var(O - E) of groups b, c
cases$left_truncation <- list(
  data = "inline",
  r_call = tcall,
  values = list(
    group = c("b", "c"),
    o_minus_e = unname(u),
    var = unname(info),
    chisq = unname(cfit$score),
    df = length(u),
    p = pchisq(unname(cfit$score), length(u), lower.tail = FALSE)
  ),
  frame = as.list(trunc)
)

doc <- list(
  description = paste("Fleming-Harrington (survdiff rho) and left-truncated log-rank",
                      "reference values for rwe_cart; see make_logrank_rho.R"),
  r_version = R.version.string,
  packages = list(survival = as.character(packageVersion("survival")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  cases = cases
)
writeLines(toJSON(doc, auto_unbox = TRUE, digits = NA, pretty = TRUE), out_file)
cat("wrote", out_file, "\n")
