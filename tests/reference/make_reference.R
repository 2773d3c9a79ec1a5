## make_reference.R -- reference values from R for rwe_cart's survival tests.
##
## Run from inside tests/reference/:   Rscript make_reference.R
## Writes every input dataset to data/<name>.csv and every result to <case>.json.
## Every model is fitted on the CSV as read back from disk, so the CSV holds
## exactly the rows/columns (and the 15-significant-digit values) that R used.
##
## Written with R 4.2.2, survival 3.5-3, cmprsk 2.2-11, jsonlite 1.8.4.

suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(jsonlite)
})

stopifnot(packageVersion("survival") >= "3.0")
dir.create("data", showWarnings = FALSE)

## ---------------------------------------------------------------------------
## Helpers
## ---------------------------------------------------------------------------

# Write a data frame to data/<name>.csv (header, no row names, NA -> empty
# field) and return the data as read back, so fits use exactly the CSV.
export <- function(df, name) {
  path <- file.path("data", paste0(name, ".csv"))
  write.csv(df, path, row.names = FALSE, na = "")
  read.csv(path, stringsAsFactors = FALSE)
}
csv <- function(name) paste0("data/", name, ".csv")

# Write one case. Arrays stay arrays (I()), scalars are unboxed, NA -> null.
write_case <- function(case, description, data, r_call, values) {
  out <- list(case = case, description = description, data = I(data),
              r_call = I(r_call), values = values)
  write_json(out, paste0(case, ".json"), digits = NA, auto_unbox = TRUE,
             pretty = TRUE, na = "null")
}

# Column-wise object from a data frame; every column stays a JSON array.
cols <- function(df) lapply(as.list(df), function(v) I(unname(v)))

# Per-time table of a single-state survfit (one row per distinct event or
# censoring time), split by stratum. std_err is survfit's own std.err (Greenwood
# SE of -log S); std_err_surv = surv * std_err is the SE of S(t).
km_table <- function(fit) {
  df <- data.frame(time = fit$time, n_risk = fit$n.risk,
                   n_event = fit$n.event, n_censor = fit$n.censor)
  df$surv <- fit$surv
  df$std_err <- fit$std.err
  df$std_err_surv <- fit$surv * fit$std.err
  df$lower <- fit$lower
  df$upper <- fit$upper
  df$cumhaz <- fit$cumhaz            # Nelson-Aalen
  df$std_chaz <- fit$std.chaz
  if (is.null(fit$strata)) return(cols(df))
  grp <- rep(names(fit$strata), fit$strata)
  lapply(split(df, factor(grp, levels = names(fit$strata))), cols)
}

# summary(fit, times=) for a single-state survfit. NB: summary's std.err is
# already on the survival scale, and n.event / n.censor count what happened
# in (previous requested time, this time].
km_at <- function(fit, times) {
  s <- summary(fit, times = times)
  df <- data.frame(time = s$time, n_risk = s$n.risk, n_event = s$n.event,
                   n_censor = s$n.censor, surv = s$surv,
                   std_err_surv = s$std.err, lower = s$lower, upper = s$upper)
  if (is.null(s$strata)) return(cols(df))
  lapply(split(df, factor(s$strata, levels = levels(s$strata))), cols)
}

# Median (quantile 0.5) and its CI, from quantile.survfit.
km_median <- function(fit) {
  q <- quantile(fit, probs = 0.5)
  if (is.null(fit$strata)) {
    return(list(median = unname(q$quantile), lower = unname(q$lower),
                upper = unname(q$upper)))
  }
  list(strata = I(names(fit$strata)), median = I(unname(q$quantile[, 1])),
       lower = I(unname(q$lower[, 1])), upper = I(unname(q$upper[, 1])))
}

