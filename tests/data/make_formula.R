# R reference values for rwe_cart's formula interface (tests/test_formula.py): Cox models
# with an interaction, a B-spline and R's specials, fitted by survival::coxph on the
# reference CSVs. Run from the repository root (about 1 s):
#   Rscript tests/data/make_formula.R
suppressMessages({library(survival); library(splines); library(jsonlite)})
ref <- file.path("tests", "reference", "data")
mg <- read.csv(file.path(ref, "mgus2_mspike_cc.csv"))
heart <- read.csv(file.path(ref, "heart.csv"))
fit_values <- function(fit) {
  s <- summary(fit)$coefficients
  list(term = rownames(s), coef = unname(coef(fit)), se = unname(sqrt(diag(fit$naive.var %||% fit$var))),
       robust_se = if (is.null(fit$naive.var)) NULL else unname(sqrt(diag(fit$var))),
       loglik = fit$loglik)
}
`%||%` <- function(a, b) if (is.null(a)) b else a
cases <- list(
  mgus2_interaction_spline = list(
    data = "mgus2_mspike_cc.csv",
    formula = "Surv(futime, death) ~ sex * mspike + bs(age, df = 4)",
    values = fit_values(coxph(Surv(futime, death) ~ sex * mspike + bs(age, df = 4), data = mg))),
  mgus2_strata_breslow = list(
    data = "mgus2_mspike_cc.csv",
    formula = "Surv(futime, death) ~ age + mspike:sex + strata(agecat)",
    ties = "breslow",
    values = fit_values(coxph(Surv(futime, death) ~ age + mspike:sex + strata(agecat), data = mg,
                              ties = "breslow"))),
  heart_counting_cluster = list(
    data = "heart.csv",
    formula = "Surv(start, stop, event) ~ age * transplant + year + cluster(id)",
    values = fit_values(coxph(Surv(start, stop, event) ~ age * transplant + year + cluster(id),
                              data = heart)))
)
out <- list(r_version = R.version.string, survival = as.character(packageVersion("survival")),
            cases = cases)
write_json(out, file.path("tests", "data", "formula.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE, na = "null")
