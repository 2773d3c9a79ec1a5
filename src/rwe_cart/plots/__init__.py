"""Publication figures drawn from rwe_cart result objects (one journal theme)."""

from rwe_cart.plots.km import plot_km
from rwe_cart.plots.theme import OKABE_ITO, save, theme

__all__ = ["OKABE_ITO", "plot_km", "save", "theme"]