# Everything summary.coxph reports.
cox_values <- function(fit) {
  s <- summary(fit)
  cf <- s$coefficients
  robust <- "robust se" %in% colnames(cf)
  out <- list(
    term = I(rownames(cf)),
    coef = I(unname(cf[, "coef"])),
    exp_coef = I(unname(cf[, "exp(coef)"])),
    se = I(unname(cf[, "se(coef)"])))
  if (robust) out$robust_se <- I(unname(cf[, "robust se"]))
  out$z <- I(unname(cf[, "z"]))
  out$p <- I(unname(cf[, "Pr(>|z|)"]))
  out$exp_coef_lower95 <- I(unname(s$conf.int[, "lower .95"]))
  out$exp_coef_upper95 <- I(unname(s$conf.int[, "upper .95"]))
  out$n <- fit$n
  out$nevent <- fit$nevent
  out$ties <- fit$method
  out$loglik_null <- fit$loglik[1]
  out$loglik <- fit$loglik[2]
  # Global tests from the fit object (summary.coxph rounds the Wald statistic
  # to 2 decimals, so it is recomputed here from fit$wald.test).
  df <- sum(!is.na(coef(fit)))
  tst <- function(stat) list(statistic = unname(stat), df = df,
                             p = pchisq(unname(stat), df, lower.tail = FALSE))
  out$lrt <- tst(2 * (fit$loglik[2] - fit$loglik[1]))
  out$wald <- tst(fit$wald.test)      # uses the robust variance if robust
  out$score <- tst(fit$score)         # model-based score test at beta = 0
  if (robust) out$robust_score <- tst(fit$rscore)
  out$concordance <- unname(s$concordance[1])
  out$concordance_se <- unname(s$concordance[2])
  out
}

# cox.zph table (per term + GLOBAL).
zph_values <- function(fit, transform = "km") {
  z <- cox.zph(fit, transform = transform)
  list(transform = transform, term = I(rownames(z$table)),
       chisq = I(unname(z$table[, "chisq"])), df = I(unname(z$table[, "df"])),
       p = I(unname(z$table[, "p"])))
}

# survdiff: observed/expected summed over strata (as printed), chisq, df, p.
survdiff_values <- function(sd) {
  obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  exp <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  df <- sum(exp > 0) - 1                      # as print.survdiff
  list(group = I(names(sd$n)), n = I(as.vector(sd$n)), observed = I(obs),
       expected = I(unname(exp)), var = sd$var, chisq = sd$chisq, df = df,
       p = pchisq(sd$chisq, df, lower.tail = FALSE))
}

t0 <- proc.time()

## ===========================================================================
## A. Stanford heart transplant (jasa / heart)
## ===========================================================================
# jasa: one row per patient. Covariates are put on heart's scale:
#   age  = (accept.dt - birth.dt)/365.25 - 48   (heart$age, centred at 48)
#   year = (accept.dt - 1967-10-01)/365.25      (heart$year)
# heart (counting process) uses time = jasa day + 1 (heart$stop == jasa$futime+1
# for every patient), which is how it avoids a death at day 0.
jasa_df <- with(jasa, data.frame(
  id = seq_len(nrow(jasa)),
  futime = futime,
  fustat = fustat,
  transplant = transplant,                    # ever transplanted (0/1)
  wait_time = wait.time,                      # days to transplant, NA if none
  age = as.numeric(accept.dt - birth.dt) / 365.25 - 48,
  year = as.numeric(accept.dt - as.Date("1967-10-01")) / 365.25,
  surgery = surgery))
jasa_d <- export(jasa_df, "jasa")

heart_df <- heart
heart_df$transplant <- as.numeric(as.character(heart$transplant))  # factor -> 0/1
heart_d <- export(heart_df[, c("id", "start", "stop", "event", "age", "year",
                               "surgery", "transplant")], "heart")

## --- A1. KM of overall survival, three CI types -----------------------------
times_a1 <- c(30, 100, 365, 1000)
a1 <- list()
for (ct in c("log", "log-log", "plain")) {
  fit <- survfit(Surv(futime, fustat) ~ 1, data = jasa_d, conf.type = ct)
  a1[[gsub("-", "_", ct)]] <- list(
    conf_type = ct,
    table = km_table(fit),
    median = km_median(fit),
    at_times = km_at(fit, times_a1))
}
write_case("heart_km_jasa",
  "Kaplan-Meier of overall survival after acceptance (jasa: futime, fustat) with log, log-log and plain 95% CIs; median with CI and summary at fixed days.",
  csv("jasa"),
  c('fit <- survfit(Surv(futime, fustat) ~ 1, data = jasa, conf.type = ct)  # ct in "log", "log-log", "plain"',
    "quantile(fit, probs = 0.5)",
    "summary(fit, times = c(30, 100, 365, 1000))"),
  a1)

