"""The error a stage reports as a plain message, without a traceback."""


class InputError(ValueError):
    """Params, data or a model file that the user can fix, as the message explains."""
