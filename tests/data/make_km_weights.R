# Self-made R reference values for weighted Kaplan-Meier in rwe_cart.survival.km:
# survfit(Surv(...) ~ group, weights = w [, id = id] [, robust = ]) on whole-number times
# with ties, zero weights, groups, and counting-process rows whose weights change from
# one row of a subject to the next (time-varying inverse-probability weights, as in
# clone-censor-weight). R's default variance is the infinitesimal jackknife (IJ) when a
# weight is not a whole number (clusters: id, else rows) and Greenwood on the weighted
# counts otherwise.
#
# Run from the repository root (writes tests/data/km_weights.json, about 1 s):
#   Rscript tests/data/make_km_weights.R
# Made with R 4.2.2, survival 3.5-3, jsonlite 1.8.4; rerunning gives identical output.
# The data are stored in the JSON (weights rounded to 3 decimals, so that the 15
# significant digits written are exactly the doubles R used).

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
out_file <- file.path("tests", "data", "km_weights.json")
set.seed(20240611)

# -- data --------------------------------------------------------------------------------
n <- 240
right <- data.frame(
  time = sample(1:40, n, replace = TRUE),
  status = rbinom(n, 1, 0.65),
  group = sample(c("a", "b", "c"), n, replace = TRUE),
  w = round(rexp(n), 3),
  wi = sample(0:3, n, replace = TRUE)
)
right$w[sample(n, 12)] <- 0            # zero weights are kept (rows at their times)
right$w[right$time == 7] <- 1.25       # a tied time whose rows share one weight

# counting process: subjects with 1-4 contiguous (start, stop] rows, weights growing
# over rows as IPC weights do, the event (if any) on the last row, a few gaps
ns <- 120
k <- sample(1:4, ns, replace = TRUE)
id <- rep(seq_len(ns), k)
row_in <- sequence(k)
len <- sample(1:12, length(id), replace = TRUE)
stop <- ave(len, id, FUN = cumsum)
start <- stop - len
gap <- row_in > 1 & runif(length(id)) < 0.08
shift <- ave(as.numeric(gap) * 2, id, FUN = cumsum)
start <- start + shift
stop <- stop + shift
last <- row_in == rep(k, k)
event <- as.integer(last & rep(rbinom(ns, 1, 0.6), k))
arm <- rep(sample(c("x", "y"), ns, replace = TRUE), k)
w0 <- rep(round(runif(ns, 0.5, 1.5), 3), k)
cw <- round(w0 * (1 + 0.25 * (row_in - 1)) * ifelse(row_in > 2, 1.1, 1), 3)
cp <- data.frame(id = id, start = start, stop = stop, event = event, arm = arm, w = cw)

# an unweighted data set where some subjects have two events (R: IJ by default)
rec <- data.frame(id = c(1, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 8),
                  time = c(2, 5, 3, 4, 6, 6, 7, 3, 8, 9, 4, 10),
                  status = c(1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0))

# -- values ------------------------------------------------------------------------------
curve <- function(fit) {
  s <- if (is.null(fit$strata)) rep("all", length(fit$time)) else
    rep(names(fit$strata), fit$strata)
  s <- sub("^[^=]*=", "", s)
  list(group = s, time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event,
       n_censor = fit$n.censor, surv = fit$surv, std_err = fit$std.err,
       logse = fit$logse, lower = fit$lower, upper = fit$upper, cumhaz = fit$cumhaz,
       std_chaz = fit$std.chaz)
}
at_times <- function(fit, times) {
  sm <- summary(fit, times = times)
  s <- if (is.null(sm$strata)) rep("all", length(sm$time)) else as.character(sm$strata)
  s <- sub("^[^=]*=", "", s)
  list(group = s, time = sm$time, n_risk = sm$n.risk, surv = sm$surv,
       std_err_surv = sm$std.err, lower = sm$lower, upper = sm$upper)
}
medians <- function(fit) {
  q <- quantile(fit, 0.5)
  list(median = unname(as.vector(q$quantile)), lower = unname(as.vector(q$lower)),
       upper = unname(as.vector(q$upper)))
}
case <- function(call_text, data_name, times = NULL, options = list()) {
  fit <- eval(parse(text = call_text))
  out <- list(data = data_name, r_call = call_text, options = options,
              curve = curve(fit), median = medians(fit))
  if (!is.null(times)) out$at <- at_times(fit, times)
  out
}