## --- A2. Naive Cox ("ever transplanted" as a baseline covariate) -------------
naive1 <- coxph(Surv(futime, fustat) ~ transplant + age, data = jasa_d)
naive2 <- coxph(Surv(futime, fustat) ~ age + year + surgery + transplant, data = jasa_d)
td1 <- coxph(Surv(start, stop, event) ~ transplant + age, data = heart_d)
write_case("heart_cox_naive",
  "Naive Cox on jasa treating ever-transplanted as a baseline covariate (immortal-time bias); the matching time-dependent fit on heart is included for contrast.",
  c(csv("jasa"), csv("heart")),
  c("coxph(Surv(futime, fustat) ~ transplant + age, data = jasa)",
    "coxph(Surv(futime, fustat) ~ age + year + surgery + transplant, data = jasa)",
    "coxph(Surv(start, stop, event) ~ transplant + age, data = heart)"),
  list(naive_transplant_age = cox_values(naive1),
       naive_full = cox_values(naive2),
       td_transplant_age = cox_values(td1)))

## --- A3. Time-dependent Cox on heart -------------------------------------
td_efron <- coxph(Surv(start, stop, event) ~ age + year + surgery + transplant,
                  data = heart_d)
td_breslow <- coxph(Surv(start, stop, event) ~ age + year + surgery + transplant,
                    data = heart_d, ties = "breslow")
td_robust <- coxph(Surv(start, stop, event) ~ age + year + surgery + transplant +
                     cluster(id), data = heart_d)
write_case("heart_cox_td",
  "Time-dependent (counting-process) Cox on heart with Efron and Breslow ties, robust SE clustered on id, concordance and cox.zph PH tests.",
  csv("heart"),
  c("coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, data = heart)",
    "coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, data = heart, ties = \"breslow\")",
    "coxph(Surv(start, stop, event) ~ age + year + surgery + transplant + cluster(id), data = heart)",
    "cox.zph(fit_efron, transform = t)  # t in \"km\" (default), \"rank\", \"identity\""),
  list(efron = cox_values(td_efron),
       breslow = cox_values(td_breslow),
       efron_robust_cluster_id = cox_values(td_robust),
       zph_efron = list(km = zph_values(td_efron, "km"),
                        rank = zph_values(td_efron, "rank"),
                        identity = zph_values(td_efron, "identity"))))

## --- A4. Mantel-Byar test = score test of a Breslow TD Cox -------------------
mb <- coxph(Surv(start, stop, event) ~ transplant, data = heart_d, ties = "breslow")
mb_s <- summary(mb)$sctest     # not rounded (only the Wald test is)
write_case("heart_mantel_byar",
  "Mantel-Byar test of transplant (time-dependent) as the score test of a Breslow-ties counting-process Cox model on heart.",
  csv("heart"),
  "summary(coxph(Surv(start, stop, event) ~ transplant, data = heart, ties = \"breslow\"))$sctest",
  list(statistic = unname(mb_s["test"]), df = unname(mb_s["df"]),
       p = unname(mb_s["pvalue"]), coef = unname(coef(mb))))

## --- A5. Simon-Makuch (extended KM with time-dependent group) ----------------
sm <- survfit(Surv(start, stop, event) ~ transplant, data = heart_d)
write_case("heart_simon_makuch",
  "Simon-Makuch curves: KM on counting-process data by current transplant status; patients enter the transplant=1 curve at transplant, so n_risk can rise (n_enter).",
  csv("heart"),
  "survfit(Surv(start, stop, event) ~ transplant, data = heart)",
  list(conf_type = sm$conf.type, curves = km_table(sm)))

