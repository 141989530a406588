"""Text in and out: untrusted trace text made safe for a terminal, depth-safe JSON, time parsing."""
