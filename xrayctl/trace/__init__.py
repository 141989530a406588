"""The trace model: segment documents of any shape become one tree per trace (no AWS, no terminal)."""
