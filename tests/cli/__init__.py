"""The command line driven in-process through its error boundary: options, errors, hostile text, faults."""
