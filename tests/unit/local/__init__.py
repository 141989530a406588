"""Tests of the local stack's parts one at a time: store, filters, X-Ray API, daemon, HTTP server."""
