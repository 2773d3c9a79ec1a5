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
#   counting_monotone 50 synthetic patients (seeds 4 and 44), (start, stop] rows with a
#                     time-varying w that most events follow (large coefficient: the
#                     profile of w reaches where the risk sets nearly underflow) and a
#                     rare x without events; coxphf gives no p-value for x (null)
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
ref <- file.path("tests", "reference", "data")
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

# 50 patients: rare x (15%) with its events removed, z, an exponential time in 0.1 days
set.seed(4)
cm <- data.frame(id = 1:50, x = as.integer(runif(50) < 0.15), z = round(rnorm(50), 2))
cm$time <- round(rexp(50, 0.1 * exp(0.8 * cm$x + 0.3 * cm$z)), 1) + 0.1
cens <- round(runif(50, 2, 25), 1)
cm$event <- as.integer(cm$time <= cens)
cm$time <- round(pmin(cm$time, cens), 1)
cm$event[cm$x == 1] <- 0L
# each patient split at a random cut: w = 0 before, 1 after
set.seed(44)
cut <- round(runif(50, 0.2, 0.9) * cm$time, 1)
ok <- cut > 0 & cut < cm$time
before <- data.frame(cm[, c("id", "x", "z")], start = 0, stop = ifelse(ok, cut, cm$time),
                     event = ifelse(ok, 0L, cm$event), w = 0)
after <- data.frame(cm[ok, c("id", "x", "z")], start = cut[ok], stop = cm$time[ok],
                    event = cm$event[ok], w = 1)
counting_monotone <- rbind(before, after)
counting_monotone <- counting_monotone[order(counting_monotone$id, counting_monotone$start), ]

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
               list(coxph_x_coef = unname(coef(plain)["x"]))),
  counting_monotone = one_case(Surv(start, stop, event) ~ x + z + w, counting_monotone,
                               "counting_monotone", c("x", "z", "w"),
                               list(time = "stop", start = "start", event = "event",
                                    covariates = c("x", "z", "w")))
)

doc <- list(
  description = paste("Firth-penalised Cox regression (coxphf, Breslow ties, tight",
                      "tolerances) for rwe_cart; see make_firth.R"),
  r_version = R.version.string,
  packages = list(survival = as.character(packageVersion("survival")),
                  coxphf = as.character(packageVersion("coxphf")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  data = list(monotone = monotone, counting_monotone = counting_monotone),
  cases = cases)
writeLines(toJSON(doc, digits = I(15), auto_unbox = TRUE, pretty = TRUE, na = "null"),
           out_file)