## --- A6. Landmark at day 30 ------------------------------------------------
# Alive and in follow-up after day 30 (futime > 30); exposure = transplanted
# on or before day 30 (wait_time <= 30); clock reset to the landmark.
lm_df <- subset(jasa_d, futime > 30)
lm_df$tx30 <- as.numeric(lm_df$transplant == 1 & !is.na(lm_df$wait_time) &
                           lm_df$wait_time <= 30)
lm_df$time <- lm_df$futime - 30
lm_d <- export(lm_df[, c("id", "time", "fustat", "tx30", "futime", "wait_time",
                         "age")], "jasa_landmark30")
lm_cox <- coxph(Surv(time, fustat) ~ tx30, data = lm_d)
lm_sd <- survdiff(Surv(time, fustat) ~ tx30, data = lm_d)
write_case("heart_landmark30",
  "Landmark analysis at day 30 on jasa: patients with futime > 30, exposure = transplanted by day 30 (wait_time <= 30), time = futime - 30; Cox HR and log-rank.",
  csv("jasa_landmark30"),
  c("coxph(Surv(time, fustat) ~ tx30, data = jasa_landmark30)",
    "survdiff(Surv(time, fustat) ~ tx30, data = jasa_landmark30)"),
  list(n_landmark = nrow(lm_d), n_exposed = sum(lm_d$tx30),
       cox = cox_values(lm_cox), logrank = survdiff_values(lm_sd)))

## ===========================================================================
## B. mgus2: competing risks (PCM progression vs death without progression)
## ===========================================================================
mg_df <- with(mgus2, data.frame(id, age, sex = as.character(sex), mspike,
                                ptime, pstat, futime, death))
mg_df$etime <- with(mg_df, ifelse(pstat == 0, futime, ptime))
mg_df$event <- with(mg_df, ifelse(pstat == 0, 2 * death, 1))  # 0 cens, 1 pcm, 2 death
mg_df$sex_m <- as.numeric(mg_df$sex == "M")                   # numeric sex for crr
mg_df$agecat <- as.character(cut(mg_df$age, c(0, 60, 70, 80, 200)))
mg <- export(mg_df, "mgus2")
mg$ev <- factor(mg$event, 0:2, labels = c("censor", "pcm", "death"))
mg_cc <- export(subset(mg_df, !is.na(mspike)), "mgus2_mspike_cc")
times_b <- c(60, 120, 240, 360)

## --- B1. Aalen-Johansen via survfit (multi-state) ---------------------------
aj_table <- function(fit) {
  # One block per state: time, pstate, std.err, lower, upper. For multi-state
  # survfit, std.err is the SE of pstate itself (probability scale).
  one <- function(idx) {
    out <- list(time = I(fit$time[idx]), n_risk = I(unname(fit$n.risk[idx, 1])))
    for (k in seq_along(fit$states)) {
      out[[fit$states[k]]] <- list(pstate = I(fit$pstate[idx, k]),
                                   std_err = I(fit$std.err[idx, k]),
                                   lower = I(fit$lower[idx, k]),
                                   upper = I(fit$upper[idx, k]))
    }
    out
  }
  if (is.null(fit$strata)) return(one(seq_along(fit$time)))
  grp <- factor(rep(names(fit$strata), fit$strata), levels = names(fit$strata))
  lapply(split(seq_along(fit$time), grp), one)
}
aj_at <- function(fit, times) {
  s <- summary(fit, times = times)
  one <- function(idx) {
    out <- list(time = I(s$time[idx]))
    for (k in seq_along(fit$states)) {
      out[[fit$states[k]]] <- list(pstate = I(s$pstate[idx, k]),
                                   std_err = I(s$std.err[idx, k]),
                                   lower = I(s$lower[idx, k]),
                                   upper = I(s$upper[idx, k]))
    }
    out
  }
  if (is.null(s$strata)) return(one(seq_along(s$time)))
  lapply(split(seq_along(s$time), s$strata), one)
}
aj0 <- survfit(Surv(etime, ev) ~ 1, data = mg)
aj_sex <- survfit(Surv(etime, ev) ~ sex, data = mg)
write_case("mgus2_aalen_johansen",
  "Aalen-Johansen state probabilities (state (s0) = event-free, pcm, death) from multi-state survfit, overall and by sex, full curves and at 60/120/240/360 months.",
  csv("mgus2"),
  c('ev <- factor(event, 0:2, labels = c("censor", "pcm", "death"))',
    "fit0 <- survfit(Surv(etime, ev) ~ 1, data = mgus2)",
    "fit_sex <- survfit(Surv(etime, ev) ~ sex, data = mgus2)",
    "summary(fit, times = c(60, 120, 240, 360))"),
  list(states = I(aj0$states), conf_type = aj0$conf.type,
       overall = aj_table(aj0), overall_at_times = aj_at(aj0, times_b),
       by_sex = aj_table(aj_sex), by_sex_at_times = aj_at(aj_sex, times_b)))

