"""Publication figures drawn from rwe_cart result objects (one journal theme).

Every function takes a result object (never raw data to refit), returns the matplotlib
``Figure`` and accepts ``ax=`` to draw into a panel of a larger figure. :func:`theme` is
the journal style as a context manager; :func:`save` writes a figure as PDF, SVG and PNG.

Examples
--------
>>> import matplotlib.pyplot as plt, rwe_cart as rc
>>> km = rc.kaplan_meier(rc.datasets.rocca_like().endpoint("OS"), "time", "event")
>>> fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
>>> _ = rc.plots.plot_km(km, ax=left, risk_table=False)
>>> _ = rc.plots.plot_km(km, ax=right, risk_table=False, time_unit="days")
>>> left.get_xlabel(), right.get_xlabel()
('Time (months)', 'Time (days)')
>>> plt.close(fig)
"""

from rwe_cart.plots.attrition import plot_attrition
from rwe_cart.plots.cif import plot_cif
from rwe_cart.plots.forest import plot_forest
from rwe_cart.plots.km import plot_km
from rwe_cart.plots.labs import plot_lab_trajectories
from rwe_cart.plots.landmark import plot_landmark
from rwe_cart.plots.multistate import plot_state_diagram, plot_state_probabilities
from rwe_cart.plots.simon_makuch import plot_simon_makuch
from rwe_cart.plots.simulation import plot_simulation_bias
from rwe_cart.plots.swimmer import plot_swimmer
from rwe_cart.plots.theme import OKABE_ITO, save, theme

__all__ = [
    "OKABE_ITO",
    "plot_attrition",
    "plot_cif",
    "plot_forest",
    "plot_km",
    "plot_lab_trajectories",
    "plot_landmark",
    "plot_simon_makuch",
    "plot_simulation_bias",
    "plot_state_diagram",
    "plot_state_probabilities",
    "plot_swimmer",
    "save",
    "theme",
]
