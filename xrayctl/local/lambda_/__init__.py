"""The local Lambda: the Invoke API, execution environments (the real runtime client) and what Lambda records.

Named `lambda_` because `lambda` is a Python keyword.
"""
