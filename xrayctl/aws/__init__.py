"""Talking to AWS through botocore: clients, error translation, the X-Ray reader, waiting, Lambda invoke."""
