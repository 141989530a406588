"""The load test: concurrent invokers against one local stack for about a minute."""
