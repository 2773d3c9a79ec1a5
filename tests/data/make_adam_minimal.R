# R reference for tests/test_adam_minimal.py: Kaplan-Meier of OS and PFS by arm (TRT01A)
# on the minimal ADaM fixtures (tests/data/adam_minimal_adsl.csv, adam_minimal_adtte.csv,
# written by make_adam_minimal.py), with time = AVAL (days from TRTSDT) and event = 1 - CNSR.
#
# Run from the repository root (writes tests/data/adam_minimal_km.json, under a second):
#   Rscript tests/data/make_adam_minimal.R
# Made with R 4.2.2, survival 3.5-3, jsonlite 1.8.4; rerunning gives identical output.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
dir <- file.path("tests", "data")
adsl <- read.csv(file.path(dir, "adam_minimal_adsl.csv"), stringsAsFactors = FALSE)
adtte <- read.csv(file.path(dir, "adam_minimal_adtte.csv"), stringsAsFactors = FALSE)
d <- merge(adtte, adsl[, c("USUBJID", "TRT01A")], by = "USUBJID")
d$event <- 1 - d$CNSR

curves <- function(fit) {
  s <- summary(fit, censored = TRUE)
  arms <- sub("^TRT01A=", "", as.character(s$strata))
  lapply(split(seq_along(arms), factor(arms, levels = unique(arms))), function(i) list(
    time = s$time[i], n_risk = s$n.risk[i], n_event = s$n.event[i], n_censor = s$n.censor[i],
    surv = s$surv[i], std_err_surv = s$std.err[i], lower = s$lower[i], upper = s$upper[i]))
}
medians <- function(fit) {
  q <- quantile(fit, probs = 0.5)
  list(arm = sub("^TRT01A=", "", rownames(q$quantile)), median = unname(q$quantile[, 1]),
       lower = unname(q$lower[, 1]), upper = unname(q$upper[, 1]))
}
out <- list()
for (p in c("OS", "PFS")) {
  fit <- survfit(Surv(AVAL, event) ~ TRT01A, data = d[d$PARAMCD == p, ])
  out[[p]] <- list(curves = curves(fit), median = medians(fit))
}
out$call <- "survfit(Surv(AVAL, 1 - CNSR) ~ TRT01A, data = ADTTE[PARAMCD == p] merged with ADSL); conf.type = 'log'"
out$r_version <- R.version.string
out$survival_version <- as.character(packageVersion("survival"))
writeLines(toJSON(out, digits = 15, auto_unbox = TRUE, na = "null", pretty = TRUE),
           file.path(dir, "adam_minimal_km.json"))
