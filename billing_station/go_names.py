"""The names README gives: ./go, the console script under its name, and ./go's own
commands beside the console script's (its usage and hints name them)."""

GO = "./go"
GO_COMMANDS = ("test", "report", "bench", "screenshots", "system-packages")
