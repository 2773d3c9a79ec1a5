# Aalen-Johansen of an illness-death model by survival::survfit (multi-state, IJ variance),
# for tests/test_multistate.py. R 4.2.2, survival 3.5-3.
# Run from tests/data/: Rscript make_multistate_survfit.R
# Writes multistate_survfit_wide.csv (the simulated patients, one row each) and
# multistate_survfit.json (survfit's state probabilities and standard errors).
suppressMessages({library(survival); library(jsonlite)})
set.seed(20261206)
n <- 400
# days since infusion, integers (ties, as in registry data): response, then progression/death
t_resp  <- ceiling(rexp(n, 1 / 60))
t_death <- ceiling(rexp(n, 1 / 300))
t_after <- ceiling(rexp(n, 1 / 200))
cens    <- ceiling(runif(n, 30, 720))
resp_first <- t_resp < t_death
entry_resp <- ifelse(resp_first & t_resp < cens, t_resp, NA)
end_time <- ifelse(is.na(entry_resp), pmin(t_death, cens), pmin(entry_resp + t_after, cens))
died <- ifelse(is.na(entry_resp), t_death <= cens, entry_resp + t_after <= cens)
wide <- data.frame(id = 1:n,
                   resp_time = ifelse(is.na(entry_resp), end_time, entry_resp),
                   resp_status = as.integer(!is.na(entry_resp)),
                   death_time = end_time, death_status = as.integer(died))
write.csv(wide, "multistate_survfit_wide.csv", row.names = FALSE)
# counting-process rows for survfit: (tstart, tstop] with the state entered at tstop
a <- data.frame(id = wide$id, tstart = 0,
                tstop = ifelse(wide$resp_status == 1, wide$resp_time, wide$death_time),
                event = ifelse(wide$resp_status == 1, "Response",
                               ifelse(wide$death_status == 1, "Death", "censor")),
                istate = "Infused")
r <- wide[wide$resp_status == 1, ]
b <- data.frame(id = r$id, tstart = r$resp_time, tstop = r$death_time,
                event = ifelse(r$death_status == 1, "Death", "censor"), istate = "Response")
long <- rbind(a, b)
long$event <- factor(long$event, levels = c("censor", "Response", "Death"))
long$istate <- factor(long$istate, levels = c("Infused", "Response", "Death"))
fit <- survfit(Surv(tstart, tstop, event) ~ 1, data = long, id = id, istate = istate)
st <- fit$states
out <- list(
  case = "multistate_survfit",
  description = paste("Simulated illness-death model (Infused -> Response -> Death, Infused -> Death),",
                      "integer days with ties; survival::survfit multi-state Aalen-Johansen with",
                      "infinitesimal-jackknife standard errors, from Infused at time 0."),
  data = "multistate_survfit_wide.csv",
  r_call = "survfit(Surv(tstart, tstop, event) ~ 1, data = long, id = id, istate = istate)",
  values = list(states = st, time = fit$time, n_risk = unname(as.list(as.data.frame(fit$n.risk))),
                pstate = setNames(as.list(as.data.frame(fit$pstate)), st),
                std_err = setNames(as.list(as.data.frame(fit$std.err)), st)))
write_json(out, "multistate_survfit.json", digits = NA, auto_unbox = TRUE, na = "null", pretty = FALSE)
