"""Tests of the renderers against golden text."""