cases <- list(
  right_ij = case("survfit(Surv(time, status) ~ group, data = right, weights = w)",
                  "right", c(5, 12, 30), list(weights = "w", by = "group")),
  right_ij_loglog = case(paste("survfit(Surv(time, status) ~ group, data = right,",
                               "weights = w, conf.type = \"log-log\")"), "right", NULL,
                         list(weights = "w", by = "group", conf_type = "log-log")),
  right_ij_plain_one = case(paste("survfit(Surv(time, status) ~ 1, data = right,",
                                  "weights = w, conf.type = \"plain\")"), "right", NULL,
                            list(weights = "w", conf_type = "plain")),
  right_integer_weights = case(
    "survfit(Surv(time, status) ~ group, data = right, weights = wi)", "right",
    c(5, 12, 30), list(weights = "wi", by = "group")),
  right_greenwood = case(
    "survfit(Surv(time, status) ~ group, data = right, weights = w, robust = FALSE)",
    "right", NULL, list(weights = "w", by = "group", robust = FALSE)),
  counting_rows = case(
    "survfit(Surv(start, stop, event) ~ arm, data = cp, weights = w)", "cp",
    c(4, 10, 25), list(weights = "w", by = "arm", entry = "start")),
  counting_id = case(
    "survfit(Surv(start, stop, event) ~ arm, data = cp, weights = w, id = id)", "cp",
    c(4, 10, 25), list(weights = "w", by = "arm", entry = "start", id = "id")),
  counting_id_one = case(
    "survfit(Surv(start, stop, event) ~ 1, data = cp, weights = w, id = id)", "cp",
    NULL, list(weights = "w", entry = "start", id = "id")),
  counting_id_greenwood = case(
    paste("survfit(Surv(start, stop, event) ~ arm, data = cp, weights = w, id = id,",
          "robust = FALSE)"), "cp", NULL,
    list(weights = "w", by = "arm", entry = "start", id = "id", robust = FALSE)),
  recurrent_unweighted_id = case(
    "survfit(Surv(time, status) ~ 1, data = rec, id = id)", "rec", NULL, list(id = "id"))
)

# survival 3.5-3 passes the whole data's survflag() positions to each group's C call
# (indexed by the row number within the group), so n.censor of a grouped fit with id is
# scrambled (std.err and everything else are right). The correct counts are those of
# one fit per group, stored beside the grouped fit's.
for (nm in c("counting_id", "counting_id_greenwood")) {
  per_group <- unlist(lapply(c("x", "y"), function(a)
    survfit(Surv(start, stop, event) ~ 1, data = cp[cp$arm == a, ], weights = w,
            id = id)$n.censor))
  cases[[nm]]$n_censor_per_group_fit <- per_group
  cases[[nm]]$note <- paste("n_censor of the grouped fit is wrong in survival 3.5-3",
                            "(survflag positions of the whole data used per group);",
                            "compare with n_censor_per_group_fit")
}

doc <- list(
  description = paste("Weighted Kaplan-Meier reference values (survfit with weights,",
                      "id, robust) for rwe_cart; see make_km_weights.R"),
  r_version = R.version.string,
  packages = list(survival = as.character(packageVersion("survival")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  data = list(right = as.list(right), cp = as.list(cp), rec = as.list(rec)),
  cases = cases
)
writeLines(toJSON(doc, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           out_file)
cat("wrote", out_file, "\n")
