# Makes the .sas7bdat fixtures (no Python library writes sas7bdat). Run from the repo root after
# writing adam_tables() from tests/test_loaders.py to /tmp/adsl.csv and /tmp/adtte.csv.
library(haven)
a <- read.csv("/tmp/adsl.csv", stringsAsFactors = FALSE, na.strings = "")
t <- read.csv("/tmp/adtte.csv", stringsAsFactors = FALSE, na.strings = "")
a$TRTSDT <- as.Date(a$TRTSDT); a$RSPDT <- as.Date(a$RSPDT)
t$STARTDT <- as.Date(t$STARTDT); t$ADT <- as.Date(t$ADT)
suppressWarnings(write_sas(a, "tests/data/adsl.sas7bdat"))
suppressWarnings(write_sas(t, "tests/data/adtte.sas7bdat"))
print(packageVersion("haven"))
