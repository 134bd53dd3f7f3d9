"""The one exception of the build tooling: a message that says what to do."""


class BuildError(Exception):
    """A build step cannot go on; ``str(error)`` is one line naming the fix."""