## --- B2. cmprsk::cuminc, Gray test, timepoints ------------------------------
ci_sex <- with(mg, cuminc(etime, event, group = sex, cencode = 0))
ci_all <- with(mg, cuminc(etime, event, cencode = 0))
tp <- function(ci) {
  t <- timepoints(ci, times_b)
  list(curve = I(rownames(t$est)), time = I(times_b),
       est = lapply(split(t$est, row(t$est)), I),
       var = lapply(split(t$var, row(t$var)), I))
}
tp_fix <- function(x) { names(x$est) <- names(x$var) <- x$curve; x }
write_case("mgus2_cuminc",
  "cmprsk::cuminc cumulative incidence by sex (and overall): Gray's test per cause and estimates/variances at 60/120/240/360 months.",
  csv("mgus2"),
  c("ci_sex <- cuminc(ftime = etime, fstatus = event, group = sex, cencode = 0)",
    "ci_all <- cuminc(ftime = etime, fstatus = event, cencode = 0)",
    "ci_sex$Tests",
    "timepoints(ci, c(60, 120, 240, 360))"),
  list(gray_test = list(cause = I(rownames(ci_sex$Tests)),
                        stat = I(unname(ci_sex$Tests[, "stat"])),
                        p = I(unname(ci_sex$Tests[, "pv"])),
                        df = I(unname(ci_sex$Tests[, "df"]))),
       by_sex_at_times = tp_fix(tp(ci_sex)),
       overall_at_times = tp_fix(tp(ci_all))))

## --- B3. cmprsk::crr (Fine-Gray, cause 1 = PCM) ------------------------------
crr_values <- function(f) {
  s <- summary(f)$coef
  list(term = I(rownames(s)), coef = I(unname(s[, "coef"])),
       exp_coef = I(unname(s[, "exp(coef)"])), se = I(unname(s[, "se(coef)"])),
       z = I(unname(s[, "z"])), p = I(unname(s[, "p-value"])),
       converged = f$converged, loglik = f$loglik, loglik_null = f$loglik.null)
}
crr_2 <- with(mg, crr(etime, event, cov1 = cbind(age = age, sex_m = sex_m),
                      failcode = 1, cencode = 0))
crr_3 <- with(mg_cc, crr(etime, event,
                         cov1 = cbind(age = age, sex_m = sex_m, mspike = mspike),
                         failcode = 1, cencode = 0))
write_case("mgus2_crr",
  "Fine-Gray subdistribution hazard for PCM (cause 1) with cmprsk::crr: age + sex_m on all rows, and age + sex_m + mspike on complete mspike rows. sex_m = 1 male, 0 female.",
  c(csv("mgus2"), csv("mgus2_mspike_cc")),
  c("crr(etime, event, cov1 = cbind(age, sex_m), failcode = 1, cencode = 0)  # data = mgus2",
    "crr(etime, event, cov1 = cbind(age, sex_m, mspike), failcode = 1, cencode = 0)  # data = mgus2_mspike_cc"),
  list(age_sex = crr_values(crr_2), age_sex_mspike = crr_values(crr_3)))

## --- B4. survival::finegray + weighted coxph ---------------------------------
fg_df <- finegray(Surv(etime, ev) ~ ., data = mg[, c("id", "etime", "ev", "age", "sex")],
                  etype = "pcm")
