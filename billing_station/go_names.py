"""The names README gives: ./go, the name the console script takes when ./go runs it, and
./go's own commands beside the console script's (an unknown command's hint offers them)."""

GO = "./go"
GO_COMMANDS = ("test", "report", "bench", "screenshots", "system-packages")
