"""End to end: the real local stack, runtime client, SDK and S3, in child processes."""
