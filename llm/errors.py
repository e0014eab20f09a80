"""The engine's generation errors, apart so that every backend can raise them (engine imports the backends)."""


class GenerationTimeout(RuntimeError):
    """A generation ran past its time limit; what was generated so far is in `partial`."""

    def __init__(self, message: str, partial: str = ""):
        super().__init__(message)
        self.partial = partial


class GenerationUnavailable(GenerationTimeout):
    """The inference server (LLM_BACKEND=openai) could not be reached, was busy (429/503) or broke
    off mid-stream. A kind of GenerationTimeout, so every caller's handling holds: triage retries
    with backoff, a chat turn fails and can be retried, nothing is lost."""
