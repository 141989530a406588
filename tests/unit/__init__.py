"""Unit tests, grouped as the package is: trace, text, aws, render, local."""
