"""Loaders: registry tables, CDISC ADaM, long event and lab tables."""
from .adam import load_adam
from .events import load_events
from .labs import load_labs
from .registry import UnreadableTableError, load_registry

__all__ = ["UnreadableTableError", "load_adam", "load_events", "load_labs", "load_registry"]
