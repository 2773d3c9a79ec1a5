# Self-made R reference values for the Firth-penalised Cox model (rwe_cart cox(firth=True))
# from R's coxphf 1.13.4 (Heinze & Schemper), fitted with tight tolerances so that the
# coefficients are at the optimum to ~1e-12 (coxphf's defaults stop at 1e-6).
#
# Cases (all Breslow ties, the only ties method coxphf has):
#   lung_age_sex      right-censored, two covariates, profile limits and p-values
#   lung_wald         the same with pl = FALSE (Wald limits and p-values)
#   heart_counting    Stanford heart data, (start, stop] rows, transplant time-varying
#   monotone          48 synthetic patients (seed 2026): nobody with x = 1 has an event,
#                     so the ordinary Cox fit diverges; Firth's estimate is finite
#
# coxphf fits standardised covariates and reports l*(beta) on that scale; `loglik` here
# is converted to the original scale, l* = coxphf's + sum(log(sd(x_j))).
#
# coxphf is not in Debian: it was installed from its CRAN source package
# (R CMD INSTALL coxphf_1.13.4). Run from the repository root (about 1 s):
#   Rscript tests/data/make_firth.R
# Made with R 4.2.2, survival 3.5-3, coxphf 1.13.4, jsonlite 1.8.4.

suppressPackageStartupMessages({
  library(survival)
  library(coxphf)
  library(jsonlite)
})
ref <- file.path("..", "shared", "reference", "data")
out_file <- file.path("tests", "data", "firth.json")
heart <- read.csv(file.path(ref, "heart.csv"))
lung <- read.csv(file.path(ref, "lung.csv"))

set.seed(2026)
n <- 48
monotone <- data.frame(id = seq_len(n), x = rep(0:1, each = n / 2),
                       age = round(rnorm(n, 55, 10), 1))
monotone$time <- round(rexp(n, 0.01 * exp(0.02 * (monotone$age - 55))), 1) + 1
monotone$event <- as.integer(runif(n) < 0.7)
monotone$event[monotone$x == 1] <- 0L

one_case <- function(formula, data, data_name, covariates, options, pl = TRUE) {
  fit <- coxphf(formula, data = data, pl = pl, epsilon = 1e-13, gconv = 1e-13,
                maxit = 500)
  sds <- apply(as.matrix(data[, covariates, drop = FALSE]), 2, sd)
  list(call = paste(deparse(formula), collapse = ""), data = data_name,
       options = options, terms = names(fit$coefficients),
       coef = unname(fit$coefficients), se = unname(sqrt(diag(fit$var))),
       lower = unname(log(fit$ci.lower)), upper = unname(log(fit$ci.upper)),
       p = unname(fit$prob), loglik = fit$loglik + sum(log(sds)),
       lr_statistic = 2 * diff(fit$loglik), method_ci = fit$method.ci)
}

lung_opts <- list(time = "time", event = "status", covariates = c("age", "sex"))
heart_opts <- list(time = "stop", start = "start", event = "event",
                   covariates = c("age", "year", "surgery", "transplant"))
mono_opts <- list(time = "time", event = "event", covariates = c("x", "age"))

# the ordinary fit really diverges on `monotone` (recorded so the test can say so)
plain <- suppressWarnings(coxph(Surv(time, event) ~ x + age, data = monotone,
                                ties = "breslow"))

cases <- list(
  lung_age_sex = one_case(Surv(time, status) ~ age + sex, lung, "lung",
                          c("age", "sex"), lung_opts),
  lung_wald = one_case(Surv(time, status) ~ age + sex, lung, "lung", c("age", "sex"),
                       c(lung_opts, profile = FALSE), pl = FALSE),
  heart_counting = one_case(Surv(start, stop, event) ~ age + year + surgery + transplant,
                            heart, "heart", c("age", "year", "surgery", "transplant"),
                            heart_opts),
  monotone = c(one_case(Surv(time, event) ~ x + age, monotone, "monotone", c("x", "age"),
                        mono_opts),
               list(coxph_x_coef = unname(coef(plain)["x"])))
)

doc <- list(
  description = paste("Firth-penalised Cox regression (coxphf, Breslow ties, tight",
                      "tolerances) for rwe_cart; see make_firth.R"),
  r_version = R.version.string,
  packages = list(survival = as.character(packageVersion("survival")),
                  coxphf = as.character(packageVersion("coxphf")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  data = list(monotone = monotone),
  cases = cases)
writeLines(toJSON(doc, digits = I(15), auto_unbox = TRUE, pretty = TRUE, na = "null"),
           out_file)
