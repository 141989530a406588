"""Renderers: rich renderables for the terminal and plain data for --output json."""
