"""The package's own exceptions: each carries one sentence a user can act on."""


class HarError(Exception):
    """Base class for every error a user can cause; the CLI prints it, the app shows it."""


class VideoError(HarError):
    """A file could not be read as a video (missing, empty, truncated, no video stream)."""


class DatasetError(HarError):
    """A dataset folder is not UCF50-shaped, or a class selection / split is impossible."""


class ModelError(HarError):
    """A model or its card is missing, malformed, or does not match the input."""


class TrainingError(HarError):
    """Training cannot start or continue with the given data and settings."""


class DiskFullError(HarError):
    """The disk (or quota) has no room for what the user asked to store."""


class SettingsError(HarError):
    """A setting is out of range or contradicts another (a window, a stride, their unit)."""


class OutputError(HarError):
    """Where results were asked to go cannot take them: a file where a folder is needed, the
    wrong kind of file, a device, or a file this program did not write."""


class RunError(HarError):
    """A training run is not there, its id is ambiguous, or it is in no state for the request."""