fg <- export(fg_df[, c("id", "age", "sex", "fgstart", "fgstop", "fgstatus", "fgwt")],
             "mgus2_finegray_pcm")
fg_efron <- coxph(Surv(fgstart, fgstop, fgstatus) ~ age + sex, weights = fgwt, data = fg)
fg_breslow <- coxph(Surv(fgstart, fgstop, fgstatus) ~ age + sex, weights = fgwt,
                    data = fg, ties = "breslow")
fg_cl <- coxph(Surv(fgstart, fgstop, fgstatus) ~ age + sex, weights = fgwt,
               data = fg, cluster = id)
write_case("mgus2_finegray",
  "Fine-Gray for PCM via survival::finegray expansion + weighted coxph (age + sex). Robust SE is the default here (non-integer weights); breslow ties reproduce crr.",
  c(csv("mgus2"), csv("mgus2_finegray_pcm")),
  c('fg <- finegray(Surv(etime, ev) ~ ., data = mgus2[, c("id","etime","ev","age","sex")], etype = "pcm")',
    "coxph(Surv(fgstart, fgstop, fgstatus) ~ age + sex, weights = fgwt, data = fg)",
    "coxph(Surv(fgstart, fgstop, fgstatus) ~ age + sex, weights = fgwt, data = fg, ties = \"breslow\")",
    "coxph(Surv(fgstart, fgstop, fgstatus) ~ age + sex, weights = fgwt, data = fg, cluster = id)"),
  list(n_rows_input = nrow(mg), n_rows_expanded = nrow(fg),
       efron = cox_values(fg_efron), breslow = cox_values(fg_breslow),
       efron_cluster_id = cox_values(fg_cl)))

## --- B5. Cause-specific Cox --------------------------------------------------
cs1 <- coxph(Surv(etime, event == 1) ~ age + sex, data = mg)
cs2 <- coxph(Surv(etime, event == 2) ~ age + sex, data = mg)
write_case("mgus2_cause_specific_cox",
  "Cause-specific Cox models (Efron ties): PCM (event == 1) and death without PCM (event == 2), competing event treated as censored.",
  csv("mgus2"),
  c("coxph(Surv(etime, event == 1) ~ age + sex, data = mgus2)",
    "coxph(Surv(etime, event == 2) ~ age + sex, data = mgus2)"),
  list(pcm = cox_values(cs1), death = cox_values(cs2)))

## --- B6. Reverse KM median follow-up -----------------------------------------
rkm <- survfit(Surv(futime, 1 - death) ~ 1, data = mg)
write_case("mgus2_reverse_km",
  "Median potential follow-up by reverse Kaplan-Meier (censoring as the event) on mgus2 futime/death, with log-scale 95% CI.",
  csv("mgus2"),
  c("fit <- survfit(Surv(futime, 1 - death) ~ 1, data = mgus2)", "quantile(fit, probs = 0.5)"),
  km_median(rkm))

## --- B7. RMST -----------------------------------------------------------------
rm_fit <- survfit(Surv(futime, death) ~ sex, data = mg)
rm_tab <- summary(rm_fit, rmean = 360)$table
rm_tab_common <- summary(rm_fit, rmean = "common")$table
write_case("mgus2_rmst",
  "Restricted mean survival time by sex up to 360 months (and to the common max follow-up), from survfit's table (survival:::survmean).",
  csv("mgus2"),
  c("fit <- survfit(Surv(futime, death) ~ sex, data = mgus2)",
    "summary(fit, rmean = 360)$table      # same numbers as print(fit, rmean = 360)",
    "summary(fit, rmean = \"common\")$table"),
  list(tau_360 = list(strata = I(rownames(rm_tab)), tau = 360,
                      rmean = I(unname(rm_tab[, "rmean"])),
                      se = I(unname(rm_tab[, "se(rmean)"]))),
       tau_common = list(strata = I(rownames(rm_tab_common)),
                         tau = max(mg$futime),
                         rmean = I(unname(rm_tab_common[, "rmean"])),
                         se = I(unname(rm_tab_common[, "se(rmean)"])))))

