"""xrayctl: see AWS X-Ray traces from a terminal."""

__version__ = "0.1.0"
