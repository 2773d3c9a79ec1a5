"""The package logger, ``logging.getLogger("rwe_cart")``.

It has a NullHandler, so rwe_cart prints nothing unless the application configures
logging (e.g. ``logging.basicConfig(level=logging.INFO)``). Long work (bootstraps, report
rendering) logs its progress at INFO; data set aside along the way (failed replicates,
truncated weights, excluded rows) at INFO or WARNING.
"""
import logging

logger = logging.getLogger("rwe_cart")
logger.addHandler(logging.NullHandler())
