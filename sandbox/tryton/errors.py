"""The one exception type of the sandbox control code; its message says what to do."""

BUILD_HINT = "run `python -m sandbox.tryton build`"


class ErpSandboxError(RuntimeError):
    pass