## --- B8. Log-rank, plain and stratified ----------------------------------------
lr <- survdiff(Surv(futime, death) ~ sex, data = mg)
lr_st <- survdiff(Surv(futime, death) ~ sex + strata(agecat), data = mg)
write_case("mgus2_logrank",
  "Log-rank test of death by sex on mgus2, unstratified and stratified by agecat = cut(age, c(0,60,70,80,200)) (labels as in the CSV).",
  csv("mgus2"),
  c("survdiff(Surv(futime, death) ~ sex, data = mgus2)",
    "survdiff(Surv(futime, death) ~ sex + strata(agecat), data = mgus2)"),
  list(unstratified = survdiff_values(lr), stratified_agecat = survdiff_values(lr_st)))

## ===========================================================================
## C. Edge cases
## ===========================================================================

## --- C1. Heavy ties ------------------------------------------------------------
# Many events and censorings at the same times (censored at t are at risk at t).
ties_df <- data.frame(
  time   = c(2, 2, 2, 2, 2, 2, 3, 3, 5, 5, 5, 5, 5, 5, 5, 8, 8, 8, 8, 10, 10, 10),
  status = c(1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0),
  x      = c(0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1),
  z      = c(1.2, -0.5, 0.3, 2.0, -1.1, 0.7, 0.0, 1.5, -0.2, 0.9, -1.4, 0.4,
             1.1, -0.8, 0.6, -0.3, 1.8, 0.2, -0.6, 0.5, -1.0, 1.3))
ties_d <- export(ties_df, "ties")
ties_km <- survfit(Surv(time, status) ~ 1, data = ties_d)
ties_efron <- coxph(Surv(time, status) ~ x + z, data = ties_d)
ties_breslow <- coxph(Surv(time, status) ~ x + z, data = ties_d, ties = "breslow")
write_case("edge_ties",
  "Heavily tied toy data: KM, and Cox (x + z) with Efron vs Breslow ties, plus the log-rank test by x.",
  csv("ties"),
  c("survfit(Surv(time, status) ~ 1, data = ties)",
    "coxph(Surv(time, status) ~ x + z, data = ties)",
    "coxph(Surv(time, status) ~ x + z, data = ties, ties = \"breslow\")",
    "survdiff(Surv(time, status) ~ x, data = ties)"),
  list(km = km_table(ties_km), cox_efron = cox_values(ties_efron),
       cox_breslow = cox_values(ties_breslow),
       logrank_x = survdiff_values(survdiff(Surv(time, status) ~ x, data = ties_d))))

## --- C2. A group with zero events -------------------------------------------------
zero_df <- data.frame(
  time   = c(3, 5, 7, 9, 11, 14, 4, 6, 6, 8, 12, 15),
  status = c(1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0),
  group  = c(rep("A", 6), rep("B", 6)))
zero_d <- export(zero_df, "zero_events")
zero_km <- survfit(Surv(time, status) ~ group, data = zero_d)
zero_km_ll <- survfit(Surv(time, status) ~ group, data = zero_d, conf.type = "log-log")
write_case("edge_zero_events",
  "Group B has no events: its KM stays at 1 with std.err 0; log-rank A vs B still defined. Log and log-log CIs.",
  csv("zero_events"),
  c("survfit(Surv(time, status) ~ group, data = zero_events)",
    "survfit(Surv(time, status) ~ group, data = zero_events, conf.type = \"log-log\")",
    "survdiff(Surv(time, status) ~ group, data = zero_events)"),
  list(km_log = km_table(zero_km), km_log_log = km_table(zero_km_ll),
       median = km_median(zero_km),
       logrank = survdiff_values(survdiff(Surv(time, status) ~ group, data = zero_d))))

## --- C3. Left truncation (delayed entry) ---------------------------------------
# Intervals are (entry, exit]: a subject entering at t is NOT at risk for an
# event at t (subject 6 enters at 4, the time of an event of subject 5).
lt_df <- data.frame(
  entry = c(0, 0, 2, 3, 0, 4, 1, 5, 6, 2, 0, 7, 3, 0),
  exit  = c(5, 8, 6, 10, 4, 12, 3, 9, 11, 7, 2, 14, 8, 6),
  event = c(1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 1, 0),
  x     = c(0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0))
