"""The test suite: unit tests by area, the CLI, end to end on the local stack, properties, load."""
