"""Tests of the AWS layer: clients and errors, the reader, waiting, in-flight limits, threads, invoke."""
