from support.services.knowledge import CHUNK_MAX_TOKENS, _approx_tokens, chunk_split

MANUAL = """# Lamp — User Manual

<!-- page: 1 -->
## Safety

Never look into the beam.

<!-- page: 2 -->
## Charging

Charge with the USB-C cable. A full charge takes 3 hours.

### Charging light

The LED turns green when done.
"""


def test_chunks_follow_headings_and_pages():
    chunks = chunk_split(MANUAL)

    assert [(c.heading, c.page) for c in chunks] == [
        ("Safety", 1), ("Charging", 2), ("Charging › Charging light", 2)]
    assert chunks[1].text == "Charge with the USB-C cable. A full charge takes 3 hours."


def test_a_long_section_is_split_under_the_token_limit_with_a_small_overlap():
    sentences = [f"Step {n} is to check the valve number {n} carefully before use." for n in range(80)]
    body = "## Maintenance\n\n" + " ".join(sentences)

    chunks = chunk_split(body)

    assert len(chunks) > 3
    assert all(_approx_tokens(c.text) <= CHUNK_MAX_TOKENS + 30 for c in chunks)
    assert all(c.heading == "Maintenance" for c in chunks)
    # each chunk after the first starts with the last sentence of the one before
    for before, after in zip(chunks, chunks[1:]):
        assert after.text.startswith(before.text.split(". ")[-1].rstrip())
    assert "Step 79" in chunks[-1].text


def test_text_without_headings_is_one_section():
    chunks = chunk_split("Just a note.\n\nAnd a second paragraph.")

    assert [(c.heading, c.page, c.text) for c in chunks] == [("", None, "Just a note.\n\nAnd a second paragraph.")]
