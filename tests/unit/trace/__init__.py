"""Tests of the trace model: building trees, labels, ids, annotations."""
