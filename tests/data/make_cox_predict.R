# Self-made R reference values for the confidence limits of CoxModel.predict_survival in
# rwe_cart.survival.cox: survfit(coxph(...), newdata = profiles) and summary(, times =),
# i.e. R's survfit.coxph (stype 2, ctype 2 for Efron ties and 1 for Breslow), with the
# standard error of the cumulative hazard at a covariate profile
#   var = (sum dLambda_0 variance terms + d(t)' V d(t)) * exp(2 x'b)
# (agsurv / coxsurv.fit) and log, log-log or plain limits.
#
# Cases: time-dependent Cox on the Stanford heart data (counting process, Efron, tied
# event times), the same with a robust variance clustered on id (V is then the robust
# variance), and a Breslow fit on lung stratified by sex (each profile in its stratum).
#
# Run from the repository root (reads tests/reference/data, writes
# tests/data/cox_predict.json, about 1 s):
#   Rscript tests/data/make_cox_predict.R
# Made with R 4.2.2, survival 3.5-3, jsonlite 1.8.4; rerunning gives identical output.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
ref <- file.path("tests", "reference", "data")
out_file <- file.path("tests", "data", "cox_predict.json")
heart <- read.csv(file.path(ref, "heart.csv"))
lung <- read.csv(file.path(ref, "lung.csv"))

heart_profiles <- data.frame(age = c(-10, 5), year = c(3, 1), surgery = c(0, 1),
                             transplant = c(1, 0))
lung_profiles <- data.frame(age = c(50, 70), sex = c(1, 2))

one_case <- function(fit, call, data_name, profiles, times, conf_type, options) {
  sf <- survfit(fit, newdata = profiles, conf.type = conf_type)
  s <- summary(sf, times = times)
  # one column per profile, or (strata matched to the profiles) one block per profile
  mat <- function(x) if (is.matrix(x)) as.vector(x) else x
  profile <- if (is.matrix(s$surv)) rep(seq_len(ncol(s$surv)), each = nrow(s$surv))
             else as.integer(s$strata)
  list(call = call, data = data_name, profiles = profiles, times = times,
       options = options,
       profile = profile - 1L, time = if (is.matrix(s$surv))
         rep(s$time, ncol(s$surv)) else s$time,
       survival = mat(s$surv), cumhaz = mat(s$cumhaz), std_err = mat(s$std.err),
       std_chaz = mat(s$std.chaz), lower = mat(s$lower), upper = mat(s$upper))
}

heart_fit <- coxph(Surv(start, stop, event) ~ age + year + surgery + transplant,
                   data = heart)
heart_robust <- coxph(Surv(start, stop, event) ~ age + year + surgery + transplant +
                        cluster(id), data = heart)
lung_fit <- coxph(Surv(time, status) ~ age + strata(sex), data = lung, ties = "breslow")
heart_times <- c(5, 30, 100, 365, 1000)
lung_times <- c(60, 200, 400, 700)
heart_cov <- list(time = "stop", start = "start", event = "event",
                  covariates = c("age", "year", "surgery", "transplant"))

cases <- list(
  heart_efron_log = one_case(
    heart_fit, "coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, data = heart)",
    "heart", heart_profiles, heart_times, "log", c(heart_cov, conf_type = "log")),
  heart_efron_loglog = one_case(
    heart_fit, "coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, data = heart)",
    "heart", heart_profiles, heart_times, "log-log", c(heart_cov, conf_type = "log-log")),
  heart_robust_plain = one_case(
    heart_robust, "coxph(Surv(start, stop, event) ~ age + year + surgery + transplant + cluster(id), data = heart)",
    "heart", heart_profiles, heart_times, "plain",
    c(heart_cov, cluster = "id", conf_type = "plain")),
  lung_strata_breslow = one_case(
    lung_fit, "coxph(Surv(time, status) ~ age + strata(sex), data = lung, ties = \"breslow\")",
    "lung", lung_profiles, lung_times, "log",
    list(time = "time", event = "status", covariates = "age", strata = "sex",
         ties = "breslow", conf_type = "log"))
)

doc <- list(
  description = paste("Confidence limits of predicted survival at covariate profiles",
                      "(survfit.coxph, summary(, times =)) for rwe_cart; see",
                      "make_cox_predict.R"),
  r_version = R.version.string,
  packages = list(survival = as.character(packageVersion("survival")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  cases = cases)
writeLines(toJSON(doc, digits = I(15), auto_unbox = TRUE, pretty = TRUE, na = "null"),
           out_file)
