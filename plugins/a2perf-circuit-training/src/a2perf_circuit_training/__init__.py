"""Circuit training (chip macro placement) for A2Perf: netlist and placement files, the exact
proxy cost, and the placement environment. Importing the package imports nothing heavy."""

__version__ = "0.1.0"
