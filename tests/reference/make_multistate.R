# Multi-state reference values: EBMT illness-death (mstate tutorial, Putter, Fiocco & Geskus 2007)
# with R 4.2.2, survival 3.5-3, mstate 0.3.3 (mstate is not in Debian: install it from its source
# package with R CMD INSTALL). Run from tests/reference/: Rscript make_multistate.R
suppressMessages({library(mstate); library(jsonlite)})
wj <- function(x, path) write_json(x, path, digits = NA, auto_unbox = TRUE, na = "null", pretty = FALSE)
cols <- function(df) as.list(df)

probs <- function(pt, from) { d <- pt[[from]]; cols(d) }
varhaz <- function(mf) cols(mf$varHaz)

data(ebmt3)
e3 <- ebmt3
e3$prtime <- e3$prtime / 365.25; e3$rfstime <- e3$rfstime / 365.25
write.csv(data.frame(id = e3$id, prtime = e3$prtime, prstat = e3$prstat, rfstime = e3$rfstime,
                     rfsstat = e3$rfsstat, dissub = as.character(e3$dissub), age = as.character(e3$age),
                     drmatch = as.character(e3$drmatch), tcd = as.character(e3$tcd)),
          "data/ebmt3.csv", row.names = FALSE)
e3 <- read.csv("data/ebmt3.csv")
e3$dissub <- factor(e3$dissub, levels = c("AML", "ALL", "CML"))
e3$age <- factor(e3$age, levels = c("<=20", "20-40", ">40"))
e3$drmatch <- factor(e3$drmatch, levels = c("No gender mismatch", "Gender mismatch"))
e3$tcd <- factor(e3$tcd, levels = c("No TCD", "TCD"))
tmat <- trans.illdeath(names = c("Tx", "PR", "RelDeath"))
covs <- c("dissub", "age", "drmatch", "tcd", "prtime")
ms <- msprep(time = c(NA, "prtime", "rfstime"), status = c(NA, "prstat", "rfsstat"), data = e3,
             trans = tmat, keep = covs, id = "id")
ev <- events(ms)$Frequencies
ms <- expand.covs(ms, covs, append = TRUE, longnames = FALSE)
f1 <- Surv(Tstart, Tstop, status) ~ dissub1.1 + dissub2.1 + age1.1 + age2.1 + drmatch.1 + tcd.1 +
  dissub1.2 + dissub2.2 + age1.2 + age2.2 + drmatch.2 + tcd.2 +
  dissub1.3 + dissub2.3 + age1.3 + age2.3 + drmatch.3 + tcd.3
c1 <- coxph(update(f1, . ~ . + strata(trans)), data = ms, method = "breslow")
ms$pr <- as.integer(ms$trans == 3)
c2 <- coxph(update(f1, . ~ . + pr + strata(to)), data = ms, method = "breslow")
c0 <- coxph(Surv(Tstart, Tstop, status) ~ strata(trans), data = ms, method = "breslow")
# reference patient: AML, <=20, no mismatch, no TCD
newd <- data.frame(dissub = factor(rep("AML", 3), levels = levels(e3$dissub)),
                   age = factor(rep("<=20", 3), levels = levels(e3$age)),
                   drmatch = factor(rep("No gender mismatch", 3), levels = levels(e3$drmatch)),
                   tcd = factor(rep("No TCD", 3), levels = levels(e3$tcd)), trans = 1:3)
attr(newd, "trans") <- tmat; class(newd) <- c("msdata", "data.frame")
newd <- expand.covs(newd, covs[1:4], longnames = FALSE)
newd1 <- newd; newd1$strata <- 1:3
msf1 <- msfit(c1, newdata = newd1, trans = tmat)
newd2 <- newd; newd2$strata <- c(1, 2, 2); newd2$pr <- c(0, 0, 1)
msf2 <- msfit(c2, newdata = newd2, trans = tmat)
msf0 <- msfit(c0, trans = tmat)
msf0g <- msfit(c0, trans = tmat, vartype = "greenwood")
pt1 <- probtrans(msf1, predt = 0)
pt2 <- probtrans(msf2, predt = 0)
pt2s <- probtrans(msf2, predt = 0.5)
pt2fh <- probtrans(msf2, predt = 5, direction = "fixedhorizon")
pt0 <- probtrans(msf0, predt = 0)
pt0g <- probtrans(msf0g, predt = 0, method = "greenwood")
msf2b <- msf2; msf2b$trans <- transMat(x = list(c(2, 4), c(3), c(), c()))
pt4 <- probtrans(msf2b, predt = 0)   # relapse/death split by PR status (tutorial Figure 15)
lm <- LMAJ(ms, s = 0.5, from = 1)
elos2 <- ELOS(pt2, tau = 7)
# second reference patient: age > 40, TCD
newd3 <- newd2; newd3$age <- factor(rep(">40", 3), levels = levels(e3$age))
newd3$tcd <- factor(rep("TCD", 3), levels = levels(e3$tcd))
newd3 <- newd3[, c("dissub", "age", "drmatch", "tcd", "trans")]
attr(newd3, "trans") <- tmat; class(newd3) <- c("msdata", "data.frame")
newd3 <- expand.covs(newd3, covs[1:4], longnames = FALSE); newd3$strata <- c(1, 2, 2); newd3$pr <- c(0, 0, 1)
msf3 <- msfit(c2, newdata = newd3, trans = tmat)
pt3 <- probtrans(msf3, predt = 0)
coefs <- function(f) list(term = names(coef(f)), coef = unname(coef(f)), se = unname(sqrt(diag(f$var))),
                          loglik = f$loglik, n_event = f$nevent)