lt_d <- export(lt_df, "left_trunc")
lt_km <- survfit(Surv(entry, exit, event) ~ 1, data = lt_d)
lt_cox <- coxph(Surv(entry, exit, event) ~ x, data = lt_d)
write_case("edge_left_truncation",
  "Delayed entry: KM (product-limit with risk set entry < t <= exit) and Cox on (entry, exit] counting-process data.",
  csv("left_trunc"),
  c("survfit(Surv(entry, exit, event) ~ 1, data = left_trunc)",
    "coxph(Surv(entry, exit, event) ~ x, data = left_trunc)"),
  list(km = km_table(lt_km), median = km_median(lt_km), cox = cox_values(lt_cox)))

## --- C4 / C5. lung: stratified Cox, KM by sex --------------------------------
# status recoded 1/2 -> 0/1; sex 1 = male, 2 = female. No NA in the used
# columns (time, status, age, sex), so all 228 rows are kept.
lung_df <- with(lung, data.frame(time, status = status - 1, age, sex))
stopifnot(!anyNA(lung_df))
lung_d <- export(lung_df, "lung")
lung_strat <- coxph(Surv(time, status) ~ age + strata(sex), data = lung_d)
write_case("lung_strat_cox",
  "Cox model for age stratified by sex on lung (Efron ties), with tests, concordance and cox.zph.",
  csv("lung"),
  c("fit <- coxph(Surv(time, status) ~ age + strata(sex), data = lung)", "cox.zph(fit)"),
  list(cox = cox_values(lung_strat), zph = zph_values(lung_strat, "km")))

lung_km <- survfit(Surv(time, status) ~ sex, data = lung_d)
write_case("lung_km_sex",
  "Kaplan-Meier of lung survival by sex (1 = male, 2 = female): full curves, medians with CI, summary at 180/365/730 days, and log-rank.",
  csv("lung"),
  c("fit <- survfit(Surv(time, status) ~ sex, data = lung)",
    "quantile(fit, probs = 0.5)",
    "summary(fit, times = c(180, 365, 730))",
    "survdiff(Surv(time, status) ~ sex, data = lung)"),
  list(curves = km_table(lung_km), median = km_median(lung_km),
       at_times = km_at(lung_km, c(180, 365, 730)),
       logrank = survdiff_values(survdiff(Surv(time, status) ~ sex, data = lung_d))))

## --- C6. Median edge cases ---------------------------------------------------
# never: 3 early events in 10, S(t) >= 0.555 -> median (and upper CI) NA.
# flat:  5 events in the first 5 of 10 subjects -> S = 0.5 on [5, 7);
#        survfit reports the midpoint (5 + 7) / 2 = 6.
never_d <- export(data.frame(time = 1:10,
                             status = c(0, 1, 0, 0, 1, 0, 1, 0, 0, 0)), "median_never")
flat_d <- export(data.frame(time = 1:10,
                            status = c(1, 1, 1, 1, 1, 0, 1, 0, 1, 0)), "median_flat")
med_vals <- function(d) {
  fit <- survfit(Surv(time, status) ~ 1, data = d)
  q <- quantile(fit, probs = c(0.25, 0.5, 0.75))
  list(km = km_table(fit), median = km_median(fit),
       quantiles = list(prob = I(c(0.25, 0.5, 0.75)), quantile = I(unname(q$quantile)),
                        lower = I(unname(q$lower)), upper = I(unname(q$upper))))
}
write_case("edge_median",
  "Median edge cases: a curve that never reaches 0.5 (median NA -> null) and one exactly 0.5 on a flat segment (midpoint rule).",
  c(csv("median_never"), csv("median_flat")),
  c("fit <- survfit(Surv(time, status) ~ 1, data = d)  # d = median_never, median_flat",
    "quantile(fit, probs = c(0.25, 0.5, 0.75))"),
  list(never = med_vals(never_d), flat = med_vals(flat_d)))

cat(sprintf("Done in %.1f s\n", (proc.time() - t0)[["elapsed"]]))
