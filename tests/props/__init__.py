"""Property tests: arbitrary documents and garbage against the builder, renderers and store."""
