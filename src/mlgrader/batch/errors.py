"""The one error a batch raises for input it cannot act on (the command line exits 2 with its message)."""


class BatchUsageError(ValueError):
    """The command line cannot be acted on (exit status 2): a bad path, option, roster or course config."""
