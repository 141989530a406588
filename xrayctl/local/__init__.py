"""The embedded local stack: every AWS part xrayctl talks to, on 127.0.0.1, with no account."""