out <- list(
  case = "ebmt3_multistate",
  description = paste("EBMT illness-death model Tx -> PR (platelet recovery) -> RelDeath, times in years",
                      "(mstate tutorial, Putter, Fiocco & Geskus 2007). msprep long data, events,",
                      "Markov stratified (c1) and Markov PH (c2, pr term) Cox models with Breslow ties,",
                      "msfit cumulative transition hazards and (co)variances for reference patients,",
                      "probtrans state probabilities with SEs (forward predt 0 and 0.5; fixed horizon 5),",
                      "non-parametric Aalen-Johansen (no covariates), landmark AJ (LMAJ s=0.5 from Tx), ELOS tau=7."),
  data = list("data/ebmt3.csv"),
  r_call = list(
    "tmat <- trans.illdeath(names = c('Tx','PR','RelDeath'))",
    "ms <- msprep(time = c(NA,'prtime','rfstime'), status = c(NA,'prstat','rfsstat'), data = ebmt3, trans = tmat, keep = c('dissub','age','drmatch','tcd','prtime'), id = 'id')",
    "ms <- expand.covs(ms, covs, append = TRUE, longnames = FALSE)",
    "c1 <- coxph(Surv(Tstart,Tstop,status) ~ <dissub,age,drmatch,tcd per transition> + strata(trans), data = ms, method = 'breslow')",
    "c2 <- coxph(Surv(Tstart,Tstop,status) ~ <same> + pr + strata(to), method = 'breslow')  # pr = (trans == 3)",
    "c0 <- coxph(Surv(Tstart,Tstop,status) ~ strata(trans), method = 'breslow')",
    "msfit(c1, newdata, trans = tmat) ; msfit(c2, newdata); msfit(c0, trans = tmat) [vartype 'aalen' and 'greenwood', probtrans method to match]",
    "probtrans(msf, predt = 0); probtrans(msf2, predt = 0.5); probtrans(msf2, predt = 5, direction = 'fixedhorizon')",
    "LMAJ(ms, s = 0.5, from = 1); ELOS(probtrans(msf2, predt = 0), tau = 7)"),
  values = list(
    msprep = list(n_rows = nrow(ms), first_rows = cols(head(as.data.frame(ms)[, c("id","from","to","trans","Tstart","Tstop","time","status")], 12)),
                  status_sum_by_trans = as.list(tapply(ms$status, ms$trans, sum)),
                  rows_by_trans = as.list(setNames(as.integer(table(ms$trans)), names(table(ms$trans))))),
    events = list(from = rownames(ev), to = colnames(ev), counts = matrix(as.integer(ev), nrow = nrow(ev))),
    cox_stratified = coefs(c1), cox_ph = coefs(c2),
    reference_patient = "dissub AML, age <=20, no gender mismatch, no TCD",
    msfit_stratified = list(Haz = cols(msf1$Haz), varHaz = varhaz(msf1)),
    msfit_ph = list(Haz = cols(msf2$Haz), varHaz = varhaz(msf2)),
    msfit_nonparametric = list(Haz = cols(msf0$Haz), varHaz = varhaz(msf0)),
    probtrans_stratified_from1 = probs(pt1, 1),
    probtrans_ph_from1 = probs(pt2, 1), probtrans_ph_from2 = probs(pt2, 2),
    probtrans_ph_predt05_from1 = probs(pt2s, 1),
    probtrans_ph_fixedhorizon5_from1 = probs(pt2fh, 1),
    probtrans_nonparametric_from1 = probs(pt0, 1),
    msfit_nonparametric_greenwood = list(varHaz = varhaz(msf0g)),
    probtrans_nonparametric_greenwood_from1 = probs(pt0g, 1),
    probtrans_4state_from1 = probs(pt4, 1),
    second_patient = "dissub AML, age >40, no gender mismatch, TCD; Markov PH model",
    probtrans_ph_patient2_from1 = probs(pt3, 1),
    lmaj_s05_from1 = cols(lm),
    elos_ph_tau7 = list(from = rownames(elos2), to = colnames(elos2), value = unname(elos2))
  ))
wj(out, "ebmt3_multistate.json")

