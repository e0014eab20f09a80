import numpy as np

from llm import engine
from llm.services.common import LLMInputError, clean_text

EMBED_BATCH_SIZE = 32


def embed_texts(*, texts: list[str], batch_size: int = EMBED_BATCH_SIZE) -> np.ndarray:
    """Batched, L2-normalized 384-d vectors, one row per text (float32).

    Raises LLMInputError for an empty list or a blank / non-text / oversized item. The model
    reads at most 256 word pieces per text: callers keep chunks under ~230.
    """
    if not isinstance(texts, (list, tuple)) or not texts:
        raise LLMInputError("texts must be a non-empty list of strings.")
    cleaned = [clean_text(text, field=f"texts[{i}]") for i, text in enumerate(texts)]
    vectors = engine.embedder().encode(cleaned, batch_size=batch_size, normalize_embeddings=True,
                                       convert_to_numpy=True, show_progress_bar=False)
    return vectors.astype(np.float32)


def embed_text(*, text: str) -> list[float]:
    return embed_texts(texts=[text])[0].tolist()
