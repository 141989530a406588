"""The interactive browser (`xrayctl browse`), on Textual. Imported by that command only: every other command,
and `xrayctl --help`, never pays for importing Textual."""
