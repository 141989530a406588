"""The local X-Ray: the trace store, what the service derives from it, its API and the UDP daemon."""
