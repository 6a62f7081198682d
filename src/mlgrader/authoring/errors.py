"""The two ways authoring fails: a solution source that breaks the format, a build step that fails."""


class AuthoringError(ValueError):
    """A solution source breaks the authoring format; the message names file and cell."""


class BuildError(RuntimeError):
    """A build step failed; the message says which and why."""
