# More mstate 0.3.3 values for tests/test_multistate.py, on the simulated illness-death data
# of make_multistate_survfit.R (integer days, many tied times): paths the EBMT reference
# does not take. R 4.2.2, survival 3.5-3, mstate 0.3.3 (install mstate from its source
# package with R CMD INSTALL). Run from tests/data/: Rscript make_multistate_mstate.R
# (after make_multistate_survfit.R, which writes the data).
suppressMessages({library(mstate); library(jsonlite)})
wide <- read.csv("multistate_survfit_wide.csv")
# two covariates without randomness: x binary, z on a grid
wide$x <- wide$id %% 2
wide$z <- (wide$id * 37) %% 50 / 10
tmat <- trans.illdeath(names = c("Infused", "Response", "Death"))
ms <- msprep(time = c(NA, "resp_time", "death_time"), status = c(NA, "resp_status", "death_status"),
             data = wide, trans = tmat, keep = c("x", "z"), id = "id")
ms <- expand.covs(ms, c("x", "z"), append = TRUE, longnames = FALSE)
cols <- function(df) as.list(as.data.frame(df))
# Efron ties in the Cox model (msfit's agmssurv, method = 2)
ce <- coxph(Surv(Tstart, Tstop, status) ~ x.1 + x.2 + x.3 + z.1 + z.2 + z.3 + strata(trans),
            data = ms, method = "efron")
nd <- data.frame(x.1 = c(1, 0, 0), x.2 = c(0, 1, 0), x.3 = c(0, 0, 1),
                 z.1 = c(0.5, 0, 0), z.2 = c(0, 0.5, 0), z.3 = c(0, 0, 0.5), trans = 1:3, strata = 1:3)
msfe <- msfit(ce, newdata = nd, trans = tmat)
pte <- probtrans(msfe, predt = 0)
# non-parametric: Greenwood forward from predt > 0 and fixed horizon, Aalen fixed horizon at a
# time that is not an event time
c0 <- coxph(Surv(Tstart, Tstop, status) ~ strata(trans), data = ms, method = "breslow")
msf0 <- msfit(c0, trans = tmat)
msf0g <- msfit(c0, trans = tmat, vartype = "greenwood")
ptg <- probtrans(msf0g, predt = 200, method = "greenwood")
ptgf <- probtrans(msf0g, predt = 300, direction = "fixedhorizon", method = "greenwood")
ptaf <- probtrans(msf0, predt = 300.5, direction = "fixedhorizon")
lm <- LMAJ(ms, s = 60, from = 2)
elos <- ELOS(probtrans(msf0, predt = 0), tau = 365)
out <- list(
  case = "multistate_mstate",
  description = paste("mstate on the simulated illness-death data of make_multistate_survfit.R:",
                      "Cox model with Efron ties (msfit, probtrans), Greenwood forward (predt 200)",
                      "and fixed horizon (300), Aalen fixed horizon at 300.5, LMAJ from Response at 60, ELOS."),
  data = "multistate_survfit_wide.csv",
  values = list(
    cox_efron = list(term = names(coef(ce)), coef = unname(coef(ce))),
    msfit_efron = list(Haz = cols(msfe$Haz), varHaz = cols(msfe$varHaz)),
    probtrans_efron_from1 = cols(pte[[1]]), probtrans_efron_from2 = cols(pte[[2]]),
    probtrans_greenwood_predt200_from1 = cols(ptg[[1]]),
    probtrans_greenwood_fixedhorizon300_from1 = cols(ptgf[[1]]),
    probtrans_greenwood_fixedhorizon300_from2 = cols(ptgf[[2]]),
    probtrans_aalen_fixedhorizon3005_from1 = cols(ptaf[[1]]),
    lmaj_s60_from2 = cols(lm),
    elos_tau365 = unname(elos)))
write_json(out, "multistate_mstate.json", digits = NA, auto_unbox = TRUE, na = "null", pretty = FALSE)
