"""Package version, the single source read by the build and by ``bos_widget.__version__``."""

__version__ = "0.1.0"
