"""Tests of text handling: sanitizing, depth-safe JSON, time parsing."""
